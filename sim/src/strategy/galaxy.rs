//! GALAXY (Zhang et al. 2022), following LabelBench
//! `LabelBench/strategy/strategy_impl/galaxy.py`; the orderings are those of jifanz/GALAXY
//! `src/multiclass/multi_linear_graph.py` (same scores; sorted ascending there, descending in
//! LabelBench, which this file follows). The query loop is LabelBench's.
//!
//! The model's probabilities give one 1-D ordering per class `k`: rows sorted by
//! `s[i,k] = P[i,k] - max_j P[i,j] + 1e-8 max_j P[i,j]` descending (two classes: one ordering, by
//! `P[i,0]`). Each of the batch's labels is one query: draw a class `k` uniformly; in its ordering,
//! find the shortest run of unlabeled rows between two labeled rows that disagree on "is `k`"
//! and label its middle (bisection between labeled cuts); when no such run exists, label the
//! unlabeled row nearest to a labeled "not k | is k" pair of neighbours, and failing that a uniform
//! unlabeled row. Labels are revealed one at a time through the oracle (the annotator's noisy
//! label), so each query sees the answers before it.
//!
//! Orderings are sorted with ties to the lower row index (numpy's `argsort` leaves them unspecified).

use rand::Rng;
use rayon::prelude::*;

use super::{SelectContext, Strategy};
use crate::error::Result;
use crate::matrix::Matrix;

/// GALAXY's graph bisection over per-class 1-D orderings of the deployed model.
///
/// ```
/// let s = coselect_sim::strategy::build("galaxy", &Default::default()).unwrap();
/// assert_eq!(s.name(), "galaxy");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Galaxy;

/// Rows sorted by `key[i * cols + k]` descending, ties to the lower row, for each `k`.
pub(crate) fn orderings(key: &[f64], n: usize, cols: usize) -> Vec<Vec<usize>> {
    (0..cols)
        .into_par_iter()
        .map(|k| {
            let mut idx: Vec<usize> = (0..n).collect();
            idx.sort_by(|&a, &b| {
                key[b * cols + k]
                    .total_cmp(&key[a * cols + k])
                    .then(a.cmp(&b))
            });
            idx
        })
        .collect()
}

/// Probabilities of each row of `lp` as f64 (N x C), with the row maximum.
fn probs(lp: &Matrix) -> (Vec<f64>, Vec<f64>) {
    let c = lp.cols();
    let p: Vec<f64> = lp.data().iter().map(|&v| (v as f64).exp()).collect();
    let max = p
        .chunks(c)
        .map(|r| r.iter().copied().fold(f64::NEG_INFINITY, f64::max))
        .collect();
    (p, max)
}

/// GALAXY's keys: `N x C` margins for `C > 2`, else `N x 1` (`P[i,0]`).
pub(crate) fn galaxy_keys(lp: &Matrix) -> (Vec<f64>, usize) {
    let (c, n) = (lp.cols(), lp.rows());
    let (p, max) = probs(lp);
    if c > 2 {
        let key = (0..n * c)
            .map(|j| p[j] - max[j / c] + 1e-8 * max[j / c])
            .collect();
        (key, c)
    } else {
        ((0..n).map(|i| p[i * c]).collect(), 1)
    }
}

/// DIRECT's keys (always `N x C`): `P[i,k] - max + 1e-8 max` (two classes: `+ 1e-8 P[i,0]`).
pub(crate) fn direct_keys(lp: &Matrix) -> Vec<f64> {
    let (c, n) = (lp.cols(), lp.rows());
    let (p, max) = probs(lp);
    (0..n * c)
        .map(|j| {
            let eps = if c > 2 { max[j / c] } else { p[(j / c) * c] };
            p[j] - max[j / c] + 1e-8 * eps
        })
        .collect()
}

/// Pool-level label state during a round: which rows are labeled and their (noisy) labels.
pub(crate) struct Labels<'a> {
    /// `true` for a labeled row.
    pub labeled: Vec<bool>,
    /// The label of a labeled row (meaningless otherwise).
    pub label: Vec<usize>,
    /// Asks the annotator for row `i`'s label.
    pub reveal: &'a mut dyn FnMut(usize) -> Result<usize>,
}

impl Labels<'_> {
    pub(crate) fn query(&mut self, i: usize) -> Result<()> {
        let y = (self.reveal)(i)?;
        self.labeled[i] = true;
        self.label[i] = y;
        Ok(())
    }
}

