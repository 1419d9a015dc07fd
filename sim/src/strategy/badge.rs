//! BADGE (Ash et al. 2020), following LabelBench `LabelBench/strategy/strategy_impl/badge.py`.
//!
//! A row's gradient embedding is `g = a (x) z` with `a = onehot(argmax p) - p` (the deployed
//! model's probabilities) and `z` its embedding: the gradient of the cross-entropy at the
//! predicted label with respect to the last layer's weights. LabelBench takes `z` = the trainer's
//! embedding without a bias column, and so does this file (for our linear model the embedding
//! is the layer's input). The batch is k-means++ seeding over the unlabeled rows: the first center
//! is the row of largest `|g|^2 = |a|^2 |z|^2`, each next one is drawn with probability
//! proportional to its squared distance to the nearest center so far.
//!
//! The outer product is never formed: `|g_i - g_j|^2 = |a_i|^2 |z_i|^2 + |a_j|^2 |z_j|^2
//! - 2 (a_i . a_j)(z_i . z_j)`, so each new center costs one pass of `N x (C + D)`.

use rand::Rng;
use rayon::prelude::*;

use super::{SelectContext, Strategy};
use crate::error::Result;
use crate::matrix::Matrix;

/// Gradient-embedding k-means++ seeding on the deployed small model.
///
/// ```
/// let s = coselect_sim::strategy::build("badge", &Default::default()).unwrap();
/// assert_eq!(s.name(), "badge");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Badge;

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

/// `a = onehot(argmax p) - p` for each row of `lp` in `rows` (rows x C).
pub(crate) fn gradient_factors(lp: &Matrix, rows: &[usize]) -> Matrix {
    let c = lp.cols();
    let mut a = Matrix::zeros(rows.len(), c);
    for (r, &i) in rows.iter().enumerate() {
        let top = lp.argmax_row(i);
        for (k, (o, &v)) in a.row_mut(r).iter_mut().zip(lp.row(i)).enumerate() {
            *o = f32::from(k == top) - v.exp();
        }
    }
    a
}

/// k-means++ seeding of `k` rows (indices into `a` / `rows`) over gradient embeddings `a (x) z`,
/// where `z` is row `rows[r]` of `x`.
pub(crate) fn kmeanspp(
    a: &Matrix,
    x: &Matrix,
    rows: &[usize],
    k: usize,
    rng: &mut impl Rng,
) -> Vec<usize> {
    let n = rows.len();
    if n == 0 || k == 0 {
        return Vec::new();
    }
    let an: Vec<f64> = (0..n).map(|r| dot(a.row(r), a.row(r))).collect();
    let zn: Vec<f64> = rows.iter().map(|&i| dot(x.row(i), x.row(i))).collect();
    let mut first = 0;
    for r in 1..n {
        if an[r] * zn[r] > an[first] * zn[first] {
            first = r;
        }
    }
    let mut chosen = vec![first];
    let mut is_chosen = vec![false; n];
    is_chosen[first] = true;
    // Squared distance of every row to its nearest center.
    let mut d2 = vec![f64::INFINITY; n];
    while chosen.len() < k.min(n) {
        let j = *chosen.last().expect("one center at least");
        let (aj, zj) = (a.row(j), x.row(rows[j]));
        let self_j = an[j] * zn[j];
        d2.par_iter_mut().enumerate().for_each(|(r, d)| {
            let g = an[r] * zn[r] + self_j - 2.0 * dot(a.row(r), aj) * dot(x.row(rows[r]), zj);
            *d = d.min(g.max(0.0));
        });
        // LabelBench draws with probability D^2 / sum D^2 where D is the distance: d2 here.
        let total: f64 = (0..n).filter(|&r| !is_chosen[r]).map(|r| d2[r]).sum();
        let next = if total > 0.0 {
            let u = rng.random::<f64>() * total;
            let mut acc = 0.0;
            let mut pick = None;
            let mut last = None;
            for r in (0..n).filter(|&r| !is_chosen[r] && d2[r] > 0.0) {
                acc += d2[r];
                last = Some(r);
                if u < acc {
                    pick = Some(r);
                    break;
                }
            }
            pick.or(last).expect("a positive weight exists")
        } else {
            // Every remaining row duplicates a center (scipy would refuse): take the first.
            (0..n)
                .find(|&r| !is_chosen[r])
                .expect("fewer centers than rows")
        };
        is_chosen[next] = true;
        chosen.push(next);
    }
    chosen
}

impl Strategy for Badge {
    fn name(&self) -> &str {
        "badge"
    }

    fn select(&mut self, ctx: &mut SelectContext<'_>) -> Result<Vec<usize>> {
        let lp = ctx.require_model(self.name())?;
        let rows = ctx.unlabeled();
        let a = gradient_factors(lp, &rows);
        let picked = kmeanspp(&a, ctx.pool_x, &rows, ctx.batch, ctx.rng);
        Ok(picked.into_iter().map(|r| rows[r]).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn distance_identity_matches_outer_product() {
        // a_1 = (0.5, -0.5), z_1 = (1, 2); a_2 = (-0.2, 0.2), z_2 = (3, 0).
        // g_1 = (0.5, 1, -0.5, -1), g_2 = (-0.6, 0, 0.6, 0): |g_1 - g_2|^2 = 1.21+1+1.21+1 = 4.42.
        // Identity: 0.5*5 + 0.08*9 - 2*(-0.2)*(3) = 2.5 + 0.72 + 1.2 = 4.42.
        let a = Matrix::new(2, 2, vec![0.5, -0.5, -0.2, 0.2]);
        let x = Matrix::new(2, 2, vec![1.0, 2.0, 3.0, 0.0]);
        let an = [dot(a.row(0), a.row(0)), dot(a.row(1), a.row(1))];
        let zn = [dot(x.row(0), x.row(0)), dot(x.row(1), x.row(1))];
        let g =
            an[0] * zn[0] + an[1] * zn[1] - 2.0 * dot(a.row(0), a.row(1)) * dot(x.row(0), x.row(1));
        assert!((g - 4.42).abs() < 1e-6);
    }

    #[test]
    fn first_center_is_largest_gradient_and_duplicates_are_never_drawn() {
        let a = Matrix::new(4, 2, vec![0.1, -0.1, 0.4, -0.4, 0.1, -0.1, 0.4, -0.4]);
        // Rows 1 and 3 are identical: once row 1 is a center, row 3 has distance 0.
        let x = Matrix::new(4, 1, vec![1.0, 2.0, -1.0, 2.0]);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let got = kmeanspp(&a, &x, &[0, 1, 2, 3], 3, &mut rng);
        assert_eq!(got[0], 1);
        assert!(!got.contains(&3), "{got:?}");
    }
}
