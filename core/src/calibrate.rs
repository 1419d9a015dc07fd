//! Fits on calibration rows: the FM temperature and the fusion weights.
//!
//! Calibration rows are samples with a trusted human label; the caller owns
//! them as row-major slices. Both fits minimise a negative log-likelihood
//! plus a ridge toward the "no change" point, by Newton's method: the
//! objectives are convex (log-sum-exp of a linear map plus a quadratic), so
//! Newton with a backtracking guard converges in a handful of steps. Sums run
//! in f64 in row order, so the result depends only on the rows as given.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::math::{check_finite, check_log_probabilities};

/// The fusion `z = a * S + b * L` of FM logits `S` and small-model
/// log-probabilities `L` (equivalently `a * log_softmax(S) + b * L`: a row
/// constant does not change a softmax).
///
/// ```
/// let f = coselect_core::Fusion::default();
/// assert_eq!((f.a, f.b), (1.0, 1.0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Fusion {
    /// Weight of the FM logits.
    pub a: f32,
    /// Weight of the small model's log-probabilities.
    pub b: f32,
}

impl Default for Fusion {
    fn default() -> Self {
        Fusion { a: 1.0, b: 1.0 }
    }
}

/// Calibration rows: FM logits, optional small-model log-probabilities, and
/// the trusted labels, all row-major with `classes` columns.
///
/// ```
/// use coselect_core::CalibrationRows;
/// let fm = [2.0, 0.0, 0.0, 2.0];
/// let labels = [0u32, 1];
/// let rows = CalibrationRows::new(&fm, None, &labels, 2)?;
/// assert_eq!(rows.len(), 2);
/// # Ok::<(), coselect_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct CalibrationRows<'a> {
    fm: &'a [f32],
    sm: Option<&'a [f32]>,
    labels: &'a [u32],
    classes: usize,
}

