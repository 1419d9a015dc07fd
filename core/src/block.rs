//! The row formulas on blocks of [`LANES`] rows at once, for hosts that
//! score large pools.
//!
//! A block is stored structure-of-arrays: `x[c][j]` is class `c` of the
//! block's row `j`. Every reduction over the classes of a row (max, top two,
//! argmax, the softmax sum) then becomes an element-wise operation across
//! the lanes, taken class by class in index order: the compiler vectorises
//! it across rows, and each lane performs exactly the operations, in the same
//! order, as the row function it mirrors in [`crate::math`],
//! [`crate::Scorer`] and [`crate::candidacy_unchecked`]. So a block gives
//! the same bits as its rows one by one (tested in `tests/block.rs`), and
//! per-row formulas still exist once as arithmetic: the shared pieces
//! ([`crate::math::exp`], [`crate::math::boundary_score`]'s rule) are the
//! same functions.
//!
//! Lanes past the rows a host has are computed on whatever they hold and
//! ignored by the host; nothing here fails on any value.
//!
//! Every function here (and [`crate::math::exp`]) is `#[inline(always)]`:
//! a host may call them from a loop compiled with wider vector features
//! (`#[target_feature(enable = "avx2")]` behind a runtime check), and only
//! code inlined into that loop is compiled for them; a call that stays out
//! of line runs the baseline build. Wider lanes change no result: each lane
//! still performs the same IEEE-754 operations in the same order.
//!
//! ```
//! use coselect_core::block::{boundary_scores, Lanes, LANES};
//! use coselect_core::math;
//! // Two classes, row 0 = [-0.1, -2.4], every other lane [-0.7, -0.7].
//! let mut l = [[-0.7f32; LANES]; 2];
//! l[0][0] = -0.1;
//! l[1][0] = -2.4;
//! let mut out: [Lanes; 2] = [[0.0; LANES]; 2];
//! boundary_scores(&l, &mut out);
//! let mut row = [0.0; 2];
//! math::boundary_scores(&[-0.1, -2.4], &mut row);
//! assert_eq!([out[0][0], out[1][0]], row);
//! ```

use crate::math::{exp, exp_coarse};

/// Rows per block: four 4-wide vectors per class on baseline x86-64 and
/// AArch64, few enough that a block of 10 to 100 classes stays in L1.
pub const LANES: usize = 16;

/// One class of a block: the value of each of its rows.
pub type Lanes = [f32; LANES];

/// The class index [`candidacy`] reports for a row that is no candidate.
pub const NO_CLASS: u32 = u32::MAX;

/// Lane by lane: whether every class of the row is finite.
///
/// ```
/// use coselect_core::block::{finite, LANES};
/// let mut x = [[0.0f32; LANES]; 3];
/// x[2][5] = f32::NAN;
/// let ok = finite(&x);
/// assert!(ok[0] && !ok[5]);
/// ```
#[inline(always)]
pub fn finite(x: &[Lanes]) -> [bool; LANES] {
    // `v * 0` is zero for a finite value and NaN otherwise; a NaN sticks.
    let mut acc = [0.0f32; LANES];
    for row in x {
        for (a, &v) in acc.iter_mut().zip(row) {
            *a += v * 0.0;
        }
    }
    acc.map(|a| a == 0.0)
}

/// Lane by lane: `sum_c exp(x[c])`, in class order, as
/// [`crate::math::check_log_probabilities`] sums a row.
///
/// ```
/// use coselect_core::block::{sum_exp, LANES};
/// let x = [[0.5f32.ln(); LANES]; 2];
/// assert!((sum_exp(&x)[3] - 1.0).abs() < 1e-6);
/// ```
#[inline(always)]
pub fn sum_exp(x: &[Lanes]) -> Lanes {
    let mut s = [0.0f32; LANES];
    for row in x {
        for (a, &v) in s.iter_mut().zip(row) {
            *a += exp(v);
        }
    }
    s
}

