//! BASE, balanced selection (Emam et al. 2021), following jifanz/GALAXY `src/multiclass/base.py`
//! with the margins of `src/trainer.py` (`PassiveResnet18Trainer.compute_margins`); LabelBench's
//! `strategy_impl/` has no BASE file.
//!
//! Each class `c` gets a quota `floor(B / C) + [c < B mod C]`. For class `c` a row's distance is
//! the distance of its embedding to the model's decision boundary between its predicted class `p`
//! and `c`, `|(w_p - w_c).z + b_p - b_c| / |w_p - w_c|`; for a row predicted `c` it is the distance
//! to its nearest boundary. Classes are served in order `0..C`, each taking its quota of the
//! nearest rows not taken yet.
//!
//! Deviation: a class the model has not fitted (no labeled row yet) has no boundary; its rows are
//! ranked by their distance to their nearest boundary instead (the reference never meets this,
//! its network always has every class). A model with one unit per FM concept (our learner, given
//! to the baselines by `--pseudo-labeler ours`) has no single weight vector per class: the
//! distance is then the log-probability gap alone (`|w_p - w_c|` taken as 1).

use super::{SelectContext, Strategy};
use crate::error::{Result, SimError};
use crate::learner::LogReg;
use crate::matrix::Matrix;

/// Per-class quota of the rows closest to each class's decision boundary.
///
/// ```
/// let s = coselect_sim::strategy::build("base", &Default::default()).unwrap();
/// assert_eq!(s.name(), "base");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Base;

/// `distance[i * C + c]`: row `i`'s distance to the boundary between its predicted class and `c`
/// (its nearest boundary for its own class), from the model's log-probabilities `lp` (logit
/// differences are log-probability differences) and its weights.
pub(crate) fn boundary_distances(model: &LogReg, lp: &Matrix) -> Vec<f64> {
    let n = lp.rows();
    let c = lp.cols();
    let present = model.present_classes();
    let dim = model.weights().len() / present.len().max(1);
    // slot[k]: row of class k in the model's weights, if fitted.
    let mut slot = vec![None; c];
    let mut wnorm = vec![f64::INFINITY; c * c];
    if let Some(unit_class) = model.unit_classes() {
        for (s, &u) in present.iter().enumerate() {
            slot[unit_class[u]] = Some(s);
        }
        wnorm.fill(1.0);
    } else {
        for (s, &k) in present.iter().enumerate() {
            slot[k] = Some(s);
        }
    }
    // |w_a - w_b| for every pair of fitted classes: C x C, independent of the pool size.
    let w = model.weights();
    for a in (0..c).filter(|_| model.unit_classes().is_none()) {
        for b in 0..c {
            if let (Some(sa), Some(sb)) = (slot[a], slot[b]) {
                if a != b {
                    let wa = &w[sa * dim..(sa + 1) * dim];
                    let wb = &w[sb * dim..(sb + 1) * dim];
                    let d2: f64 = wa.iter().zip(wb).map(|(x, y)| (x - y) * (x - y)).sum();
                    wnorm[a * c + b] = d2.sqrt();
                }
            }
        }
    }
    let mut dist = vec![f64::INFINITY; n * c];
    for i in 0..n {
        let row = lp.row(i);
        let p = lp.argmax_row(i);
        let out = &mut dist[i * c..(i + 1) * c];
        let mut nearest = f64::INFINITY;
        for k in 0..c {
            if k == p || slot[k].is_none() || slot[p].is_none() {
                continue;
            }
            // A zero |w_p - w_k| gives NaN in the reference, which it maps to infinity.
            let r = ((row[p] as f64 - row[k] as f64) / wnorm[p * c + k]).abs();
            out[k] = if r.is_nan() { f64::INFINITY } else { r };
            nearest = nearest.min(out[k]);
        }
        for (k, o) in out.iter_mut().enumerate() {
            if k == p || slot[k].is_none() {
                *o = nearest;
            }
        }
    }
    dist
}

/// BASE's batch from `distance` (N x C, see [`boundary_distances`]).
pub(crate) fn base_select(
    distance: &[f64],
    c: usize,
    is_labeled: &[bool],
    batch: usize,
) -> Vec<usize> {
    let n = is_labeled.len();
    let mut taken = is_labeled.to_vec();
    let mut out = Vec::with_capacity(batch);
    for k in 0..c {
        let quota = batch / c + usize::from(k < batch % c);
        if quota == 0 {
            continue;
        }
        let mut idx: Vec<usize> = (0..n).filter(|&i| !taken[i]).collect();
        // Ascending distance, ties to the lower index (torch's argsort leaves ties unspecified).
        idx.sort_by(|&a, &b| {
            distance[a * c + k]
                .total_cmp(&distance[b * c + k])
                .then(a.cmp(&b))
        });
        for &i in idx.iter().take(quota) {
            taken[i] = true;
            out.push(i);
        }
    }
    out
}

impl Strategy for Base {
    fn name(&self) -> &str {
        "base"
    }

    fn select(&mut self, ctx: &mut SelectContext<'_>) -> Result<Vec<usize>> {
        let lp = ctx.require_model(self.name())?;
        let model = ctx.model.ok_or_else(|| SimError::Selection {
            strategy: "base".into(),
            round: ctx.round,
            reason: "needs the deployed model's weights".into(),
        })?;
        let dist = boundary_distances(model, lp);
        Ok(base_select(&dist, ctx.n_classes, ctx.is_labeled, ctx.batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_and_nearest_rows_hand_worked() {
        // 5 rows, 2 classes, batch 3: class 0 takes 2 (3/2 + [0 < 1]), class 1 takes 1.
        // distance column 0: 0.5, 0.1, 0.3, 0.9, 0.2 -> rows 1, 4 (row 1 labeled? no)
        // distance column 1: 0.0 (row 1, taken by class 0), then row 3 at 0.05.
        let d = vec![0.5, 0.7, 0.1, 0.0, 0.3, 0.6, 0.9, 0.05, 0.2, 0.4];
        let got = base_select(&d, 2, &[false; 5], 3);
        assert_eq!(got, vec![1, 4, 3]);
        // Row 1 labeled before: class 0 takes rows 4 and 2.
        let got = base_select(&d, 2, &[false, true, false, false, false], 3);
        assert_eq!(got, vec![4, 2, 3]);
    }
}
