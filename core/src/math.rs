//! Row math shared by every formula of the method.
//!
//! All per-row numerics go through these functions so that every host (the
//! core's own loops, the multi-threaded CPU host, the FFI) computes the same
//! bits. The exponential is this module's own [`exp`] (plain f32 arithmetic
//! and bit operations, so the same bits on every platform, and branch-free,
//! so it vectorises); the rare scalar logarithms use `libm`, the same
//! software implementation everywhere, rather than the platform's library.
//!
//! The loops are plain loops over slices with no early exits in the
//! arithmetic, so the compiler can vectorise them when a host inlines them.
//! Sums are always taken in index order, so vectorising the terms does not
//! change the result.

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
#[inline]
pub fn check_finite(row_index: u64, row: &[f32], classes: usize) -> Result<()> {
    if row.len() != classes {
        return Err(Error::ClassCountMismatch {
            expected: classes as u32,
            found: row.len() as u32,
        });
    }
    if all_finite(row) {
        return Ok(());
    }
    let col = row.iter().position(|x| !x.is_finite()).unwrap_or(0);
    Err(Error::NonFinite {
        row: row_index,
        col: col as u32,
    })
}

/// Whether every entry is finite. No early exit, so it vectorises; the
/// column of a bad value is looked up only once one is known to exist.
///
/// ```
/// use coselect_core::math::all_finite;
/// assert!(all_finite(&[0.0, -3.5]));
/// assert!(!all_finite(&[0.0, f32::INFINITY]));
/// ```
#[inline]
pub fn all_finite(row: &[f32]) -> bool {
    let mut ok = true;
    for &x in row {
        ok &= x.is_finite();
    }
    ok
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
/// The sum is `sum_i exp(x_i)` without the usual max shift: where it matters
/// (a sum near 1) every term lies in `[0, 1 + tol]`, so nothing cancels and
/// nothing overflows; a row far from normalised gives a sum that overflows
/// to infinity or underflows towards 0, and is refused all the same.
///
/// ```
/// use coselect_core::math::check_log_probabilities;
/// let half = 0.5f32.ln();
/// assert!(check_log_probabilities(0, &[half, half], 2).is_ok());
/// assert!(check_log_probabilities(0, &[0.0, 0.0], 2).is_err());
/// ```
#[inline]
pub fn check_log_probabilities(row_index: u64, row: &[f32], classes: usize) -> Result<()> {
    check_finite(row_index, row, classes)?;
    let sum = sum_exp(row, 1.0, 0.0);
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
#[inline]
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
#[inline]
pub fn log_sum_exp(x: &[f32], scale: f32) -> f32 {
    let mut m = f32::NEG_INFINITY;
    for &v in x {
        m = m.max(scale * v);
    }
    m + libm::logf(sum_exp(x, scale, m))
}

/// Terms computed per block of [`sum_exp`]: a fixed-length loop the
/// compiler vectorises, with the sum still taken in index order.
const EXP_BLOCK: usize = 8;

/// `sum_i exp(scale * x_i - shift)`, summed in index order.
#[inline]
fn sum_exp(x: &[f32], scale: f32, shift: f32) -> f32 {
    let mut s = 0.0f32;
    let mut buf = [0.0f32; EXP_BLOCK];
    for block in x.chunks(EXP_BLOCK) {
        for (b, &v) in buf.iter_mut().zip(block) {
            *b = exp(scale * v - shift);
        }
        for &b in &buf[..block.len()] {
            s += b;
        }
    }
    s
}

/// Writes `exp(v - shift)` over `v` in place and returns the sum, taken in
/// index order after all the terms (so the exponentials vectorise).
#[inline]
pub(crate) fn exp_shifted_in_place(v: &mut [f32], shift: f32) -> f32 {
    for o in v.iter_mut() {
        *o = exp(*o - shift);
    }
    let mut s = 0.0f32;
    for &o in v.iter() {
        s += o;
    }
    s
}

/// `log2(e)`, rounded to f32.
const LOG2_E: f32 = core::f32::consts::LOG2_E;
/// `ln 2` split in two (Cody and Waite): the high part has 9 significant
/// bits, so `k * LN2_HI` is exact for every `|k| <= 150` and the reduced
/// argument loses nothing without a fused multiply-add.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// `1.5 * 2^23`: adding it to a value of magnitude below `2^22` rounds the
/// value to an integer (nearest, ties to even) held in the low mantissa bits.
const ROUND_SHIFT: f32 = 12_582_912.0;

/// `e^x` in f32, the exponential every row formula uses.
///
/// Cody–Waite reduction `x = k ln 2 + r`, `|r| <= ln 2 / 2`, a degree-6
/// polynomial for `e^r` (Cephes' `expf` coefficients) and `2^k` built from
/// exponent bits. Plain IEEE-754 f32 operations only (Rust never contracts
/// them into fused multiply-adds) and integer bit operations, no table and
/// no branch, so it returns the same bits on every platform and vectorises
/// when inlined into a loop. Error against the exact value: below 1 ulp
/// (0.97 at worst over 70 million inputs spread across the f32 range,
/// checked against f64 in `tests/exp.rs`);
/// gradual underflow to 0 below about -103.3, `inf` above about 88.72,
/// `exp(0) = 1` exactly, NaN in gives NaN out.
///
/// ```
/// use coselect_core::math::exp;
/// assert_eq!(exp(0.0), 1.0);
/// assert!((exp(1.0) - core::f32::consts::E).abs() <= f32::EPSILON * 3.0);
/// assert_eq!(exp(-200.0), 0.0);
/// assert_eq!(exp(100.0), f32::INFINITY);
/// assert!(exp(f32::NAN).is_nan());
/// ```
// Always inlined, so that a host loop compiled for wider vectors (see
// `crate::block`) gets this in its own vector width, not a baseline call.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    // The clamp keeps k in [-150, 128]; outside it the result is 0 or inf
    // anyway. Comparisons rather than `max`/`min` keep a NaN as it is, and
    // the NaN then propagates through the polynomial.
    let x = if x < -104.0 { -104.0 } else { x };
    let x = if x > 89.0 { 89.0 } else { x };
    let t = x * LOG2_E + ROUND_SHIFT;
    let k = t - ROUND_SHIFT;
    let n = (t.to_bits() as i32).wrapping_sub(ROUND_SHIFT.to_bits() as i32);
    let r = x - k * LN2_HI - k * LN2_LO;
    let z = r * r;
    let p = ((((1.987_569_2e-4 * r + 1.398_2e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let p = p * z + r + 1.0;
    // 2^k as two normal powers of two: p * 2^n1 is exact, the second
    // product rounds once, which gives gradual underflow and overflow to
    // inf at the right place. Wrapping arithmetic: with a NaN input `n` is
    // meaningless and the result is NaN whatever the scale.
    let n1 = n >> 1;
    let n2 = n.wrapping_sub(n1);
    let s1 = f32::from_bits((n1.wrapping_add(127) as u32) << 23);
    let s2 = f32::from_bits((n2.wrapping_add(127) as u32) << 23);
    p * s1 * s2
}

/// `e^x` to within `3e-6 + 1.2e-7 |x|` relative (`-86 <= x <= 1`; the second
/// part is the rounding of `x log2 e`), for bounds only: never a
/// result. [`crate::block::surely_normalized`] uses it to settle the
/// log-probability check of rows far from its tolerance at about half the
/// cost of [`exp`], whose exact sum it never replaces.
///
/// `x = (n + f) ln 2` with `|f| <= 1/2`, `2^f` by a degree-4 polynomial
/// (fitted to the relative error, 2.9e-6 at worst in f32 arithmetic), `2^n`
/// added to the exponent bits. The input is clamped to `[-86, 1]` first, so
/// every result is normal: below `-86` the error is absolute, under
/// `e^-86 < 5e-38`; above `1` the result is `e`, which is enough for a
/// bound on sums that must stay near 1. NaN in gives an unspecified value.
///
/// ```
/// use coselect_core::math::{exp, exp_coarse};
/// for x in [-80.0f32, -3.3, -0.01, 0.0, 0.7] {
///     assert!((exp_coarse(x) / exp(x) - 1.0).abs() < 1.5e-5);
/// }
/// assert_eq!(exp_coarse(7.0), exp_coarse(1.0));
/// ```
// Always inlined, as `exp` is.
#[inline(always)]
pub fn exp_coarse(x: f32) -> f32 {
    let x = if x < -86.0 { -86.0 } else { x };
    let x = if x > 1.0 { 1.0 } else { x };
    let t = x * LOG2_E;
    let s = t + ROUND_SHIFT;
    let f = t - (s - ROUND_SHIFT);
    let n = (s.to_bits() as i32).wrapping_sub(ROUND_SHIFT.to_bits() as i32);
    let p = (((9.582_853e-3 * f + 5.590_642_6e-2) * f + 2.402_41e-1) * f + 6.931_242e-1) * f + 1.0;
    f32::from_bits((p.to_bits() as i32).wrapping_add(n.wrapping_shl(23)) as u32)
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
#[inline]
pub fn fused_softmax(x: &[f32], y: Option<&[f32]>, a: f32, b: f32, out: &mut [f32]) -> f32 {
    fused_logits(x, y, a, b, out);
    let mut m = f32::NEG_INFINITY;
    for &v in out.iter() {
        m = m.max(v);
    }
    let s = exp_shifted_in_place(out, m);
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
#[inline]
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
#[inline]
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
#[inline]
pub fn boundary_scores(log_probs: &[f32], out: &mut [f32]) {
    let top = top_two(log_probs);
    for (c, o) in out.iter_mut().enumerate().take(log_probs.len()) {
        *o = boundary_score(log_probs, c, top);
    }
}