/// Lane by lane: `true` only where `|sum_exp(x) - 1| <= tol` ([`sum_exp`]
/// of the finite values of a row within `tol` of 1, the log-probability
/// check of [`crate::math::check_log_probabilities`]). `false` means "not
/// sure": a host then runs the exact check on that row. Lanes holding a
/// non-finite value are unspecified; a host tests them with [`finite`].
///
/// The sum is taken with [`crate::math::exp_coarse`] (about half the cost
/// of [`exp`]) and accepted only at least `margin` inside the tolerance,
/// with `margin = 1.5e-5 + 1.3e-7 n` for `n` classes, larger than the
/// difference of the two sums: per term 2.9e-6 (the coarse polynomial) +
/// 1.2e-7 (`exp`'s ulp) relative, `2 u sum |x| e^x <= 2 u (ln n + 1)` from
/// rounding `x log2 e` (`u = 2^-24`), and the rounding of two sums of `n`
/// terms near 1 in class order, at most `(n - 1) u` each; all of it scaled
/// by `1 + tol`, the largest sum accepted. For `tol >= 1` nothing is sure
/// (`exp_coarse` clamps terms above 1 to `e`, so a large sum could read as
/// one near `e`). Rows written by a softmax are off by about 1e-6 and
/// settle here (below about 7,500 classes, where the margin is smaller
/// than `tol = 1e-3`); a row in the band costs one exact check.
/// `tests/block.rs` checks it against [`sum_exp`].
///
/// ```
/// use coselect_core::block::{surely_normalized, LANES};
/// let mut x = [[0.5f32.ln(); LANES]; 2];
/// x[0][1] = 0.0; // row 1 sums to 1.5
/// let ok = surely_normalized(&x, 1e-3);
/// assert!(ok[0] && !ok[1]);
/// ```
#[inline(always)]
pub fn surely_normalized(x: &[Lanes], tol: f32) -> [bool; LANES] {
    if tol.is_nan() || tol >= 1.0 {
        return [false; LANES];
    }
    let limit = tol - (1.0 + tol) * (1.5e-5 + 1.3e-7 * x.len() as f32);
    let mut s = [0.0f32; LANES];
    for row in x {
        for (a, &v) in s.iter_mut().zip(row) {
            *a += exp_coarse(v);
        }
    }
    s.map(|s| (s - 1.0).abs() <= limit)
}

/// Lane by lane `(argmax, max, second max)`, as [`top_two`] returns them.
pub type TopTwo = ([u32; LANES], Lanes, Lanes);

/// All ones where `cond`, for the selects below: written with masks rather
/// than `if`, because the compiler turns a select between two integers (or
/// floats picked by an integer compare) into branches per lane otherwise.
#[inline(always)]
fn mask(cond: bool) -> u32 {
    (cond as u32).wrapping_neg()
}

/// `a` where `mask` is all ones, `b` where it is zero.
#[inline(always)]
fn pick(mask: u32, a: f32, b: f32) -> f32 {
    f32::from_bits((a.to_bits() & mask) | (b.to_bits() & !mask))
}

