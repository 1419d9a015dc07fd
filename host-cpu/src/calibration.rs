//! The round's calibration: FM temperature and fusion weights, fitted by the
//! core on the labeled rows.
//!
//! Labeled rows are few next to the pool, so they are gathered into f32
//! buffers (in row order, which fixes the order of the fits' f64 sums) and
//! fitted on one thread. Past [`CALIBRATION_ROWS`] labeled rows the fits
//! read an evenly spaced subset of them: each Newton step of a fit sums
//! `exp` over every row and class, and at 100,000 labels the fits took
//! 0.43 s, thirty times the scoring of a 1M-row pool.

use coselect_core::{fit_fusion, fit_temperature, CalibrationRows, Config, Fusion};

use crate::error::{Error, Result};
use crate::Pool;

/// The most labeled rows the calibration fits read: with more, rows
/// `floor(j n / CALIBRATION_ROWS)` of the `n` labeled rows in row order,
/// for `j` in `0..CALIBRATION_ROWS`. Only one temperature and two fusion
/// weights are fitted: on a 1M x 10 pool with 100,000 labels the subset
/// moved the temperature by 0.6% and left the queries as they were
/// (docs/select.md). Every labeled row is still validated.
///
/// ```
/// use coselect_core::Config;
/// use coselect_cpu::{Calibration, Labels, Matrix, Pool, CALIBRATION_ROWS};
/// let n = 2 * CALIBRATION_ROWS;
/// let fm: Vec<f32> = (0..n).flat_map(|i| [(i % 7) as f32 * 0.3, 0.5]).collect();
/// let y = |i: usize| (i % 3 == 0) as i64;
/// // Every row labeled, or every other row: the fits read the same rows.
/// let all = Labels::new("labels", (0..n).map(y), 2)?;
/// let even = Labels::new("labels", (0..n).map(|i| if i % 2 == 0 { y(i) } else { -1 }), 2)?;
/// let config = Config::new(2, 1)?;
/// let fit = |l| -> Result<Calibration, coselect_cpu::Error> {
///     Calibration::fit(&Pool::new(Matrix::f32("fm", &fm, n, 2)?, None, Some(l))?, &config)
/// };
/// assert_eq!(fit(all)?, fit(even)?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const CALIBRATION_ROWS: usize = 4096;

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
    let n = labeled.len();
    let used = n.min(CALIBRATION_ROWS);
    let mut fm = Vec::with_capacity(used * classes);
    let mut sm = Vec::with_capacity(if pool.sm.is_some() { fm.capacity() } else { 0 });
    let mut ys = Vec::with_capacity(used);
    let mut buf = vec![0.0f32; classes];
    // The next labeled row the fits read (position in `labeled`), and how
    // many have been taken.
    let (mut next, mut taken) = (0usize, 0usize);
    for (j, &(row, y)) in labeled.iter().enumerate() {
        let i = row as usize;
        let take = j == next && taken < used;
        if take {
            taken += 1;
            // floor(taken * n / used) in u128: no overflow for any n.
            next = (taken as u128 * n as u128 / used as u128) as usize;
        }
        let r = pool.fm.row(i, &mut buf);
        pool.fm.check_finite(i, r)?;
        if take {
            fm.extend_from_slice(r);
        }
        if let Some(m) = &pool.sm {
            let r = m.row(i, &mut buf);
            m.check_log_probabilities(i, r)?;
            if take {
                sm.extend_from_slice(r);
            }
        }
        if take {
            ys.push(y);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Labels, Matrix};
    use coselect_core::Config;

    /// A labeled row the fits do not read is still validated: the bad
    /// value is reported with its row, as with fewer labels.
    #[test]
    fn rows_past_the_subset_are_still_checked() {
        let n = 2 * CALIBRATION_ROWS;
        let mut fm: Vec<f32> = (0..n).flat_map(|i| [(i % 5) as f32, 1.0]).collect();
        let bad = 2 * 1000 + 1; // odd: not among the rows the fits read
        fm[bad * 2 + 1] = f32::NAN;
        let labels = Labels::new("labels", (0..n).map(|i| (i % 2) as i64), 2).unwrap();
        let pool = Pool::new(Matrix::f32("fm", &fm, n, 2).unwrap(), None, Some(labels)).unwrap();
        let e = Calibration::fit(&pool, &Config::new(2, 1).unwrap()).unwrap_err();
        assert_eq!(e.row(), Some(bad as u64), "{e}");
    }
}
