//! Whole-pool calls: the config, the calibration fits, label trust, and one
//! labeling round over a pool in the caller's memory.

use std::ffi::c_char;

use coselect_core::{judge_label, Config};
use coselect_cpu::{decision_bias, run_round, Labels, Pool};

use crate::coselect_status;
use crate::status::{guard, Failure};
use crate::types::{
    array, config, coselect_calibration, coselect_config, coselect_matrix, coselect_pick,
    coselect_pseudo_label, coselect_verdict, fill, matrix, put, required_matrix,
};

/// Version of the ABI: the functions and struct layouts of coselect.h. A
/// caller built against another value must not use this library.
pub const COSELECT_ABI_VERSION: u32 = 1;

/// The ABI version this library implements (`COSELECT_ABI_VERSION`).
///
/// ```
/// assert_eq!(coselect_ffi::coselect_abi_version(), coselect_ffi::COSELECT_ABI_VERSION);
/// ```
#[no_mangle]
pub extern "C" fn coselect_abi_version() -> u32 {
    COSELECT_ABI_VERSION
}

/// The library's version, e.g. "0.1.0"; a static string.
///
/// ```
/// let v = unsafe { std::ffi::CStr::from_ptr(coselect_ffi::coselect_version()) };
/// assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
/// ```
#[no_mangle]
pub extern "C" fn coselect_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Fills `cfg` with the method's defaults for `classes` classes and a
/// budget of `k`, and sets its version.
///
/// # Safety
/// `cfg` is NULL or points to writable memory for one `coselect_config`.
///
/// ```
/// use coselect_ffi::*;
/// let mut cfg = std::mem::MaybeUninit::<coselect_config>::uninit();
/// let s = unsafe { coselect_config_init(cfg.as_mut_ptr(), 10, 64) };
/// assert_eq!(s, coselect_status::CoselectOk);
/// let cfg = unsafe { cfg.assume_init() };
/// assert_eq!((cfg.version, cfg.classes, cfg.k, cfg.seed_min), (COSELECT_CONFIG_VERSION, 10, 64, 3));
/// assert_eq!(unsafe { coselect_config_init(std::ptr::null_mut(), 10, 64) }, coselect_status::CoselectNullPointer);
/// ```
#[no_mangle]
pub unsafe extern "C" fn coselect_config_init(
    cfg: *mut coselect_config,
    classes: u32,
    k: u32,
) -> coselect_status {
    guard(|| {
        if cfg.is_null() {
            return Err(Failure::null("config"));
        }
        let c = Config::new(classes, k)?;
        unsafe { put("config", cfg, coselect_config::from_core(&c)) }
    })
}

/// Fits the calibration on human-labeled rows: the FM temperature from
/// `fm`, and with `sm` (small-model log-probabilities of the same rows, or
/// NULL) the fusion weights. `labels` holds one class index per row.
///
/// # Safety
/// Pointers are NULL or valid for the extents their shapes claim.
///
/// ```
/// use coselect_ffi::*;
/// let mut cfg = std::mem::MaybeUninit::<coselect_config>::uninit();
/// unsafe { coselect_config_init(cfg.as_mut_ptr(), 2, 1) };
/// let cfg = unsafe { cfg.assume_init() };
/// // The FM is right but under-confident: the fit sharpens it (a > 1).
/// let fm = [1.0f32, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0];
/// let labels = [0u32, 1, 0, 1];
/// let m = coselect_matrix { data: fm.as_ptr(), rows: 4, cols: 2, row_stride: 0 };
/// let mut cal = coselect_calibration { temperature: 0.0, has_fusion: 0, fusion_a: 0.0, fusion_b: 0.0 };
/// let s = unsafe { coselect_fit_calibration(&cfg, &m, std::ptr::null(), labels.as_ptr(), 4, &mut cal) };
/// assert_eq!(s, coselect_status::CoselectOk);
/// assert!(cal.temperature > 1.0 && cal.has_fusion == 0);
/// ```
#[no_mangle]
pub unsafe extern "C" fn coselect_fit_calibration(
    cfg: *const coselect_config,
    fm: *const coselect_matrix,
    sm: *const coselect_matrix,
    labels: *const u32,
    n_labels: usize,
    out: *mut coselect_calibration,
) -> coselect_status {
    guard(|| {
        let cfg = unsafe { config(cfg) }?;
        let fm = unsafe { required_matrix("fm", fm) }?;
        let sm = unsafe { matrix("sm", sm) }?;
        let labels = unsafe { array("labels", labels, n_labels) }?;
        if out.is_null() {
            return Err(Failure::null("out"));
        }
        let rows = fm.rows();
        let as_pool = Labels::new("labels", labels.iter().map(|&y| y as i64), cfg.classes)?;
        if as_pool.rows() != rows {
            return Err(Failure::new(
                coselect_status::CoselectShapeMismatch,
                format!("labels has {} rows, fm {rows}", as_pool.rows()),
            ));
        }
        let pool = Pool::new(fm, sm, Some(as_pool))?;
        let cal = coselect_cpu::Calibration::fit(&pool, &cfg)?;
        unsafe { put("out", out, coselect_calibration::from_host(&cal)) }
    })
}