/// Lane by lane: [`crate::math::top_two`]. A host that needs both the
/// boundary scores and the agreement of a block takes it once for
/// [`boundary_scores_reaching`] and [`agreement_given`]. Of a row with a
/// NaN only the argmax and max of the finite values are meaningful.
///
/// ```
/// use coselect_core::block::{top_two, LANES};
/// let x = [[0.1f32; LANES], [0.7; LANES], [0.2; LANES]];
/// let (best, first, second) = top_two(&x);
/// assert_eq!((best[4], first[4], second[4]), (1, 0.7, 0.2));
/// ```
#[inline(always)]
pub fn top_two(x: &[Lanes]) -> TopTwo {
    let mut best = [0u32; LANES];
    let mut first = [f32::NEG_INFINITY; LANES];
    let mut second = [f32::NEG_INFINITY; LANES];
    for (c, row) in x.iter().enumerate() {
        let c = c as u32;
        let lanes = best.iter_mut().zip(&mut first).zip(&mut second).zip(row);
        for (((b, f), s), &v) in lanes {
            // The row function's `if v > first { second = first } else if
            // v > second { second = v }`, as selects that compile to min and
            // max instructions: `min(v, first)` is `first` in the first case
            // and `v` otherwise. Equal values may differ in the sign of a
            // zero, which no boundary score can see (`|l - 0|`).
            let above = mask(v > *f);
            let below = if v < *f { v } else { *f };
            *s = if below > *s { below } else { *s };
            *f = if v > *f { v } else { *f };
            *b = (c & above) | (*b & !above);
        }
    }
    (best, first, second)
}

/// Lane by lane: [`crate::math::argmax`] of `scale * x` (the lower class
/// wins a tie) and the max itself. `scale` is 1 or the temperature: the
/// products are the values the row functions compare.
#[inline(always)]
fn argmax(x: &[Lanes], scale: f32) -> ([u32; LANES], Lanes) {
    let mut best = [0u32; LANES];
    let mut max = match x.first() {
        Some(row) => row.map(|v| scale * v),
        None => [f32::NEG_INFINITY; LANES],
    };
    for (c, row) in x.iter().enumerate().skip(1) {
        let c = c as u32;
        for ((b, m), &v) in best.iter_mut().zip(&mut max).zip(row) {
            let v = scale * v;
            let above = mask(v > *m);
            *m = if v > *m { v } else { *m };
            *b = (c & above) | (*b & !above);
        }
    }
    (best, max)
}

/// [`crate::math::boundary_scores`] for every row of a block: `out[c][j] =
/// -|l[c][j] - max_{c' != c} l[c'][j]| + 0.0`. `out` has as many classes as
/// `l`.
#[inline(always)]
pub fn boundary_scores(l: &[Lanes], out: &mut [Lanes]) {
    let top = top_two(l);
    for (c, (o, row)) in out.iter_mut().zip(l).enumerate() {
        boundary_class(row, c, &top, o);
    }
}

/// [`boundary_scores`] only where some row can reach `floor`, given the
/// block's [`top_two`] `top`: returns
/// `false`, leaving `out` as it was, when no class of any lane scores
/// `>= floor`; otherwise writes every score as [`boundary_scores`] does and
/// returns `true`. A host whose per-class lists are full passes the lowest
/// of their entry floors and skips the blocks that cannot enter any list:
/// nearly all of them in a large pool, since only about `k` rows per class
/// ever do.
///
/// The test is exact, not an estimate: with `(first, second)` a lane's top
/// two, the best class scores `-|first - second| + 0.0` (`first` is that
/// class's own value) and every other class `c`, whose value is at most
/// `second`, scores `-|first - l_c| + 0.0`, no higher, because rounding a
/// difference is monotone. So a lane whose best class is below `floor` has
/// no class at or above it. For lanes with non-finite values the same
/// holds (a NaN score reaches no floor). `tests/block.rs` checks it at ties,
/// signed zeros, infinities and NaN.
///
/// ```
/// use coselect_core::block::{boundary_scores_reaching, top_two, Lanes, LANES};
/// // Two classes, every row [-0.1, -2.4]: each class scores -2.3.
/// let l = [[-0.1f32; LANES], [-2.4f32; LANES]];
/// let top = top_two(&l);
/// let mut out: [Lanes; 2] = [[0.0; LANES]; 2];
/// assert!(!boundary_scores_reaching(&l, &top, -2.0, &mut out));
/// assert!(boundary_scores_reaching(&l, &top, -2.5, &mut out));
/// assert_eq!(out[1][0], -(-0.1f32 - -2.4f32).abs());
/// ```
#[inline(always)]
pub fn boundary_scores_reaching(l: &[Lanes], top: &TopTwo, floor: f32, out: &mut [Lanes]) -> bool {
    let (_, first, second) = top;
    let mut any = false;
    for j in 0..LANES {
        any |= -(first[j] - second[j]).abs() + 0.0 >= floor;
    }
    if !any {
        return false;
    }
    for (c, (o, row)) in out.iter_mut().zip(l).enumerate() {
        boundary_class(row, c, top, o);
    }
    true
}

