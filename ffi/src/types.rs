//! The `#[repr(C)]` structs of the ABI and their checked conversions.
//!
//! Every pointer the caller hands over is checked here once (NULL,
//! alignment, the extent its shape claims) before a slice is made of it, so
//! the rest of the crate works on safe Rust values.

use std::slice;

use coselect_core::{Config, Fusion, Pick, PseudoLabel, Reason};
use coselect_cpu::{Calibration, Matrix, Parallelism, RoundPlan};

use crate::status::Failure;

/// Version of [`coselect_config`]; `coselect_config_init` writes it, every
/// call that takes a config checks it.
pub const COSELECT_CONFIG_VERSION: u32 = 1;

/// A pick made because the class had too few labels (the FM found it).
pub const COSELECT_REASON_SEED: u32 = 0;
/// A pick close to the small model's boundary of its class.
pub const COSELECT_REASON_BOUNDARY: u32 = 1;

/// The method's settings. Fill with `coselect_config_init`, then change
/// fields one at a time; every call validates the whole struct.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
#[allow(non_camel_case_types)]
pub struct coselect_config {
    /// Must be `COSELECT_CONFIG_VERSION`.
    pub version: u32,
    /// Number of classes C (at least 2).
    pub classes: u32,
    /// Human labeling budget k of one round.
    pub k: u32,
    /// A class with fewer trusted labels is queried in seed mode.
    pub seed_min: u32,
    /// FlexMatch's tau: confidence counting toward a class's status.
    pub co_confidence: f32,
    /// Floor of the per-class pseudo-label threshold.
    pub co_floor: f32,
    /// Pseudo-labels per class: at most this times the smallest human count.
    pub cap_factor: u32,
    /// Training weight of a pseudo-label (humans weigh 1).
    pub pseudo_weight: f32,
    /// A human label is suspect below this fused probability.
    pub trust_threshold: f32,
    /// Ridge pulling the FM temperature toward 1.
    pub temperature_ridge: f32,
    /// Smallest FM temperature multiplier.
    pub temperature_min: f32,
    /// Ridge pulling the fusion weights toward (1, 1).
    pub fusion_ridge: f32,
    /// EM stops when the L1 change of the prior is below this.
    pub em_tolerance: f32,
    /// EM stops after this many passes.
    pub em_max_iterations: u32,
    /// No class prior falls below this.
    pub em_floor: f32,
    /// Newton fits stop after this many steps.
    pub newton_max_steps: u32,
    /// Newton fits stop when a step is shorter than this.
    pub newton_tolerance: f32,
}

impl coselect_config {
    pub(crate) fn from_core(c: &Config) -> coselect_config {
        coselect_config {
            version: COSELECT_CONFIG_VERSION,
            classes: c.classes,
            k: c.k,
            seed_min: c.seed_min,
            co_confidence: c.co_confidence,
            co_floor: c.co_floor,
            cap_factor: c.cap_factor,
            pseudo_weight: c.pseudo_weight,
            trust_threshold: c.trust_threshold,
            temperature_ridge: c.temperature_ridge,
            temperature_min: c.temperature_min,
            fusion_ridge: c.fusion_ridge,
            em_tolerance: c.em_tolerance,
            em_max_iterations: c.em_max_iterations,
            em_floor: c.em_floor,
            newton_max_steps: c.newton_max_steps,
            newton_tolerance: c.newton_tolerance,
        }
    }
}

/// Reads and validates a caller's config.
pub(crate) unsafe fn config(p: *const coselect_config) -> Result<Config, Failure> {
    let c = unsafe { p.as_ref() }.ok_or_else(|| Failure::null("config"))?;
    if c.version != COSELECT_CONFIG_VERSION {
        return Err(Failure::new(
            crate::coselect_status::CoselectUnsupportedVersion,
            format!(
                "config version {} (this library reads version {COSELECT_CONFIG_VERSION}; fill it with coselect_config_init)",
                c.version
            ),
        ));
    }
    let mut cfg = Config::new(c.classes.max(2), c.k.max(1))?;
    cfg.classes = c.classes;
    cfg.k = c.k;
    cfg.seed_min = c.seed_min;
    cfg.co_confidence = c.co_confidence;
    cfg.co_floor = c.co_floor;
    cfg.cap_factor = c.cap_factor;
    cfg.pseudo_weight = c.pseudo_weight;
    cfg.trust_threshold = c.trust_threshold;
    cfg.temperature_ridge = c.temperature_ridge;
    cfg.temperature_min = c.temperature_min;
    cfg.fusion_ridge = c.fusion_ridge;
    cfg.em_tolerance = c.em_tolerance;
    cfg.em_max_iterations = c.em_max_iterations;
    cfg.em_floor = c.em_floor;
    cfg.newton_max_steps = c.newton_max_steps;
    cfg.newton_tolerance = c.newton_tolerance;
    cfg.validate()?;
    Ok(cfg)
}

