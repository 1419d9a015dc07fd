//! The FM prior as a prior on the small model's weights.
//!
//! A zero-shot FM score of a text or image is, for CLIP-style models, a scaled cosine between the
//! sample's embedding and a class prompt's embedding: a linear function of the (normalised)
//! embedding the small model reads. So the FM's zero-shot classifier is itself a point in the
//! small model's hypothesis space, and "the small model should agree with the FM until the
//! labels say otherwise" can be written as a Gaussian prior centred on it: the penalty
//! `0.5 |W|^2` of the logistic regression becomes `0.5 |W - W0|^2`.
//!
//! [`Readout::fit`] finds that point for any FM, linear or not: the least-squares linear map from
//! the embeddings to the FM's row-centred log-probabilities (a softmax ignores a per-row shift,
//! so centring removes the part no linear map needs to fit). For a cosine FM the fit is exact up
//! to the rounding of the stored embeddings; for a merged class (the log of a sum of members'
//! probabilities) it is the best linear approximation.

use crate::matrix::Matrix;

/// A linear map from embeddings to class logits: `z_c = w[c] . x + b[c]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Readout {
    /// `classes x dim`, row-major.
    pub w: Vec<f64>,
    /// One bias per class.
    pub b: Vec<f64>,
    /// Embedding dimension.
    pub dim: usize,
}

impl Readout {
    /// Least squares of the row-centred `log_probs` (N x C) on `[x, 1]` (N x D), with a small
    /// ridge `ridge * trace(X^T X) / D` on the weights so that a rank-deficient embedding matrix
    /// still has one solution.
    ///
    /// ```
    /// use coselect_sim::{Matrix, Readout};
    /// // Logits that are an exact linear function of a 2-d embedding.
    /// let x = Matrix::new(4, 2, vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0, -1.0, 0.5]);
    /// let lp: Vec<f32> = (0..4)
    ///     .flat_map(|i| {
    ///         let r = x.row(i);
    ///         [2.0 * r[0] - r[1], -2.0 * r[0] + r[1]]
    ///     })
    ///     .collect();
    /// let r = Readout::fit(&x, &Matrix::new(4, 2, lp.clone()), 1e-9);
    /// let z = r.logits(x.row(3));
    /// assert!(((z[0] - z[1]) - (lp[6] - lp[7]) as f64).abs() < 1e-6);
    /// ```
    pub fn fit(x: &Matrix, log_probs: &Matrix, ridge: f64) -> Readout {
        assert_eq!(x.rows(), log_probs.rows(), "one FM row per embedding row");
        let (n, d, c) = (x.rows(), x.cols(), log_probs.cols());
        let e = d + 1;
        // Normal equations on [x, 1]: A = [x 1]^T [x 1] (e x e), B = [x 1]^T Zc (e x c).
        let mut xa = Vec::with_capacity(n * e);
        for i in 0..n {
            xa.extend(x.row(i).iter().map(|&v| v as f64));
            xa.push(1.0);
        }
        let mut zc = Vec::with_capacity(n * c);
        for i in 0..n {
            let row = log_probs.row(i);
            let mean = row.iter().map(|&v| v as f64).sum::<f64>() / c as f64;
            zc.extend(row.iter().map(|&v| v as f64 - mean));
        }
        let mut a = vec![0.0f64; e * e];
        let mut bm = vec![0.0f64; e * c];
        // SAFETY: xa is n x e row-major, read transposed as e x n; zc is n x c; a is e x e, bm e x c.
        unsafe {
            matrixmultiply::dgemm(
                e,
                n,
                e,
                1.0,
                xa.as_ptr(),
                1,
                e as isize,
                xa.as_ptr(),
                e as isize,
                1,
                0.0,
                a.as_mut_ptr(),
                e as isize,
                1,
            );
            matrixmultiply::dgemm(
                e,
                n,
                c,
                1.0,
                xa.as_ptr(),
                1,
                e as isize,
                zc.as_ptr(),
                c as isize,
                1,
                0.0,
                bm.as_mut_ptr(),
                c as isize,
                1,
            );
        }
        let trace: f64 = (0..d).map(|j| a[j * e + j]).sum();
        let lambda = ridge * (trace / d.max(1) as f64).max(f64::MIN_POSITIVE);
        for j in 0..d {
            a[j * e + j] += lambda;
        }
        // The intercept's diagonal is n > 0; a tiny term keeps an empty pool solvable too.
        a[d * e + d] += lambda.max(1e-12);
        let sol = cholesky_solve(&mut a, e, &bm, c);
        let mut w = vec![0.0f64; c * d];
        let mut b = vec![0.0f64; c];
        for k in 0..c {
            for j in 0..d {
                w[k * d + j] = sol[j * c + k];
            }
            b[k] = sol[d * c + k];
        }
        Readout { w, b, dim: d }
    }

    /// The same map with every weight and bias multiplied by `a` (an FM temperature).
    pub fn scaled(&self, a: f64) -> Readout {
        Readout {
            w: self.w.iter().map(|v| v * a).collect(),
            b: self.b.iter().map(|v| v * a).collect(),
            dim: self.dim,
        }
    }

    /// Logits of one embedding row.
    pub fn logits(&self, x: &[f32]) -> Vec<f64> {
        let d = self.dim;
        self.b
            .iter()
            .enumerate()
            .map(|(k, &bk)| {
                bk + self.w[k * d..(k + 1) * d]
                    .iter()
                    .zip(x)
                    .map(|(&w, &v)| w * v as f64)
                    .sum::<f64>()
            })
            .collect()
    }
}

/// Solves `A X = B` for a symmetric positive definite `A` (n x n, overwritten by its Cholesky
/// factor) and `B` (n x m); returns X (n x m, row-major).
fn cholesky_solve(a: &mut [f64], n: usize, b: &[f64], m: usize) -> Vec<f64> {
    for j in 0..n {
        let mut s = a[j * n + j];
        for k in 0..j {
            s -= a[j * n + k] * a[j * n + k];
        }
        let ljj = s.max(f64::MIN_POSITIVE).sqrt();
        a[j * n + j] = ljj;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / ljj;
        }
    }
    let mut x = b.to_vec();
    for col in 0..m {
        for i in 0..n {
            let mut s = x[i * m + col];
            for k in 0..i {
                s -= a[i * n + k] * x[k * m + col];
            }
            x[i * m + col] = s / a[i * n + i];
        }
        for i in (0..n).rev() {
            let mut s = x[i * m + col];
            for k in i + 1..n {
                s -= a[k * n + i] * x[k * m + col];
            }
            x[i * m + col] = s / a[i * n + i];
        }
    }
    x
}
