//! The round's calibration: FM temperature and fusion weights, fitted by the
//! core on the labeled rows.
//!
//! Labeled rows are few next to the pool, so they are gathered into f32
//! buffers (in row order, which fixes the order of the fits' f64 sums) and
//! fitted on one thread.

use coselect_core::{fit_fusion, fit_temperature, CalibrationRows, Config, Fusion};

use crate::error::{Error, Result};
use crate::Pool;

/// What calibration found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    /// FM temperature multiplier `a_t` (1 without labels).
    pub temperature: f32,
    /// Fusion weights `(a, b)` of FM logits and small-model
    /// log-probabilities; `None` without a small model.
    pub fusion: Option<Fusion>,
}

impl Calibration {
    /// Fits the calibration on the labeled rows of `pool` (validating them,
    /// errors naming pool rows): the FM temperature, and with a small
    /// model the fusion weights.
    ///
    /// ```
    /// use coselect_core::Config;
    /// use coselect_cpu::{Calibration, Labels, Matrix, Pool};
    /// let fm = [1.0f32, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0];
    /// let labels = Labels::new("labels", [0i64, 1, 0, 1], 2)?;
    /// let pool = Pool::new(Matrix::f32("fm", &fm, 4, 2)?, None, Some(labels))?;
    /// let cal = Calibration::fit(&pool, &Config::new(2, 1)?)?;
    /// assert!(cal.temperature > 1.0); // right but under-confident: sharpen
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fit(pool: &Pool<'_>, config: &Config) -> Result<Calibration> {
        calibrate(pool, config)
    }

    /// The weights of the round's fused posterior: the fitted fusion with a
    /// small model, `a_t` on the FM alone without one.
    pub fn posterior_weights(&self) -> Fusion {
        self.fusion.unwrap_or(Fusion {
            a: self.temperature,
            b: 0.0,
        })
    }
}

/// Validates the labeled rows (naming pool rows in errors) and fits.
pub(crate) fn calibrate(pool: &Pool<'_>, config: &Config) -> Result<Calibration> {
    let classes = pool.fm.cols();
    let labeled = pool.labels.labeled();
    let mut fm = Vec::with_capacity(labeled.len() * classes);
    let mut sm = Vec::with_capacity(if pool.sm.is_some() { fm.capacity() } else { 0 });
    let mut ys = Vec::with_capacity(labeled.len());
    let mut buf = vec![0.0f32; classes];
    for &(row, y) in labeled {
        let i = row as usize;
        let r = pool.fm.row(i, &mut buf);
        pool.fm.check_finite(i, r)?;
        fm.extend_from_slice(r);
        if let Some(m) = &pool.sm {
            let r = m.row(i, &mut buf);
            m.check_log_probabilities(i, r)?;
            sm.extend_from_slice(r);
        }
        ys.push(y);
    }
    let fm_rows =
        CalibrationRows::new(&fm, None, &ys, classes).map_err(Error::core("calibration"))?;
    let temperature = fit_temperature(&fm_rows, config).map_err(Error::core("temperature fit"))?;
    let fusion = match pool.sm {
        Some(_) => {
            let rows = CalibrationRows::new(&fm, Some(&sm), &ys, classes)
                .map_err(Error::core("calibration"))?;
            Some(fit_fusion(&rows, config).map_err(Error::core("fusion fit"))?)
        }
        None => None,
    };
    Ok(Calibration {
        temperature,
        fusion,
    })
}