/// A row-major f32 matrix in the caller's memory: row `i` starts at
/// `data + i * row_stride` (in floats) and holds `cols` values.
/// `row_stride` 0 means `cols` (contiguous rows).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct coselect_matrix {
    /// First value; 4-byte aligned. May be NULL only when `rows` is 0.
    pub data: *const f32,
    /// Rows (samples).
    pub rows: usize,
    /// Columns (classes).
    pub cols: usize,
    /// Floats from one row's start to the next; 0 for `cols`.
    pub row_stride: usize,
}

/// Makes a [`Matrix`] of a caller's matrix, or `None` for NULL.
///
/// # Safety
/// `p`, when not NULL, points to a `coselect_matrix` whose `data` holds the
/// extent its shape claims, alive and unmodified for `'a`.
pub(crate) unsafe fn matrix<'a>(
    name: &str,
    p: *const coselect_matrix,
) -> Result<Option<Matrix<'a>>, Failure> {
    let Some(m) = (unsafe { p.as_ref() }) else {
        return Ok(None);
    };
    let stride = if m.row_stride == 0 {
        m.cols
    } else {
        m.row_stride
    };
    if m.cols == 0 {
        return Err(Failure::invalid(format!("{name}: cols is 0")));
    }
    if stride < m.cols {
        return Err(Failure::invalid(format!(
            "{name}: row_stride {stride} is shorter than a row of {} values",
            m.cols
        )));
    }
    let len = match m.rows {
        0 => 0,
        r => (r - 1)
            .checked_mul(stride)
            .and_then(|n| n.checked_add(m.cols))
            .filter(|&n| n <= isize::MAX as usize / 4)
            .ok_or_else(|| Failure::invalid(format!("{name}: shape overflows memory")))?,
    };
    let data: &'a [f32] = if len == 0 {
        &[]
    } else {
        if m.data.is_null() {
            return Err(Failure::null(&format!("{name}.data")));
        }
        if (m.data as usize) % std::mem::align_of::<f32>() != 0 {
            return Err(Failure::invalid(format!(
                "{name}.data is not 4-byte aligned"
            )));
        }
        unsafe { slice::from_raw_parts(m.data, len) }
    };
    Ok(Some(Matrix::f32_strided(
        name, data, m.rows, m.cols, stride,
    )?))
}

/// A required matrix.
pub(crate) unsafe fn required_matrix<'a>(
    name: &str,
    p: *const coselect_matrix,
) -> Result<Matrix<'a>, Failure> {
    unsafe { matrix(name, p) }?.ok_or_else(|| Failure::null(name))
}

/// A caller's array of `n` values; NULL is allowed only when `n` is 0.
pub(crate) unsafe fn array<'a, T>(name: &str, p: *const T, n: usize) -> Result<&'a [T], Failure> {
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Failure::null(name));
    }
    if (p as usize) % std::mem::align_of::<T>() != 0 {
        return Err(Failure::invalid(format!("{name} is not aligned")));
    }
    if n.checked_mul(std::mem::size_of::<T>())
        .is_none_or(|b| b > isize::MAX as usize)
    {
        return Err(Failure::invalid(format!("{name}: length overflows memory")));
    }
    Ok(unsafe { slice::from_raw_parts(p, n) })
}

/// Writes through a required out-pointer.
pub(crate) unsafe fn put<T>(name: &str, p: *mut T, v: T) -> Result<(), Failure> {
    let r = unsafe { p.as_mut() }.ok_or_else(|| Failure::null(name))?;
    *r = v;
    Ok(())
}

/// The FM temperature and fusion weights a round scores with.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
#[allow(non_camel_case_types)]
pub struct coselect_calibration {
    /// FM temperature multiplier `a_t` (1 when uncalibrated).
    pub temperature: f32,
    /// 1 when the rows carry small-model log-probabilities and
    /// `fusion_a`, `fusion_b` weigh the two models; 0 otherwise.
    pub has_fusion: u32,
    /// Weight of the FM logits in the fused posterior.
    pub fusion_a: f32,
    /// Weight of the small model's log-probabilities.
    pub fusion_b: f32,
}

impl coselect_calibration {
    pub(crate) fn from_host(c: &Calibration) -> coselect_calibration {
        let f = c.fusion.unwrap_or(Fusion { a: 0.0, b: 0.0 });
        coselect_calibration {
            temperature: c.temperature,
            has_fusion: c.fusion.is_some() as u32,
            fusion_a: f.a,
            fusion_b: f.b,
        }
    }