/// Judges human labels: one verdict per row of `fm`, from the FM logits,
/// the small model's out-of-sample log-probabilities `oos_sm` (each row
/// predicted by a model that did not train on it) and the calibration.
///
/// # Safety
/// Pointers are NULL or valid for the extents their shapes claim; `out`
/// holds `n_labels` verdicts.
#[no_mangle]
pub unsafe extern "C" fn coselect_judge_labels(
    cfg: *const coselect_config,
    fm: *const coselect_matrix,
    oos_sm: *const coselect_matrix,
    labels: *const u32,
    n_labels: usize,
    calibration: *const coselect_calibration,
    out: *mut coselect_verdict,
) -> coselect_status {
    guard(|| {
        let cfg = unsafe { config(cfg) }?;
        let fm = unsafe { required_matrix("fm", fm) }?;
        let sm = unsafe { required_matrix("oos_sm", oos_sm) }?;
        let labels = unsafe { array("labels", labels, n_labels) }?;
        let cal = unsafe { crate::types::calibration(calibration) }?;
        let classes = cfg.classes as usize;
        if (fm.rows(), fm.cols()) != (n_labels, classes)
            || (sm.rows(), sm.cols()) != (n_labels, classes)
        {
            return Err(Failure::new(
                coselect_status::CoselectShapeMismatch,
                format!(
                    "fm is {}x{}, oos_sm {}x{}, labels {n_labels}, config {classes} classes",
                    fm.rows(),
                    fm.cols(),
                    sm.rows(),
                    sm.cols()
                ),
            ));
        }
        if n_labels > 0 && out.is_null() {
            return Err(Failure::null("out"));
        }
        let weights = cal.posterior_weights();
        let (mut fb, mut sb, mut scratch) =
            (vec![0.0; classes], vec![0.0; classes], vec![0.0; classes]);
        let mut verdicts = Vec::with_capacity(n_labels);
        for (i, &y) in labels.iter().enumerate() {
            let v = judge_label(
                i as u64,
                fm.row(i, &mut fb),
                sm.row(i, &mut sb),
                y,
                weights,
                &cfg,
                &mut scratch,
            )?;
            verdicts.push(coselect_verdict {
                suspect: v.suspect as u32,
                label_probability: v.label_probability,
                agreed_class: v.agreed_class.map_or(-1, |c| c as i32),
            });
        }
        // Written only once every row passed, so a refused call leaves
        // `out` as it was.
        if n_labels > 0 {
            let dst = unsafe { std::slice::from_raw_parts_mut(out, n_labels) };
            dst.copy_from_slice(&verdicts);
        }
        Ok(())
    })
}

/// One labeling round over a whole pool, as `coselect select` runs it:
/// calibration on the labeled rows, the EM prior, scoring, the balanced
/// selection of `k` rows to annotate, and (with `sm` and some labels) the
/// co-decided pseudo-labels.
///
/// `labels` holds one entry per pool row (-1 unlabeled, else the class), or
/// is NULL for round 0. `threads` 0 uses every core. `picks` receives at
/// most `k` picks; `pseudo` (NULL with `pseudo_cap` 0 to skip them) the
/// pseudo-labels; the counts go to `n_picks` and `n_pseudo`, which hold
/// the size needed when the status is `COSELECT_BUFFER_TOO_SMALL`.
/// `calibration_out` (or NULL) receives the fitted calibration.
///
/// # Safety
/// Pointers are NULL or valid for the extents their shapes and caps claim.
#[no_mangle]
pub unsafe extern "C" fn coselect_select(
    cfg: *const coselect_config,
    fm: *const coselect_matrix,
    sm: *const coselect_matrix,
    labels: *const i64,
    n_labels: usize,
    threads: u32,
    picks: *mut coselect_pick,
    picks_cap: usize,
    n_picks: *mut usize,
    pseudo: *mut coselect_pseudo_label,
    pseudo_cap: usize,
    n_pseudo: *mut usize,
    calibration_out: *mut coselect_calibration,
) -> coselect_status {
    guard(|| {
        let cfg = unsafe { config(cfg) }?;
        if n_picks.is_null() {
            return Err(Failure::null("n_picks"));
        }
        if n_pseudo.is_null() {
            return Err(Failure::null("n_pseudo"));
        }
        let pool = unsafe { pool(&cfg, fm, sm, labels, n_labels) }?;
        let r = run_round(&pool, &cfg, crate::types::parallelism(threads))?;
        if !calibration_out.is_null() {
            unsafe { *calibration_out = coselect_calibration::from_host(&r.calibration) };
        }
        let a = unsafe { fill("picks", &r.queries, picks, picks_cap, n_picks) };
        let b = unsafe { fill("pseudo", &r.pseudo_labels, pseudo, pseudo_cap, n_pseudo) };
        a.and(b)
    })
}

