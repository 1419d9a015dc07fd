//! The parity rule with the CPU host, as a checkable helper.
//!
//! The GPU computes every score with the core's operation order, but its
//! `expf`/`logf` may differ from `libm` in the last bits, so a score can
//! move by about 1e-7. The rule: **the GPU selects the same indices (and
//! pseudo-labels) as the CPU host whenever no two scores at a cut lie within
//! [`TOLERANCE`] of each other**, except scores of rows whose inputs are
//! bitwise identical: each device computes the same bits for both, and both
//! break the tie by the lower index. "At a cut" means, per class, among the
//! best `k + 1` unlabeled rows (which rows make the list, and their order,
//! which the round-robin follows), and for the pseudo-labels, confidences
//! near `co_floor`, `co_confidence`, the class's threshold or its cap, and
//! rows whose two models' argmaxes are that close to a tie.
//!
//! [`check`] computes the CPU scores of a host-side pool, decides whether
//! the pool is unambiguous under that rule, and if so compares.

use coselect_core::math::top_two;
use coselect_core::{
    candidacy_unchecked, flexmatch_thresholds, CoDecider, Pick, PseudoLabel, Reason, Scorer,
};

use crate::checks::MAX_CLASSES;
use crate::error::{core, Error, Result};
use crate::inputs::{RoundParams, Selection};

/// Scores closer than this may order differently on the GPU and the CPU.
pub const TOLERANCE: f32 = 1e-6;

/// A pool in host memory, f32, row-major.
#[derive(Debug, Clone, Copy)]
pub struct HostPool<'a> {
    /// FM scores, `rows x classes`.
    pub fm: &'a [f32],
    /// Small-model log-probabilities, same shape.
    pub sm: Option<&'a [f32]>,
    /// Rows humans labeled (excluded from the pool).
    pub labeled: Option<&'a [bool]>,
    /// Classes (columns).
    pub classes: usize,
}

/// The outcome of [`check`].
#[derive(Debug, Clone, PartialEq)]
pub enum Parity {
    /// The pool is unambiguous and both selections agree.
    Same,
    /// Scores at a cut lie within [`TOLERANCE`]; nothing was compared.
    Ambiguous(String),
    /// The pool is unambiguous and the selections differ: a bug.
    Differ(String),
}

/// Decides whether `pool` is unambiguous under the parity rule (from the
/// CPU's own scores) and, if it is, compares the CPU host's `cpu_queries`
/// and `cpu_pseudo` with the GPU's `gpu`.
///
/// ```
/// use coselect_core::{Config, Pick, Reason};
/// use coselect_cuda::parity::{check, HostPool, Parity};
/// use coselect_cuda::{RoundParams, Selection};
/// let fm = [3.0f32, 0.0, 0.0, 3.0, 2.0, 1.0];
/// let params = RoundParams::first_round(Config::new(2, 1)?);
/// let pool = HostPool { fm: &fm, sm: None, labeled: None, classes: 2 };
/// let pick = Pick { index: 1, class: 1, score: 0.95, reason: Reason::Seed };
/// let gpu = Selection { queries: vec![pick], pseudo_labels: vec![], unlabeled: 3 };
/// assert_eq!(check(&pool, &params, &[pick], &[], &gpu)?, Parity::Same);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn check(
    pool: &HostPool<'_>,
    params: &RoundParams,
    cpu_queries: &[Pick],
    cpu_pseudo: &[PseudoLabel],
    gpu: &Selection,
) -> Result<Parity> {
    if let Some(why) = ambiguity(pool, params)? {
        return Ok(Parity::Ambiguous(why));
    }
    let key = |p: &Pick| (p.index, p.class);
    let a: Vec<_> = cpu_queries.iter().map(key).collect();
    let b: Vec<_> = gpu.queries.iter().map(key).collect();
    if a != b {
        return Ok(Parity::Differ(format!(
            "queries (row, class) differ: cpu {a:?}, gpu {b:?}"
        )));
    }
    let key = |p: &PseudoLabel| (p.index, p.class);
    let a: Vec<_> = cpu_pseudo.iter().map(key).collect();
    let b: Vec<_> = gpu.pseudo_labels.iter().map(key).collect();
    if a != b {
        let first = a.iter().zip(&b).position(|(x, y)| x != y);
        return Ok(Parity::Differ(format!(
            "pseudo-labels differ: cpu {} gpu {}, first difference at {first:?}",
            a.len(),
            b.len()
        )));
    }
    Ok(Parity::Same)
}

