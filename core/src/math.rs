//! Row math shared by every formula of the method.
//!
//! All per-row numerics go through these functions so that every host (the
//! core's own loops, the multi-threaded CPU host, the FFI) computes the same
//! bits. They use `libm` rather than the platform's math library for the same
//! reason: `libm` is the same software implementation everywhere.
//!
//! The loops are plain indexed loops over slices with no early exits in the
//! arithmetic, so the compiler can vectorise them when a host inlines them.

use crate::error::{Error, Result};

/// How far the mass of a row declared as probabilities may stray from 1.
/// f32 rows produced by a softmax in another framework are off by ~1e-6;
/// anything past 1e-3 is a caller mistake (logits passed as probabilities).
pub const NORMALIZATION_TOLERANCE: f32 = 1e-3;

/// Checks that `row` has `classes` entries, all finite.
///
/// ```
/// use coselect_core::math::check_finite;
/// assert!(check_finite(4, &[0.0, f32::NAN], 2).is_err());
/// assert!(check_finite(4, &[0.0, 1.0], 2).is_ok());
/// ```
pub fn check_finite(row_index: u64, row: &[f32], classes: usize) -> Result<()> {
    if row.len() != classes {
        return Err(Error::ClassCountMismatch {
            expected: classes as u32,
            found: row.len() as u32,
        });
    }
    match row.iter().position(|x| !x.is_finite()) {
        Some(col) => Err(Error::NonFinite {
            row: row_index,
            col: col as u32,
        }),
        None => Ok(()),
    }
}

/// Checks a row of probabilities: finite, non-negative, summing to 1.
///
/// ```
/// use coselect_core::{math::check_probabilities, Error};
/// assert!(check_probabilities(0, &[0.25, 0.75], 2).is_ok());
/// assert!(matches!(check_probabilities(0, &[0.5, 0.6], 2), Err(Error::NotNormalized { .. })));
/// ```
pub fn check_probabilities(row_index: u64, row: &[f32], classes: usize) -> Result<()> {
    check_finite(row_index, row, classes)?;
    if let Some(col) = row.iter().position(|&x| x < 0.0) {
        return Err(Error::NegativeProbability {
            row: row_index,
            col: col as u32,
        });
    }
    let sum: f32 = row.iter().sum();
    if (sum - 1.0).abs() > NORMALIZATION_TOLERANCE {
        return Err(Error::NotNormalized {
            row: row_index,
            sum,
        });
    }
    Ok(())
}

/// Checks a row of log-probabilities: finite, and `exp` sums to 1.
///
/// ```
/// use coselect_core::math::check_log_probabilities;
/// let half = 0.5f32.ln();
/// assert!(check_log_probabilities(0, &[half, half], 2).is_ok());
/// assert!(check_log_probabilities(0, &[0.0, 0.0], 2).is_err());
/// ```
pub fn check_log_probabilities(row_index: u64, row: &[f32], classes: usize) -> Result<()> {
    check_finite(row_index, row, classes)?;
    let lse = log_sum_exp(row, 1.0);
    let sum = libm::expf(lse);
    if (sum - 1.0).abs() > NORMALIZATION_TOLERANCE {
        return Err(Error::NotNormalized {
            row: row_index,
            sum,
        });
    }
    Ok(())
}

/// Index of the largest entry; the lower index wins a tie. `0` for an empty
/// row.
///
/// ```
/// assert_eq!(coselect_core::math::argmax(&[1.0, 3.0, 3.0]), 1);
/// ```
pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in row.iter().enumerate().skip(1) {
        if x > row[best] {
            best = i;
        }
    }
    best
}

/// `log(sum_i exp(scale * x_i))`, computed stably.
///
/// ```
/// let v = coselect_core::math::log_sum_exp(&[0.0, 0.0], 1.0);
/// assert!((v - 2f32.ln()).abs() < 1e-6);
/// ```
pub fn log_sum_exp(x: &[f32], scale: f32) -> f32 {
    let mut m = f32::NEG_INFINITY;
    for &v in x {
        m = m.max(scale * v);
    }
    let mut s = 0.0f32;
    for &v in x {
        s += libm::expf(scale * v - m);
    }
    m + libm::logf(s)
}