/// The small model's decision bias for balanced accuracy: writes
/// `-tau ln pi_c` for each of the `n` classes into `out`, with `pi` the
/// model's mean posterior over `sm` (every pool row's log-probabilities,
/// labeled rows too). Add `out[c]` to a row's log-probabilities and take
/// the argmax when deploying the model; 0.5 is the strength measured best
/// (docs/select.md, `--decision-bias`). `threads` 0 uses every core; the
/// result is the same for any count. A `tau` that is negative or not finite
/// is `COSELECT_INVALID_ARGUMENT`.
///
/// # Safety
/// `sm` is NULL or valid for the extent its shape claims; `out` is NULL or
/// writable for `n` floats.
///
/// ```
/// use coselect_ffi::*;
/// let lp: Vec<f32> = [0.9f32, 0.1, 0.8, 0.2, 0.3, 0.7].iter().map(|p| p.ln()).collect();
/// let sm = coselect_matrix { data: lp.as_ptr(), rows: 3, cols: 2, row_stride: 0 };
/// let mut bias = [0.0f32; 2];
/// let st = unsafe { coselect_decision_bias(&sm, 0.5, 1, bias.as_mut_ptr(), 2) };
/// assert_eq!(st, coselect_status::CoselectOk);
/// assert!(bias[1] > bias[0]);
/// let st = unsafe { coselect_decision_bias(&sm, -1.0, 1, bias.as_mut_ptr(), 2) };
/// assert_eq!(st, coselect_status::CoselectInvalidArgument);
/// ```
#[no_mangle]
pub unsafe extern "C" fn coselect_decision_bias(
    sm: *const coselect_matrix,
    tau: f32,
    threads: u32,
    out: *mut f32,
    n: usize,
) -> coselect_status {
    guard(|| {
        let sm = unsafe { required_matrix("sm", sm) }?;
        if n != sm.cols() {
            return Err(Failure::new(
                coselect_status::CoselectShapeMismatch,
                format!("out holds {n} floats, sm has {} classes", sm.cols()),
            ));
        }
        unsafe { array("out", out as *const f32, n) }?;
        let bias = decision_bias(&sm, tau, crate::types::parallelism(threads))?;
        unsafe { std::ptr::copy_nonoverlapping(bias.as_ptr(), out, n) };
        Ok(())
    })
}

/// The pool of a whole-pool call: FM scores, optional small model, and one
/// label per row (-1 unlabeled) or NULL labels with `n_labels` 0.
///
/// # Safety
/// Pointers are NULL or valid for the extents their shapes claim.
pub(crate) unsafe fn pool<'a>(
    cfg: &Config,
    fm: *const coselect_matrix,
    sm: *const coselect_matrix,
    labels: *const i64,
    n_labels: usize,
) -> Result<Pool<'a>, Failure> {
    let fm = unsafe { required_matrix("fm", fm) }?;
    let sm = unsafe { matrix("sm", sm) }?;
    let labels = match labels.is_null() && n_labels == 0 {
        true => None,
        false => {
            let l = unsafe { array("labels", labels, n_labels) }?;
            if l.len() != fm.rows() {
                return Err(Failure::new(
                    coselect_status::CoselectShapeMismatch,
                    format!("labels has {} rows, fm {}", l.len(), fm.rows()),
                ));
            }
            Some(Labels::new("labels", l.iter().copied(), cfg.classes)?)
        }
    };
    Ok(Pool::new(fm, sm, labels)?)
}