/// Why `pool` is ambiguous under the parity rule, or `None`.
pub fn ambiguity(pool: &HostPool<'_>, params: &RoundParams) -> Result<Option<String>> {
    let c = pool.classes;
    if c == 0 || pool.fm.len() % c != 0 {
        return Err(Error::Shape {
            input: "fm",
            expected: format!("a multiple of {c} values"),
            found: format!("{}", pool.fm.len()),
        });
    }
    let rows = pool.fm.len() / c;
    let scorer = Scorer::<MAX_CLASSES>::new(
        &params.config,
        &params.counts,
        params.fusion,
        &params.log_prior,
    )
    .map_err(core("scorer"))?;
    let labeled = |i: usize| {
        pool.labeled
            .is_some_and(|l| l.get(i).copied().unwrap_or(false))
    };
    let same_inputs = |a: u32, b: u32| {
        let (a, b) = (a as usize, b as usize);
        let same = |m: &[f32]| {
            let (x, y) = (&m[a * c..(a + 1) * c], &m[b * c..(b + 1) * c]);
            x.iter().zip(y).all(|(u, v)| u.to_bits() == v.to_bits())
        };
        same(pool.fm) && pool.sm.is_none_or(same)
    };
    let mut cols: Vec<Vec<(f32, u32)>> = vec![Vec::with_capacity(rows); c];
    let mut scores = vec![0.0f32; c];
    for i in (0..rows).filter(|&i| !labeled(i)) {
        let fm = &pool.fm[i * c..(i + 1) * c];
        let sm = pool.sm.map(|s| &s[i * c..(i + 1) * c]);
        scorer.score_row_unchecked(fm, sm, &mut scores);
        for (col, &s) in cols.iter_mut().zip(&scores) {
            col.push((s + 0.0, i as u32));
        }
    }
    let k = params.config.k as usize;
    for (class, col) in cols.iter_mut().enumerate() {
        if let Some(gap) = crowded_cut(col, k + 1, &same_inputs) {
            let mode = if scorer.mode(class) == Reason::Seed {
                "seed"
            } else {
                "boundary"
            };
            return Ok(Some(format!(
                "class {class} ({mode}): two of its best {} scores are {gap:e} apart",
                k + 1
            )));
        }
    }
    let Some(sm) = pool.sm else { return Ok(None) };
    if !params.counts.iter().any(|&n| n > 0) {
        return Ok(None);
    }
    pseudo_ambiguity(pool, sm, params, rows, &labeled, &same_inputs)
}

fn pseudo_ambiguity(
    pool: &HostPool<'_>,
    sm: &[f32],
    params: &RoundParams,
    rows: usize,
    labeled: &dyn Fn(usize) -> bool,
    same_inputs: &dyn Fn(u32, u32) -> bool,
) -> Result<Option<String>> {
    let c = pool.classes;
    let cfg = &params.config;
    let cap = CoDecider::<MAX_CLASSES, 1>::cap(cfg, &params.counts);
    let (mut sigma, mut unlabeled) = (vec![0u64; c], 0u64);
    let mut kept: Vec<Vec<(f32, u32)>> = vec![Vec::new(); c];
    let mut scratch = vec![0.0f32; c];
    let near = |x: f32, y: f32| (x - y).abs() <= TOLERANCE;
    for i in (0..rows).filter(|&i| !labeled(i)) {
        unlabeled += 1;
        let (f, s) = (&pool.fm[i * c..(i + 1) * c], &sm[i * c..(i + 1) * c]);
        let cand = candidacy_unchecked(f, s, params.temperature, &mut scratch);
        // Near-ties of either argmax may flip the candidacy itself.
        let (_, p1, p2) = top_two(&scratch);
        let (_, l1, l2) = top_two(s);
        let conf_bound = p1.min(l1.exp());
        if (near(p1, p2) || near(l1, l2)) && conf_bound >= cfg.co_floor - TOLERANCE {
            return Ok(Some(format!("row {i}: a near-tie of an argmax")));
        }
        if let Some((cls, conf)) = cand {
            if near(conf, cfg.co_floor) || near(conf, cfg.co_confidence) {
                return Ok(Some(format!("row {i}: confidence {conf} at a threshold")));
            }
            if conf >= cfg.co_confidence {
                sigma[cls as usize] += 1;
            }
            if conf >= cfg.co_floor {
                kept[cls as usize].push((conf, i as u32));
            }
        }
    }
    let mut th = vec![0.0f32; c];
    flexmatch_thresholds(&sigma, unlabeled, cfg.co_confidence, cfg.co_floor, &mut th)
        .map_err(core("pseudo-labels"))?;
    for (cls, col) in kept.iter_mut().enumerate() {
        if col.iter().any(|&(x, _)| near(x, th[cls])) {
            return Ok(Some(format!("class {cls}: a confidence at its threshold")));
        }
        if col.len() > cap {
            if let Some(gap) = crowded_cut(col, cap + 1, same_inputs) {
                return Ok(Some(format!(
                    "class {cls}: confidences {gap:e} apart at the cap"
                )));
            }
        }
    }
    Ok(None)
}

/// The smallest gap between neighbours among the best `n` of `col` (score,
/// row) when it is within [`TOLERANCE`] and the two rows' inputs differ;
/// reorders `col`.
fn crowded_cut(
    col: &mut [(f32, u32)],
    n: usize,
    same_inputs: &dyn Fn(u32, u32) -> bool,
) -> Option<f32> {
    let n = n.min(col.len());
    if n < 2 {
        return None;
    }
    let order = |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    if n < col.len() {
        col.select_nth_unstable_by(n - 1, order);
    }
    let best = &mut col[..n];
    best.sort_unstable_by(order);
    best.windows(2)
        .filter(|w| w[0].0 - w[1].0 <= TOLERANCE && !same_inputs(w[0].1, w[1].1))
        .map(|w| w[0].0 - w[1].0)
        .reduce(f32::min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crowded_cut_sees_only_the_best() {
        let rows = |v: &[f32]| {
            v.iter()
                .enumerate()
                .map(|(i, &s)| (s, i as u32))
                .collect::<Vec<_>>()
        };
        let differ = |_: u32, _: u32| false;
        let v = [0.5f32, 0.9, 0.1, 0.1, 0.7];
        assert_eq!(crowded_cut(&mut rows(&v), 3, &differ), None);
        assert_eq!(crowded_cut(&mut rows(&v), 5, &differ), Some(0.0));
        // Rows 2 and 3 have the same inputs: their tie is safe.
        assert_eq!(
            crowded_cut(&mut rows(&v), 5, &|a, b| a.min(b) == 2 && a.max(b) == 3),
            None
        );
        assert!(crowded_cut(&mut rows(&[0.9f32, 0.9 + 5e-7]), 2, &differ).is_some());
    }
}
