//! The Rust-API (coselect-cpu) column of docs/errors.md: one test per row of
//! the bad-input matrix, asserting the message the doc quotes (the `Display`
//! of `coselect_cpu::Error`, which the CLI prints after "error: ").

use coselect_core::Config;
use coselect_cpu::npy::{write, NpyFile};
use coselect_cpu::{
    run_round, Calibration, Error, Labels, Matrix, Parallelism, PartialRound, Pool, RoundPlan,
    MAX_BUDGET, MAX_CLASSES,
};

const ROWS: usize = 6;
const C: usize = 3;

fn fm() -> Vec<f32> {
    (0..ROWS * C).map(|i| ((i * 7) % 5) as f32 - 2.0).collect()
}

fn sm() -> Vec<f32> {
    let h = (1.0f32 / 3.0).ln();
    vec![h; ROWS * C]
}

fn round(fm: &[f32], sm: Option<&[f32]>, labels: Option<Labels>, k: u32) -> Result<(), Error> {
    let pool = Pool::new(
        Matrix::f32("fm", fm, fm.len() / C, C)?,
        sm.map(|s| Matrix::f32("sm", s, s.len() / C, C))
            .transpose()?,
        labels,
    )?;
    let mut cfg = Config::new(C as u32, 1).unwrap();
    cfg.k = k;
    run_round(&pool, &cfg, Parallelism::default()).map(|_| ())
}

