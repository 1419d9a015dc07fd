//! Synthetic dataset folders for tests, examples and smoke runs where no real data is at hand.

use std::path::Path;

use npyz::WriterBuilder;
use rand::Rng;

use crate::error::{Result, SimError};
use crate::matrix::Matrix;
use crate::seed::rng_for;

fn out_err(path: &Path, e: impl std::fmt::Display) -> SimError {
    SimError::Output {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Writes a 2-D `f32` array to `path`.
pub fn write_matrix_npy(path: &Path, m: &Matrix) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|e| out_err(path, e))?;
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&[m.rows() as u64, m.cols() as u64])
        .writer(std::io::BufWriter::new(file))
        .begin_nd()
        .map_err(|e| out_err(path, e))?;
    w.extend(m.data().iter().copied())
        .map_err(|e| out_err(path, e))?;
    w.finish().map_err(|e| out_err(path, e))
}

/// Writes a 1-D `i64` array to `path`.
pub fn write_i64_npy(path: &Path, v: &[i64]) -> Result<()> {
    npyz::to_file_1d(path, v.iter().copied()).map_err(|e| out_err(path, e))
}

/// Writes a complete dataset folder (`embeddings.npy`, `fm_scores.npy`, `labels.npy`, `meta.json`).
pub fn write_dataset(
    dir: &Path,
    embeddings: &Matrix,
    fm_scores: &Matrix,
    labels: &[i64],
    meta: &serde_json::Value,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| out_err(dir, e))?;
    write_matrix_npy(&dir.join("embeddings.npy"), embeddings)?;
    write_matrix_npy(&dir.join("fm_scores.npy"), fm_scores)?;
    write_i64_npy(&dir.join("labels.npy"), labels)?;
    let meta_path = dir.join("meta.json");
    std::fs::write(
        &meta_path,
        serde_json::to_string_pretty(meta).unwrap_or_default(),
    )
    .map_err(|e| out_err(&meta_path, e))
}

/// A standard normal draw (Box-Muller), so that the data does not depend on a distribution crate.
fn normal(rng: &mut impl Rng) -> f32 {
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random::<f64>();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

/// Gaussian blobs: `n` rows of dimension `dim` in `classes` equal-sized classes, with FM scores
/// that are a noisy version of the distance to each class centre (a useful but imperfect prior).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (x, fm, y) = coselect_sim::synthetic::blobs(30, 4, 3, 1);
/// assert_eq!((x.rows(), fm.cols(), y.len()), (30, 3, 30));
/// # Ok(()) }
/// ```
pub fn blobs(n: usize, dim: usize, classes: usize, seed: u64) -> (Matrix, Matrix, Vec<i64>) {
    let mut rng = rng_for(seed, "synthetic-blobs", 0);
    let centres: Vec<f32> = (0..classes * dim).map(|_| 1.5 * normal(&mut rng)).collect();
    let mut x = Matrix::zeros(n, dim);
    let mut fm = Matrix::zeros(n, classes);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % classes;
        y.push(c as i64);
        for j in 0..dim {
            x.row_mut(i)[j] = centres[c * dim + j] + normal(&mut rng);
        }
        for k in 0..classes {
            let d2: f32 = (0..dim)
                .map(|j| (x.row(i)[j] - centres[k * dim + j]).powi(2))
                .sum();
            fm.row_mut(i)[k] = -0.5 * d2 / dim as f32 + 0.7 * normal(&mut rng);
        }
    }
    (x, fm, y)
}

/// Writes [`blobs`] as a dataset folder at `dir`.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// coselect_sim::synthetic::write_blobs(dir.path(), 40, 5, 4, 3)?;
/// assert!(dir.path().join("labels.npy").exists());
/// # Ok(()) }
/// ```
pub fn write_blobs(dir: &Path, n: usize, dim: usize, classes: usize, seed: u64) -> Result<()> {
    let (x, fm, y) = blobs(n, dim, classes, seed);
    let names: Vec<String> = (0..classes).map(|c| format!("blob{c}")).collect();
    let meta = serde_json::json!({
        "class_names": names,
        "source": "coselect_sim::synthetic::blobs",
        "fm": "negative scaled squared distance to class centres plus Gaussian noise",
        "seed": seed,
    });
    write_dataset(dir, &x, &fm, &y, &meta)
}