/// Lane by lane: [`crate::math::boundary_score`] of class `c`, whose values
/// are `row`, given the block's top two.
#[inline(always)]
pub(crate) fn boundary_class(row: &Lanes, c: usize, top: &TopTwo, out: &mut Lanes) {
    let (best, first, second) = top;
    for j in 0..LANES {
        let other = pick(mask(best[j] == c as u32), second[j], first[j]);
        // `+ 0.0` turns -0.0 into +0.0, as the row function does.
        out[j] = -(row[j] - other).abs() + 0.0;
    }
}

/// Lane by lane: `out = exp(out - max_c out)` and the sum of the terms in
/// class order, as [`crate::math`]'s softmax computes them.
#[inline(always)]
pub(crate) fn exp_shifted(out: &mut [Lanes], max: &Lanes) -> Lanes {
    let mut s = [0.0f32; LANES];
    for row in out.iter_mut() {
        for j in 0..LANES {
            row[j] = exp(row[j] - max[j]);
            s[j] += row[j];
        }
    }
    s
}

/// Lane by lane: the max over classes as `m = m.max(v)` folds it.
#[inline(always)]
pub(crate) fn max(x: &[Lanes]) -> Lanes {
    let mut m = [f32::NEG_INFINITY; LANES];
    for row in x {
        for j in 0..LANES {
            m[j] = m[j].max(row[j]);
        }
    }
    m
}

/// [`crate::candidacy_unchecked`] for every row of a block: `class[j]` is
/// the agreed class of row `j` ([`NO_CLASS`] when the FM at temperature
/// multiplier `temperature` and the small model disagree) and `conf[j]` its
/// confidence `min(p_f, p_s)` (unspecified for a non-candidate). The same
/// bits as [`agreement`] followed by [`fm_confidence`], which a host can run
/// on the agreeing rows only.
///
/// ```
/// use coselect_core::block::{candidacy, LANES, NO_CLASS};
/// let mut fm = [[0.0f32; LANES]; 2];
/// fm[0][1] = 4.0; // row 1: the FM says class 0
/// let mut sm = [[0.5f32.ln(); LANES]; 2];
/// sm[0][1] = 0.9f32.ln();
/// sm[1][1] = 0.1f32.ln();
/// let (class, conf) = candidacy(&fm, &sm, 1.0);
/// assert_eq!(class[1], 0);
/// let row = coselect_core::candidacy_unchecked(&[4.0, 0.0], &[sm[0][1], sm[1][1]], 1.0, &mut [0.0; 2]);
/// assert_eq!(row, Some((0, conf[1])));
/// ```
#[inline(always)]
pub fn candidacy(fm: &[Lanes], sm: &[Lanes], temperature: f32) -> ([u32; LANES], Lanes) {
    // `agreement` then `fm_confidence`, sharing the FM's max (both take it
    // by `argmax` of the same products) and summing the softmax terms
    // without storing them: the same operations on every lane, less work.
    let (cf, max) = argmax(fm, temperature);
    let (class, ps) = agree(cf, sm);
    let s = softmax_top(fm, temperature, &max);
    let mut conf = [0.0f32; LANES];
    for j in 0..LANES {
        conf[j] = (1.0 / s[j]).min(ps[j]);
    }
    (class, conf)
}