fn message(r: Result<(), Error>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn nan() {
    let mut v = fm();
    v[4 * C + 2] = f32::NAN;
    assert_eq!(message(round(&v, None, None, 2)), "fm: NaN at row 4, col 2");
}

#[test]
fn inf() {
    let mut v = sm();
    v[C + 1] = f32::NEG_INFINITY;
    assert_eq!(
        message(round(&fm(), Some(&v), None, 2)),
        "sm: -inf at row 1, col 1"
    );
}

#[test]
fn negative() {
    // A negative label other than -1 (unlabeled).
    let labels = Labels::new("labels", [-1, -1, -2, -1, -1, -1], C as u32);
    assert_eq!(
        labels.unwrap_err().to_string(),
        "labels: label -2 at row 2 is out of range for 3 classes (use -1 for unlabeled)"
    );
}

#[test]
fn unnormalised() {
    let mut v = sm();
    v[3 * C] = 0.0;
    let m = message(round(&fm(), Some(&v), None, 2));
    assert!(
        m.starts_with("sm: row 3 is not log-probabilities (exp sums to 1.6"),
        "{m}"
    );
}

#[test]
fn wrong_shape() {
    let s = sm();
    assert_eq!(
        message(round(&fm(), Some(&s[..(ROWS - 1) * C]), None, 2)),
        "sm has shape 5x3, fm 6x3"
    );
    let v = fm();
    assert_eq!(
        Matrix::f32("fm", &v[..17], ROWS, C)
            .unwrap_err()
            .to_string(),
        "fm: buffer of 17 values does not hold 6x3"
    );
}

#[test]
fn wrong_stride() {
    let v = fm();
    // A stride shorter than a row, and rows that run past the buffer.
    for (rows, stride) in [(6, 2), (5, 4)] {
        assert_eq!(
            Matrix::f32_strided("fm", &v, rows, C, stride)
                .unwrap_err()
                .to_string(),
            format!("fm: buffer of 18 values does not hold {rows}x3")
        );
    }
    assert!(Matrix::f32_strided("fm", &v, 4, C, 5).is_ok());
}

#[test]
fn k_zero() {
    assert_eq!(
        message(round(&fm(), None, None, 0)),
        "config: budget k must be at least 1"
    );
}

#[test]
fn k_above_pool() {
    assert_eq!(
        message(round(&fm(), None, None, 7)),
        "selection: budget k = 7 exceeds the pool of 6 rows"
    );
}

/// A budget past the host's largest is refused by both entry points, a
/// round and a sharded state, before any list is made.
#[test]
fn k_above_the_host_limit() {
    let k = MAX_BUDGET + 1;
    let fm: Vec<f32> = (0..k * C).map(|i| ((i * 7) % 5) as f32 - 2.0).collect();
    let want = format!("the budget k is {k}, this host supports at most {MAX_BUDGET}");
    assert_eq!(message(round(&fm, None, None, k as u32)), want);
    let cal = Calibration {
        temperature: 1.0,
        fusion: None,
    };
    let cfg = Config::new(C as u32, k as u32).unwrap();
    let plan = RoundPlan::new(&cfg, &[0; C], cal, Some(&[(1.0f32 / 3.0).ln(); C])).unwrap();
    assert_eq!(PartialRound::new(&plan).err().unwrap().to_string(), want);
}

#[test]
fn empty_pool() {
    assert_eq!(message(round(&[], None, None, 1)), "selection: empty pool");
    // Every row labeled leaves nothing to select either.
    let labels = Labels::new("labels", [0, 1, 2, 0, 1, 2], C as u32).unwrap();
    assert_eq!(
        message(round(&fm(), Some(&sm()), Some(labels), 1)),
        "selection: empty pool"
    );
}

#[test]
fn too_many_classes() {
    let cols = MAX_CLASSES + 1;
    let v = vec![0.0f32; cols];
    let m = Pool::new(Matrix::f32("fm", &v, 1, cols).unwrap(), None, None).unwrap_err();
    assert_eq!(
        m.to_string(),
        format!(
            "the number of classes (columns) is {cols}, this host supports at most {MAX_CLASSES}"
        )
    );
    let v = [0.0f32; 4];
    let m = Pool::new(Matrix::f32("fm", &v, 4, 1).unwrap(), None, None).unwrap_err();
    assert_eq!(
        m.to_string(),
        "pool: invalid class count 1 (need at least 2, within capacity)"
    );
}

#[test]
fn labels_out_of_range() {
    let labels = Labels::new("labels", [-1, 3, -1, -1, -1, -1], C as u32);
    assert_eq!(
        labels.unwrap_err().to_string(),
        "labels: label 3 at row 1 is out of range for 3 classes (use -1 for unlabeled)"
    );
}

fn npy_bytes(descr: &str, shape: &[usize], data: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.npy");
    write(&path, descr, shape, data).unwrap();
    (dir, path)
}

#[test]
fn truncated_file() {
    let data: Vec<u8> = fm().iter().flat_map(|x| x.to_le_bytes()).collect();
    let (_dir, path) = npy_bytes("<f4", &[ROWS, C], &data);
    let full = std::fs::read(&path).unwrap();
    std::fs::write(&path, &full[..full.len() - 3]).unwrap();
    let e = NpyFile::open(&path).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}: truncated: the header promises 72 bytes of data, the file has 69",
            path.display()
        )
    );
    // Cut inside the header.
    std::fs::write(&path, &full[..20]).unwrap();
    let e = NpyFile::open(&path).unwrap_err().to_string();
    assert!(
        e.ends_with("malformed header: file ends inside the header"),
        "{e}"
    );
}

#[test]
fn wrong_dtype() {
    let data: Vec<u8> = (0..ROWS * C)
        .flat_map(|i| (i as f64).to_le_bytes())
        .collect();
    let (_dir, path) = npy_bytes("<f8", &[ROWS, C], &data);
    let e = NpyFile::open(&path).unwrap_err().to_string();
    assert!(
        e.ends_with("unsupported dtype '<f8': float64; convert with .astype(np.float32)"),
        "{e}"
    );
    // Integers where scores belong.
    let data: Vec<u8> = (0..(ROWS * C) as i64)
        .flat_map(|i| i.to_le_bytes())
        .collect();
    let (_dir, path) = npy_bytes("<i8", &[ROWS, C], &data);
    let e = NpyFile::open(&path)
        .unwrap()
        .matrix()
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with(
            "unsupported dtype 'i64': score matrices must be float32 (<f4) or float16 (<f2)"
        ),
        "{e}"
    );
}
