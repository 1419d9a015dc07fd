//! Core-set, greedy k-center (Sener & Savarese 2018), following LabelBench
//! `LabelBench/strategy/strategy_impl/coreset_sampling.py` (`furthest_first`).
//!
//! Every unlabeled row starts at its distance to the nearest labeled row (infinity when nothing is
//! labeled); the batch is built by taking the row farthest from every center so far (the first
//! such row on ties, as numpy's `argmax`) and making it a center. Distances are Euclidean on the
//! pool embeddings; squared distances are compared, which gives the same order.
//!
//! The labeled-to-unlabeled minimum is computed in blocks of rows with one `sgemm` per block
//! (`|x|^2 + |y|^2 - 2 x.y`), so memory stays linear in the pool; the blocks run in parallel and
//! each row's value does not depend on the thread count.

use rayon::prelude::*;

use super::{SelectContext, Strategy};
use crate::error::Result;
use crate::matrix::Matrix;

/// Greedy k-center on the embeddings, from the labeled rows as centers.
///
/// ```
/// let s = coselect_sim::strategy::build("coreset", &Default::default()).unwrap();
/// assert_eq!(s.name(), "coreset");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Coreset;

/// Rows per block of the labeled-distance pass.
const BLOCK: usize = 1024;

fn sq_norm(v: &[f32]) -> f64 {
    v.iter().map(|&a| a as f64 * a as f64).sum()
}

/// Squared Euclidean distance, accumulated in f64.
pub(crate) fn sq_dist(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = x as f64 - y as f64;
            d * d
        })
        .sum()
}

/// For each row in `rows`, the squared distance to its nearest row in `centers` (infinity when
/// `centers` is empty).
pub(crate) fn min_sq_dist(x: &Matrix, rows: &[usize], centers: &[usize]) -> Vec<f64> {
    if centers.is_empty() {
        return vec![f64::INFINITY; rows.len()];
    }
    let d = x.cols();
    let cm = x.select_rows(centers);
    let cn: Vec<f64> = (0..centers.len()).map(|j| sq_norm(cm.row(j))).collect();
    rows.par_chunks(BLOCK)
        .flat_map_iter(|chunk| {
            let xm = x.select_rows(chunk);
            let (m, k) = (chunk.len(), centers.len());
            let mut g = vec![0.0f32; m * k];
            // SAFETY: xm is m x d, cm is k x d (read transposed), g is m x k, all row-major.
            unsafe {
                matrixmultiply::sgemm(
                    m,
                    d,
                    k,
                    1.0,
                    xm.data().as_ptr(),
                    d as isize,
                    1,
                    cm.data().as_ptr(),
                    1,
                    d as isize,
                    0.0,
                    g.as_mut_ptr(),
                    k as isize,
                    1,
                );
            }
            (0..m)
                .map(|r| {
                    let xn = sq_norm(xm.row(r));
                    let gr = &g[r * k..(r + 1) * k];
                    let best = (0..k)
                        .map(|j| xn + cn[j] - 2.0 * gr[j] as f64)
                        .fold(f64::INFINITY, f64::min);
                    // Cancellation can leave a tiny negative for a duplicate of a center.
                    best.max(0.0)
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `k` rows of `rows` by farthest-first traversal from `centers`.
pub(crate) fn furthest_first(
    x: &Matrix,
    rows: &[usize],
    centers: &[usize],
    k: usize,
) -> Vec<usize> {
    let mut min_d = min_sq_dist(x, rows, centers);
    let mut out = Vec::with_capacity(k);
    for _ in 0..k.min(rows.len()) {
        // First maximum, as numpy's argmax (chosen rows sit at distance 0 after their update).
        let mut best = 0;
        for (j, &v) in min_d.iter().enumerate() {
            if v > min_d[best] {
                best = j;
            }
        }
        out.push(rows[best]);
        let c = x.row(rows[best]);
        min_d
            .par_iter_mut()
            .zip(rows.par_iter())
            .for_each(|(m, &i)| *m = m.min(sq_dist(x.row(i), c)));
    }
    out
}

impl Strategy for Coreset {
    fn name(&self) -> &str {
        "coreset"
    }

    fn select(&mut self, ctx: &mut SelectContext<'_>) -> Result<Vec<usize>> {
        let rows = ctx.unlabeled();
        Ok(furthest_first(ctx.pool_x, &rows, ctx.labeled, ctx.batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn farthest_first_hand_worked() {
        // Points on a line: 0, 1, 2, 10, 11; center at 0.
        let x = Matrix::new(5, 1, vec![0.0, 1.0, 2.0, 10.0, 11.0]);
        // Farthest from {0}: 11 (row 4); then nearest-center distances 1, 2, 1 -> row 2.
        assert_eq!(furthest_first(&x, &[1, 2, 3, 4], &[0], 2), vec![4, 2]);
        // No centers: every distance is infinite, the first row wins.
        assert_eq!(furthest_first(&x, &[1, 2, 3, 4], &[], 2), vec![1, 4]);
        let d = min_sq_dist(&x, &[1, 3], &[0, 4]);
        assert!((d[0] - 1.0).abs() < 1e-9 && (d[1] - 1.0).abs() < 1e-9);
    }
}
