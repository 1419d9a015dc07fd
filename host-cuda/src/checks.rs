//! What a round refuses before it touches the device: shapes, sizes, the
//! parameters the core validates, and each class's mode.

use coselect_core::{CoDecider, Reason, Scorer};

use crate::error::{core, Error, Result};
use crate::inputs::{DeviceMatrix, RoundParams};

/// Classes the kernels and the host's stack arrays take (as the CPU host).
pub const MAX_CLASSES: usize = 4096;

/// Rows the kernels index: row numbers are 32-bit in the sort keys.
pub const MAX_ROWS: u64 = u32::MAX as u64;

/// The checked shape of a round.
pub(crate) struct Plan {
    pub(crate) rows: usize,
    pub(crate) classes: usize,
    pub(crate) boundary: Vec<u8>,
    pub(crate) codecide: bool,
    pub(crate) cap: u64,
}

/// Checks a round's shapes and parameters without touching a device: what
/// [`Gpu::select_on_device`] refuses before it launches anything.
///
/// ```
/// use coselect_core::Config;
/// use coselect_cuda::{check_inputs, DType, DeviceMatrix, Error, RoundParams};
/// let fm = DeviceMatrix { ptr: 0x1000, rows: 100, cols: 3, dtype: DType::F32 };
/// let params = RoundParams::first_round(Config::new(2, 5)?);
/// assert!(matches!(check_inputs(&fm, None, &params), Err(Error::Shape { .. })));
/// # Ok::<(), coselect_core::Error>(())
/// ```
pub fn check_inputs(
    fm: &DeviceMatrix,
    sm: Option<&DeviceMatrix>,
    params: &RoundParams,
) -> Result<()> {
    plan(fm, sm, params).map(|_| ())
}

pub(crate) fn plan(fm: &DeviceMatrix, sm: Option<&DeviceMatrix>, p: &RoundParams) -> Result<Plan> {
    p.config.validate().map_err(core("config"))?;
    let classes = fm.cols;
    if classes != p.config.classes as usize {
        return Err(Error::Shape {
            input: "fm",
            expected: format!("{} columns (config.classes)", p.config.classes),
            found: format!("{classes}"),
        });
    }
    if !(2..=MAX_CLASSES).contains(&classes) {
        return Err(Error::TooLarge {
            what: "the number of classes",
            value: classes as u64,
            max: MAX_CLASSES as u64,
        });
    }
    if fm.rows as u64 > MAX_ROWS {
        return Err(Error::TooLarge {
            what: "the number of rows",
            value: fm.rows as u64,
            max: MAX_ROWS,
        });
    }
    fm.check("fm")?;
    if let Some(s) = sm {
        s.check("sm")?;
        if s.dtype != fm.dtype {
            return Err(Error::Shape {
                input: "sm",
                expected: format!("{:?} like fm", fm.dtype),
                found: format!("{:?}", s.dtype),
            });
        }
        if (s.rows, s.cols) != (fm.rows, fm.cols) {
            return Err(Error::Shape {
                input: "sm",
                expected: format!("{} x {} like fm", fm.rows, fm.cols),
                found: format!("{} x {}", s.rows, s.cols),
            });
        }
    }
    if p.counts.len() != classes {
        return Err(Error::Shape {
            input: "counts",
            expected: format!("{classes} entries"),
            found: format!("{}", p.counts.len()),
        });
    }
    if !(p.temperature.is_finite() && p.temperature > 0.0) {
        return Err(core("temperature")(coselect_core::Error::InvalidConfig {
            field: "temperature",
        }));
    }
    // The core's scorer checks the prior and fusion weights and sets each
    // class's mode.
    let scorer = Scorer::<MAX_CLASSES>::new(&p.config, &p.counts, p.fusion, &p.log_prior)
        .map_err(core("scorer"))?;
    if sm.is_none() {
        if let Some(c) = (0..classes).find(|&c| scorer.mode(c) == Reason::Boundary) {
            return Err(Error::MissingSmallModel { class: c as u32 });
        }
    }
    let boundary = (0..classes)
        .map(|c| (scorer.mode(c) == Reason::Boundary) as u8)
        .collect();
    let codecide = sm.is_some() && p.counts.iter().any(|&n| n > 0);
    let cap = CoDecider::<MAX_CLASSES, 1>::cap(&p.config, &p.counts) as u64;
    Ok(Plan {
        rows: fm.rows,
        classes,
        boundary,
        codecide,
        cap,
    })
}