/// The cheap half of [`candidacy`], lane by lane: the agreed class
/// ([`NO_CLASS`] when the argmax of `temperature * fm` and that of `sm`
/// differ) and the small model's probability `exp(sm[argmax])`. A row is a
/// candidate of confidence at least `f` only if its class is agreed and this
/// probability is at least `f`.
///
/// ```
/// use coselect_core::block::{agreement, LANES, NO_CLASS};
/// let mut fm = [[0.0f32; LANES]; 2];
/// fm[1][0] = 1.0; // row 0: the FM says class 1, every other row class 0
/// let sm = [[0.8f32.ln(); LANES], [0.2f32.ln(); LANES]];
/// let (class, ps) = agreement(&fm, &sm, 2.0);
/// assert_eq!((class[0], class[1]), (NO_CLASS, 0));
/// assert!((ps[1] - 0.8).abs() < 1e-6);
/// ```
#[inline(always)]
pub fn agreement(fm: &[Lanes], sm: &[Lanes], temperature: f32) -> ([u32; LANES], Lanes) {
    let (cf, _) = argmax(fm, temperature);
    agree(cf, sm)
}

/// [`agreement`] with the small model's [`top_two`] `sm_top` already
/// taken: its argmax and max are those of `argmax(sm)` on every row without
/// a NaN (both keep the first of equal maxima), so the same bits there,
/// without a second pass over the small model's classes. Rows with a NaN
/// are unspecified (a host has refused them before).
///
/// ```
/// use coselect_core::block::{agreement, agreement_given, top_two, LANES};
/// let fm = [[0.0f32; LANES], [1.0; LANES]];
/// let sm = [[0.2f32.ln(); LANES], [0.8f32.ln(); LANES]];
/// assert_eq!(agreement_given(&fm, &top_two(&sm), 2.0), agreement(&fm, &sm, 2.0));
/// ```
#[inline(always)]
pub fn agreement_given(fm: &[Lanes], sm_top: &TopTwo, temperature: f32) -> ([u32; LANES], Lanes) {
    let (cf, _) = argmax(fm, temperature);
    agree_with(cf, sm_top.0, &sm_top.1)
}

/// [`agreement`] given the FM's argmax `cf`.
#[inline(always)]
fn agree(cf: [u32; LANES], sm: &[Lanes]) -> ([u32; LANES], Lanes) {
    let (cs, ls) = argmax(sm, 1.0);
    agree_with(cf, cs, &ls)
}

/// The agreed class and `exp(ls)`, given both argmaxes and the small
/// model's max `ls`.
#[inline(always)]
fn agree_with(cf: [u32; LANES], cs: [u32; LANES], ls: &Lanes) -> ([u32; LANES], Lanes) {
    let mut class = [NO_CLASS; LANES];
    let mut ps = [0.0f32; LANES];
    for j in 0..LANES {
        ps[j] = exp(ls[j]);
        let agree = mask(cf[j] == cs[j]);
        class[j] = (cf[j] & agree) | (NO_CLASS & !agree);
    }
    (class, ps)
}

/// The costly half of [`candidacy`], lane by lane: the FM's probability of
/// its argmax, `1 / sum_c exp(z_c - max z)` with `z = temperature * fm` (the
/// softmax entry whose term is `exp(0) = 1`).
#[inline(always)]
pub fn fm_confidence(fm: &[Lanes], temperature: f32) -> Lanes {
    let (_, max) = argmax(fm, temperature);
    softmax_top(fm, temperature, &max).map(|s| 1.0 / s)
}

/// Lane by lane: `sum_c exp(temperature * fm[c] - max)`, in class order.
/// The terms are the ones [`crate::math`]'s softmax computes (`max` is the
/// max of the same products), summed as it sums them, without being stored.
#[inline(always)]
fn softmax_top(fm: &[Lanes], temperature: f32, max: &Lanes) -> Lanes {
    let mut s = [0.0f32; LANES];
    for x in fm {
        for j in 0..LANES {
            s[j] += exp(temperature * x[j] - max[j]);
        }
    }
    s
}