/// Writes `softmax(a * x + b * y)` into `out` (with `y` absent, `softmax(a * x)`)
/// and returns the log-normaliser. This is the fused posterior of the method:
/// `x` the FM logits, `y` the small model's log-probabilities.
///
/// ```
/// let mut p = [0.0; 2];
/// coselect_core::math::fused_softmax(&[1.0, 1.0], None, 1.0, 0.0, &mut p);
/// assert_eq!(p, [0.5, 0.5]);
/// ```
pub fn fused_softmax(x: &[f32], y: Option<&[f32]>, a: f32, b: f32, out: &mut [f32]) -> f32 {
    fused_logits(x, y, a, b, out);
    let mut m = f32::NEG_INFINITY;
    for &v in out.iter() {
        m = m.max(v);
    }
    let mut s = 0.0f32;
    for v in out.iter_mut() {
        *v = libm::expf(*v - m);
        s += *v;
    }
    let inv = 1.0 / s;
    for v in out.iter_mut() {
        *v *= inv;
    }
    m + libm::logf(s)
}

/// Writes `a * x + b * y` (or `a * x`) into `out`.
///
/// ```
/// let mut z = [0.0; 2];
/// coselect_core::math::fused_logits(&[1.0, 2.0], Some(&[-1.0, -2.0]), 2.0, 1.0, &mut z);
/// assert_eq!(z, [1.0, 2.0]);
/// ```
pub fn fused_logits(x: &[f32], y: Option<&[f32]>, a: f32, b: f32, out: &mut [f32]) {
    match y {
        Some(y) => {
            for ((o, &xi), &yi) in out.iter_mut().zip(x).zip(y) {
                *o = a * xi + b * yi;
            }
        }
        None => {
            for (o, &xi) in out.iter_mut().zip(x) {
                *o = a * xi;
            }
        }
    }
}

/// The top two entries of a row: `(argmax, max, second max)`. The second max
/// is `-inf` for a one-entry row.
///
/// ```
/// assert_eq!(coselect_core::math::top_two(&[0.1, 0.7, 0.2]), (1, 0.7, 0.2));
/// ```
pub fn top_two(row: &[f32]) -> (usize, f32, f32) {
    let mut best = 0usize;
    let mut first = f32::NEG_INFINITY;
    let mut second = f32::NEG_INFINITY;
    for (i, &v) in row.iter().enumerate() {
        if v > first {
            second = first;
            first = v;
            best = i;
        } else if v > second {
            second = v;
        }
    }
    (best, first, second)
}

/// Closeness of class `c` to the small model's decision boundary,
/// `-|L[c] - max_{c' != c} L[c']|` (BASE's score: higher is closer), given
/// the row's [`top_two`].
///
/// ```
/// use coselect_core::math::{boundary_score, top_two};
/// let l = [-0.5f32, -1.0, -3.0];
/// assert_eq!(boundary_score(&l, 2, top_two(&l)), -2.5);
/// ```
#[inline]
pub fn boundary_score(log_probs: &[f32], c: usize, top: (usize, f32, f32)) -> f32 {
    let (best, first, second) = top;
    let other = if c == best { second } else { first };
    // `+ 0.0` turns -0.0 into +0.0 so equal distances compare equal.
    -(log_probs[c] - other).abs() + 0.0
}

/// [`boundary_score`] for every class, written into `out`.
///
/// ```
/// let mut s = [0.0; 3];
/// coselect_core::math::boundary_scores(&[-0.5, -1.0, -3.0], &mut s);
/// assert_eq!(s, [-0.5, -0.5, -2.5]);
/// ```
pub fn boundary_scores(log_probs: &[f32], out: &mut [f32]) {
    let top = top_two(log_probs);
    for (c, o) in out.iter_mut().enumerate().take(log_probs.len()) {
        *o = boundary_score(log_probs, c, top);
    }
}
