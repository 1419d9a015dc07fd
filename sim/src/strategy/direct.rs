//! DIRECT (Nuggehalli et al. 2023), following LabelBench
//! `LabelBench/strategy/strategy_impl/direct.py` with its configuration
//! `configs/strategy/direct_sampling.json` (`B1 = 20` parallel annotators,
//! `min_budget_per_class = 60`).
//!
//! Per class `k`, rows are ordered by `P[i,k] - max_j P[i,j] + 1e-8 max_j P[i,j]` descending (the
//! 1-D reduction); a labeled row counts `+1` when its (noisy) label is `k`, `-1` otherwise, and a
//! threshold `t` (rows before `t` called `k`) scores `sum(w[..t]) - sum(w[t..])`: threshold ERM,
//! which tolerates label noise by maximising agreement instead of requiring a clean cut.
//!
//! 1. Version-space reduction, on the `eff` classes with the fewest labels (`eff = C` and
//!    `B2 = B / C / 2` labels each when `B / C / 2 < min_budget_per_class`, else
//!    `eff = B / (2 min_budget_per_class)` and `B2 = min_budget_per_class`): between the last
//!    labeled `k` before the first labeled non-`k` (`I`) and the first labeled non-`k` after the
//!    last labeled `k` from the right (`J`), label `min(B1, B2)` uniform unlabeled rows at once
//!    (the parallel annotators), then move the worse-scoring end of `[I, J]` inwards until its
//!    unlabeled count shrinks by the factor `diam^(1 / (B2 / B1))`; repeat with the rest of `B2`.
//! 2. The rest of the batch, split evenly over the classes in a uniform order: label outwards
//!    from the class's best threshold, alternating left and right.
//!
//! Labels are revealed through the oracle as they are chosen (the annotator's noisy labels), so
//! later steps and classes see them, as the reference's do.
//!
//! Not a deviation, but worth knowing: with the harness's batches (30 to 50 for 3 to 25 classes)
//! `B2 / B1 = 0`, so the shrinking factor is 1 and phase 1 is `B2` uniform labels inside `[I, J]`
//! per class. Orderings are sorted with ties to the lower row (numpy leaves them unspecified); the
//! class rank by label count is stable. The threshold scores of one shrink step are computed once
//! (the reference recomputes the same vector every iteration).

use rand::seq::SliceRandom;
use rand::Rng;

use super::galaxy::{direct_keys, orderings, Labels};
use super::{SelectContext, Strategy};
use crate::error::Result;

/// DIRECT's threshold search over per-class 1-D orderings of the deployed model.
///
/// ```
/// let s = coselect_sim::strategy::build("direct", &Default::default()).unwrap();
/// assert_eq!(s.name(), "direct");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Direct {
    /// Parallel annotators of the version-space phase (`B1`).
    pub b1: usize,
    /// Labels per class of the version-space phase when the batch allows (`min_budget_per_class`).
    pub min_budget_per_class: usize,
}

impl Default for Direct {
    /// LabelBench's `direct_sampling.json`: `B1 = 20`, `min_budget_per_class = 60`.
    fn default() -> Self {
        Self {
            b1: 20,
            min_budget_per_class: 60,
        }
    }
}

/// Threshold scores: `acc[t] = sum(w[..t]) - sum(w[t..])` for `t = 0..=n`.
pub(crate) fn threshold_scores(w: &[i64]) -> Vec<i64> {
    let total: i64 = w.iter().sum();
    let mut acc = Vec::with_capacity(w.len() + 1);
    let mut prefix = 0i64;
    acc.push(-total);
    for &v in w {
        prefix += v;
        acc.push(prefix - (total - prefix));
    }
    acc
}

/// The first threshold of highest score.
pub(crate) fn best_threshold(w: &[i64]) -> usize {
    let acc = threshold_scores(w);
    let mut best = 0;
    for (t, &a) in acc.iter().enumerate() {
        if a > acc[best] {
            best = t;
        }
    }
    best
}

fn signs(graph: &[usize], k: usize, st: &Labels<'_>) -> Vec<i64> {
    graph
        .iter()
        .map(|&i| match (st.labeled[i], st.label[i] == k) {
            (false, _) => 0,
            (true, true) => 1,
            (true, false) => -1,
        })
        .collect()
}