    pub(crate) fn to_host(self) -> Result<Calibration, Failure> {
        let fusion = match self.has_fusion {
            0 => None,
            1 => Some(Fusion {
                a: self.fusion_a,
                b: self.fusion_b,
            }),
            v => {
                return Err(Failure::invalid(format!(
                    "calibration.has_fusion is {v}, not 0 or 1"
                )))
            }
        };
        Ok(Calibration {
            temperature: self.temperature,
            fusion,
        })
    }
}

/// Reads a caller's required calibration.
///
/// # Safety
/// `p` is NULL or points to a `coselect_calibration`.
pub(crate) unsafe fn calibration(p: *const coselect_calibration) -> Result<Calibration, Failure> {
    unsafe { p.as_ref() }
        .ok_or_else(|| Failure::null("calibration"))?
        .to_host()
}

/// The plan of a round from a caller's values: trusted label counts of
/// `classes` classes, the calibration and `log pi` (NULL when no class
/// needs it), with the CPU host's checks.
///
/// # Safety
/// Pointers are NULL or valid for `classes` values.
pub(crate) unsafe fn plan(
    cfg: &Config,
    counts: *const u32,
    classes: usize,
    cal: *const coselect_calibration,
    log_prior: *const f32,
) -> Result<RoundPlan, Failure> {
    let counts = unsafe { array("counts", counts, classes) }?;
    let cal = unsafe { calibration(cal) }?;
    let log_prior = match log_prior.is_null() {
        true => None,
        false => Some(unsafe { array("log_prior", log_prior, classes) }?),
    };
    Ok(RoundPlan::new(cfg, counts, cal, log_prior)?)
}

/// The host's threading for a caller's thread count (0: every core).
pub(crate) fn parallelism(threads: u32) -> Parallelism {
    Parallelism {
        threads: threads as usize,
        ..Default::default()
    }
}

/// One sample to annotate.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[allow(non_camel_case_types)]
pub struct coselect_pick {
    /// The row's index in the pool (or the id it was pushed with).
    pub index: u64,
    /// The class whose turn picked it.
    pub class_id: u32,
    /// Its score for that class.
    pub score: f32,
    /// `COSELECT_REASON_SEED` or `COSELECT_REASON_BOUNDARY`.
    pub reason: u32,
}

impl From<&Pick> for coselect_pick {
    fn from(p: &Pick) -> Self {
        coselect_pick {
            index: p.index,
            class_id: p.class,
            score: p.score,
            reason: match p.reason {
                Reason::Seed => COSELECT_REASON_SEED,
                Reason::Boundary => COSELECT_REASON_BOUNDARY,
            },
        }
    }
}

/// A co-decided label that needs no annotation: the FM and the small model
/// agree on it confidently.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[allow(non_camel_case_types)]
pub struct coselect_pseudo_label {
    /// The row's index in the pool (or the id it was pushed with).
    pub index: u64,
    /// The agreed class.
    pub class_id: u32,
    /// `min(p_fm, p_small)` of that class.
    pub confidence: f32,
}

impl From<&PseudoLabel> for coselect_pseudo_label {
    fn from(p: &PseudoLabel) -> Self {
        coselect_pseudo_label {
            index: p.index,
            class_id: p.class,
            confidence: p.confidence,
        }
    }
}

/// The verdict on one human label.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[allow(non_camel_case_types)]
pub struct coselect_verdict {
    /// 1 when the label should leave training (probable annotation noise).
    pub suspect: u32,
    /// Fused probability of the given label.
    pub label_probability: f32,
    /// The class the FM and the small model agree on, or -1.
    pub agreed_class: i32,
}

/// Copies `items` into a caller's buffer of `cap` (NULL only when `cap` is
/// 0) and writes the count to `n`; a short buffer is
/// `COSELECT_BUFFER_TOO_SMALL` with `n` set to the size needed.
pub(crate) unsafe fn fill<S, T: for<'x> From<&'x S>>(
    name: &str,
    items: &[S],
    out: *mut T,
    cap: usize,
    n: *mut usize,
) -> Result<(), Failure> {
    unsafe { put(&format!("{name} count"), n, items.len()) }?;
    if items.len() > cap {
        return Err(Failure::new(
            crate::coselect_status::CoselectBufferTooSmall,
            format!(
                "{name}: buffer of {cap} holds fewer than the {} results",
                items.len()
            ),
        ));
    }
    if items.is_empty() {
        return Ok(());
    }
    if out.is_null() {
        return Err(Failure::null(name));
    }
    if (out as usize) % std::mem::align_of::<T>() != 0 {
        return Err(Failure::invalid(format!("{name} is not aligned")));
    }
    let dst = unsafe { slice::from_raw_parts_mut(out, items.len()) };
    for (d, s) in dst.iter_mut().zip(items) {
        *d = T::from(s);
    }
    Ok(())
}