impl<'a> CalibrationRows<'a> {
    /// Validates shapes, finiteness, normalisation of `sm` and label range.
    pub fn new(
        fm: &'a [f32],
        sm: Option<&'a [f32]>,
        labels: &'a [u32],
        classes: usize,
    ) -> Result<Self> {
        if classes < 2 {
            return Err(Error::InvalidClassCount {
                classes: classes as u32,
            });
        }
        let n = labels.len();
        if fm.len() != n * classes {
            return Err(Error::LengthMismatch {
                expected: n * classes,
                found: fm.len(),
            });
        }
        if let Some(sm) = sm {
            if sm.len() != n * classes {
                return Err(Error::LengthMismatch {
                    expected: n * classes,
                    found: sm.len(),
                });
            }
        }
        for (j, &y) in labels.iter().enumerate() {
            if y as usize >= classes {
                return Err(Error::LabelOutOfRange {
                    row: j as u64,
                    label: y,
                    classes: classes as u32,
                });
            }
            check_finite(j as u64, &fm[j * classes..(j + 1) * classes], classes)?;
            if let Some(sm) = sm {
                check_log_probabilities(j as u64, &sm[j * classes..(j + 1) * classes], classes)?;
            }
        }
        Ok(CalibrationRows {
            fm,
            sm,
            labels,
            classes,
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    fn row(&self, j: usize) -> (&[f32], Option<&[f32]>, usize) {
        let r = j * self.classes..(j + 1) * self.classes;
        (
            &self.fm[r.clone()],
            self.sm.map(|s| &s[r]),
            self.labels[j] as usize,
        )
    }
}

/// Moments of one row under `p = softmax(a * x + b * y)`: the NLL of the
/// label, and gradient and Hessian of it in `(a, b)`.
struct RowMoments {
    nll: f64,
    grad: [f64; 2],
    hess: [f64; 3], // aa, ab, bb
}

fn row_moments(x: &[f32], y: Option<&[f32]>, label: usize, a: f64, b: f64) -> RowMoments {
    let yv = |i: usize| y.map_or(0.0, |y| y[i] as f64);
    let mut m = f64::NEG_INFINITY;
    for (i, &xi) in x.iter().enumerate() {
        m = m.max(a * xi as f64 + b * yv(i));
    }
    let (mut s, mut ex, mut ey, mut exx, mut exy, mut eyy) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for (i, &xi) in x.iter().enumerate() {
        let (xi, yi) = (xi as f64, yv(i));
        let w = libm::exp(a * xi + b * yi - m);
        s += w;
        ex += w * xi;
        ey += w * yi;
        exx += w * xi * xi;
        exy += w * xi * yi;
        eyy += w * yi * yi;
    }
    let (ex, ey) = (ex / s, ey / s);
    let (xl, yl) = (x[label] as f64, yv(label));
    RowMoments {
        nll: m + libm::log(s) - (a * xl + b * yl),
        grad: [ex - xl, ey - yl],
        hess: [exx / s - ex * ex, exy / s - ex * ey, eyy / s - ey * ey],
    }
}

/// Objective, gradient and Hessian over all rows plus the ridge toward 1;
/// `with_sm = false` fits the FM alone (the `b` terms are then constants).
fn objective(rows: &CalibrationRows<'_>, a: f64, b: f64, ridge: f64, with_sm: bool) -> RowMoments {
    let mut t = RowMoments {
        nll: ridge * ((a - 1.0) * (a - 1.0) + (b - 1.0) * (b - 1.0)),
        grad: [2.0 * ridge * (a - 1.0), 2.0 * ridge * (b - 1.0)],
        hess: [2.0 * ridge, 0.0, 2.0 * ridge],
    };
    for j in 0..rows.len() {
        let (x, y, label) = rows.row(j);
        let r = row_moments(x, y.filter(|_| with_sm), label, a, b);
        t.nll += r.nll;
        t.grad[0] += r.grad[0];
        t.grad[1] += r.grad[1];
        t.hess[0] += r.hess[0];
        t.hess[1] += r.hess[1];
        t.hess[2] += r.hess[2];
    }
    t
}

/// The FM temperature multiplier `a_t = argmin_{a >= temperature_min}
/// sum_j NLL(softmax(a * lfm_j), y_j) + ridge * (a - 1)^2`, by 1-D Newton
/// from 1. The small-model columns of `rows` are ignored.
///
/// ```
/// use coselect_core::{fit_temperature, CalibrationRows, Config};
/// // An FM that is right but underconfident wants a > 1.
/// let fm = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0];
/// let labels = [0u32, 1, 0, 1];
/// let rows = CalibrationRows::new(&fm, None, &labels, 2)?;
/// let a = fit_temperature(&rows, &Config::new(2, 1)?)?;
/// assert!(a > 1.0);
/// # Ok::<(), coselect_core::Error>(())
/// ```
pub fn fit_temperature(rows: &CalibrationRows<'_>, config: &Config) -> Result<f32> {
    config.validate()?;
    config.check_classes(rows.classes)?;
    if rows.is_empty() {
        return Ok(1.0);
    }
    let ridge = config.temperature_ridge as f64;
    let floor = config.temperature_min as f64;
    let tol = config.newton_tolerance as f64;
    let mut a = 1.0f64.max(floor);
    let value = |a: f64| {
        let t = objective(rows, a, 1.0, ridge, false);
        (t.nll, t.grad[0], t.hess[0])
    };
    for _ in 0..config.newton_max_steps {
        let (f, g, h) = value(a);
        if h <= 0.0 || !h.is_finite() || !g.is_finite() {
            break;
        }
        let step = -g / h;
        let mut t = 1.0;
        let mut next = (a + step).max(floor);
        // Backtrack: Newton on a convex function can overshoot far from the
        // minimum; halving keeps each step a descent.
        for _ in 0..40 {
            if value(next).0 <= f {
                break;
            }
            t *= 0.5;
            next = (a + t * step).max(floor);
        }
        let moved = libm::fabs(next - a);
        a = next;
        if moved < tol {
            break;
        }
    }
    Ok(a as f32)
}

/// The fusion weights `(a, b) >= 0` minimising the calibration NLL of
/// `softmax(a * S + b * L)` plus `fusion_ridge * |(a, b) - (1, 1)|^2`, by
/// projected Newton on two parameters from (1, 1). With fewer rows than
/// classes, or without small-model rows, returns the default (1, 1).
///
/// ```
/// use coselect_core::{fit_fusion, CalibrationRows, Config};
/// let h = 0.5f32.ln();
/// // The FM is right, the small model is uninformative: a grows, b does not matter.
/// let fm = [2.0, 0.0, 0.0, 2.0, 2.0, 0.0, 0.0, 2.0];
/// let sm = [h; 8];
/// let labels = [0u32, 1, 0, 1];
/// let rows = CalibrationRows::new(&fm, Some(&sm), &labels, 2)?;
/// let f = fit_fusion(&rows, &Config::new(2, 1)?)?;
/// assert!(f.a > 1.0);
/// # Ok::<(), coselect_core::Error>(())
/// ```
pub fn fit_fusion(rows: &CalibrationRows<'_>, config: &Config) -> Result<Fusion> {
    config.validate()?;
    config.check_classes(rows.classes)?;
    if rows.len() < rows.classes || rows.sm.is_none() {
        return Ok(Fusion::default());
    }
    let ridge = config.fusion_ridge as f64;
    let tol = config.newton_tolerance as f64;
    let (mut a, mut b) = (1.0f64, 1.0f64);
    for _ in 0..config.newton_max_steps {
        let t = objective(rows, a, b, ridge, true);
        let [haa, hab, hbb] = t.hess;
        let det = haa * hbb - hab * hab;
        // A (near) singular Hessian happens when S and L are collinear on
        // every row and the ridge is 0: fall back to a gradient step.
        let (da, db) = if det > 1e-12 * (haa * hbb).max(1e-300) && det.is_finite() {
            (
                -(hbb * t.grad[0] - hab * t.grad[1]) / det,
                -(haa * t.grad[1] - hab * t.grad[0]) / det,
            )
        } else {
            let scale = 1.0 / (1.0 + haa.abs() + hbb.abs());
            (-t.grad[0] * scale, -t.grad[1] * scale)
        };
        if !da.is_finite() || !db.is_finite() {
            break;
        }
        let mut step = 1.0;
        let mut next = ((a + da).max(0.0), (b + db).max(0.0));
        for _ in 0..40 {
            if objective(rows, next.0, next.1, ridge, true).nll <= t.nll {
                break;
            }
            step *= 0.5;
            next = ((a + step * da).max(0.0), (b + step * db).max(0.0));
        }
        let moved = libm::fabs(next.0 - a) + libm::fabs(next.1 - b);
        a = next.0;
        b = next.1;
        if moved < tol {
            break;
        }
    }
    Ok(Fusion {
        a: a as f32,
        b: b as f32,
    })
}