impl Direct {
    /// Phase 1 for class `k` over `graph`: returns labels spent.
    fn version_space(
        &self,
        graph: &[usize],
        k: usize,
        b2: usize,
        st: &mut Labels<'_>,
        rng: &mut impl Rng,
    ) -> Result<usize> {
        let n = graph.len();
        let mut w = signs(graph, k, st);
        let mut i_lo = 0;
        for (p, &row) in graph.iter().enumerate() {
            if !st.labeled[row] {
                continue;
            }
            if st.label[row] != k {
                break;
            }
            i_lo = p;
        }
        let mut j_rev = 0;
        for (p, &row) in graph.iter().rev().enumerate() {
            if !st.labeled[row] {
                continue;
            }
            if st.label[row] == k {
                break;
            }
            j_rev = p;
        }
        let mut j_hi = n - j_rev - 1;
        let mut b2 = b2;
        let mut spend = 0;
        while b2 > 0 {
            let budget = self.b1.min(b2);
            if i_lo > j_hi {
                break;
            }
            let mut cand: Vec<usize> = (i_lo..=j_hi).filter(|&p| !st.labeled[graph[p]]).collect();
            if cand.is_empty() {
                break;
            }
            let take = budget.min(cand.len());
            let (picked, _) = cand.partial_shuffle(rng, take);
            let picked = picked.to_vec();
            for &p in &picked {
                st.query(graph[p])?;
                w[p] = if st.label[graph[p]] == k { 1 } else { -1 };
            }
            spend += take;
            let cur_diam = (i_lo..=j_hi).filter(|&p| !st.labeled[graph[p]]).count();
            if cur_diam > 0 {
                let base = b2 / self.b1;
                let c2 = if base <= 1 {
                    1.0
                } else {
                    (cur_diam as f64).powf(1.0 / base as f64)
                };
                let target = (cur_diam as f64 / c2).ceil() as usize;
                let acc = threshold_scores(&w);
                let mut diam = cur_diam;
                while diam > target {
                    let move_lo = match acc[i_lo].cmp(&acc[j_hi]) {
                        std::cmp::Ordering::Less => true,
                        std::cmp::Ordering::Greater => false,
                        std::cmp::Ordering::Equal => rng.random_range(0..2) == 0,
                    };
                    if move_lo {
                        if !st.labeled[graph[i_lo]] {
                            diam -= 1;
                        }
                        i_lo += 1;
                    } else {
                        if !st.labeled[graph[j_hi]] {
                            diam -= 1;
                        }
                        j_hi -= 1;
                    }
                }
            }
            b2 -= budget;
        }
        Ok(spend)
    }

    /// Phase 2 for class `k`: `class_budget` labels outwards from the best threshold.
    fn around_threshold(
        &self,
        graph: &[usize],
        k: usize,
        class_budget: usize,
        st: &mut Labels<'_>,
    ) -> Result<()> {
        let n = graph.len() as isize;
        let w = signs(graph, k, st);
        let mut right = best_threshold(&w) as isize;
        let mut left = right - 1;
        let mut bit = 1;
        let (mut left_exceed, mut right_exceed) = (false, false);
        let mut budget = class_budget;
        while budget > 0 {
            bit = (bit + 1) % 2;
            if left_exceed && right_exceed {
                break;
            }
            if bit == 0 {
                if left < 0 {
                    left_exceed = true;
                    continue;
                }
                if !st.labeled[graph[left as usize]] {
                    st.query(graph[left as usize])?;
                    budget -= 1;
                }
                left -= 1;
            } else {
                if right >= n {
                    right_exceed = true;
                    continue;
                }
                if !st.labeled[graph[right as usize]] {
                    st.query(graph[right as usize])?;
                    budget -= 1;
                }
                right += 1;
            }
        }
        Ok(())
    }

    /// DIRECT's batch of `budget` labels over `graphs` (one ordering per class).
    pub(crate) fn run(
        &self,
        graphs: &[Vec<usize>],
        st: &mut Labels<'_>,
        budget: usize,
        rng: &mut impl Rng,
    ) -> Result<()> {
        let c = graphs.len();
        let mut freq = vec![0usize; c];
        for (i, &l) in st.labeled.iter().enumerate() {
            if l {
                freq[st.label[i]] += 1;
            }
        }
        // Most labeled first, ties to the lower class (a stable sort of -freq).
        let mut rank: Vec<usize> = (0..c).collect();
        rank.sort_by(|&a, &b| freq[b].cmp(&freq[a]));
        let (eff, mut b2) = if budget / c / 2 < self.min_budget_per_class {
            (c, budget / c / 2)
        } else {
            (
                budget / (2 * self.min_budget_per_class),
                self.min_budget_per_class,
            )
        };
        let mut spent = 0;
        for &k in &rank[c - eff.min(c)..] {
            let unlabeled = graphs[k].iter().filter(|&&i| !st.labeled[i]).count();
            // The reference lowers B2 for this and every later class.
            b2 = b2.min(unlabeled);
            spent += self.version_space(&graphs[k], k, b2, st, rng)?;
        }
        let rem = budget - spent;
        let mut order: Vec<usize> = (0..c).collect();
        order.shuffle(rng);
        for (i, &k) in order.iter().enumerate() {
            let class_budget = rem * (i + 1) / c - rem * i / c;
            self.around_threshold(&graphs[k], k, class_budget, st)?;
        }
        Ok(())
    }
}

impl Strategy for Direct {
    fn name(&self) -> &str {
        "direct"
    }

    fn select(&mut self, ctx: &mut SelectContext<'_>) -> Result<Vec<usize>> {
        let lp = ctx.require_model(self.name())?;
        let (n, c) = (lp.rows(), lp.cols());
        let graphs = orderings(&direct_keys(lp), n, c);
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
        self.run(&graphs, &mut st, ctx.batch, ctx.rng)?;
        // Every row was revealed through the oracle; the harness takes them from there.
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_erm_hand_worked() {
        // w = +1 +1 -1 +1 -1 -1, total 0: acc[t] = 2 prefix(t) - total, prefixes 0,1,2,1,2,1,0.
        let w = [1, 1, -1, 1, -1, -1];
        assert_eq!(threshold_scores(&w), vec![0, 2, 4, 2, 4, 2, 0]);
        // The first best (t = 2) wins; the noisy +1 at position 3 does not move it.
        assert_eq!(best_threshold(&w), 2);
        // Unlabeled rows (0) do not count.
        assert_eq!(best_threshold(&[0, 1, 0, -1, 0]), 2);
    }
}