/// One GALAXY query in ordering `graph` for class `k`: the position to label.
fn galaxy_pick(graph: &[usize], k: usize, st: &Labels<'_>, rng: &mut impl Rng) -> Option<usize> {
    let n = graph.len();
    let lab = |pos: usize| st.labeled[graph[pos]];
    let is_k = |pos: usize| st.label[graph[pos]] == k;
    let mut last: Option<usize> = None;
    let mut run: Option<(usize, usize)> = None;
    let mut shortest: Option<(usize, usize)> = None;
    let mut last_unlabeled_left: Option<usize> = None;
    let mut nearest: Option<usize> = None;
    let mut nearest_dist = n + 1;
    for i in 0..n {
        let next = (i + 1).min(n - 1);
        if lab(i) {
            if let (Some(l), Some(r)) = (last, run) {
                let shorter = shortest.is_none_or(|s| s.1 - s.0 > r.1 - r.0);
                if shorter && is_k(i) != is_k(l) {
                    shortest = Some(r);
                }
            }
            last = Some(i);
            run = None;
            if !is_k(i) && lab(next) && is_k(next) {
                if let Some(u) = last_unlabeled_left {
                    if nearest_dist >= i - u {
                        nearest_dist = i - u;
                        nearest = Some(u);
                    }
                }
            }
        } else {
            run = Some((run.map_or(i, |r| r.0), i));
            last_unlabeled_left = Some(i);
        }
    }
    if let Some((a, b)) = shortest {
        return Some((a + b) / 2);
    }
    let mut last_unlabeled_right: Option<usize> = None;
    for i_right in (0..n).rev() {
        let next = i_right.saturating_sub(1);
        if lab(i_right) {
            if lab(next) && is_k(i_right) && !is_k(next) {
                if let Some(u) = last_unlabeled_right {
                    if nearest_dist > u - i_right {
                        nearest_dist = u - i_right;
                        nearest = Some(u);
                    }
                }
            }
        } else {
            last_unlabeled_right = Some(i_right);
        }
    }
    if nearest.is_some() {
        return nearest;
    }
    // The reference walks a uniform permutation to its first unlabeled row: a uniform unlabeled row.
    let free: Vec<usize> = (0..n).filter(|&p| !lab(p)).collect();
    if free.is_empty() {
        None
    } else {
        Some(free[rng.random_range(0..free.len())])
    }
}

/// Runs `budget` GALAXY queries over `graphs` (one ordering per class, or one for two classes).
pub(crate) fn galaxy_queries(
    graphs: &[Vec<usize>],
    st: &mut Labels<'_>,
    budget: usize,
    rng: &mut impl Rng,
) -> Result<()> {
    for _ in 0..budget {
        let k = if graphs.len() > 1 {
            rng.random_range(0..graphs.len())
        } else {
            0
        };
        match galaxy_pick(&graphs[k], k, st, rng) {
            Some(pos) => st.query(graphs[k][pos])?,
            None => break,
        }
    }
    Ok(())
}

impl Strategy for Galaxy {
    fn name(&self) -> &str {
        "galaxy"
    }

    fn select(&mut self, ctx: &mut SelectContext<'_>) -> Result<Vec<usize>> {
        let lp = ctx.require_model(self.name())?;
        let n = lp.rows();
        let (key, cols) = galaxy_keys(lp);
        let graphs = orderings(&key, n, cols);
        let mut label = vec![0usize; n];
        for (&i, &y) in ctx.labeled.iter().zip(ctx.labels) {
            label[i] = y;
        }
        let oracle = &mut *ctx.oracle;
        let mut reveal = |i: usize| oracle.reveal(i);
        let mut st = Labels {
            labeled: ctx.is_labeled.to_vec(),
            label,
            reveal: &mut reveal,
        };
        galaxy_queries(&graphs, &mut st, ctx.batch, ctx.rng)?;
        // Every row was revealed through the oracle; the harness takes them from there.
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn bisects_the_shortest_disagreeing_run() {
        // One ordering of 10 rows; labeled: pos 0 (k), pos 3 (not k), pos 9 (not k).
        // Runs between disagreeing labels: (1, 2) only -> middle (1 + 2) / 2 = 1.
        let graph: Vec<usize> = (0..10).collect();
        let mut labeled = vec![false; 10];
        let mut label = vec![9; 10];
        for (p, y) in [(0, 0), (3, 1), (9, 1)] {
            labeled[p] = true;
            label[p] = y;
        }
        let mut reveal = |_: usize| Ok(0);
        let st = Labels {
            labeled,
            label,
            reveal: &mut reveal,
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        assert_eq!(galaxy_pick(&graph, 0, &st, &mut rng), Some(1));
    }

    #[test]
    fn nearest_to_an_adjacent_reversed_pair() {
        // Labeled pos 4 (not k) and pos 5 (k) adjacent, no disagreeing run: the unlabeled row
        // nearest on the left of the pair is pos 3 (distance 1).
        let graph: Vec<usize> = (0..8).collect();
        let mut labeled = vec![false; 8];
        let mut label = vec![9; 8];
        for (p, y) in [(4, 1), (5, 0)] {
            labeled[p] = true;
            label[p] = y;
        }
        let mut reveal = |_: usize| Ok(0);
        let st = Labels {
            labeled,
            label,
            reveal: &mut reveal,
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        assert_eq!(galaxy_pick(&graph, 0, &st, &mut rng), Some(3));
    }
}
