//! Dataset folders: good ones load, bad ones fail with a clear error before any work.

use coselect_sim::synthetic::{write_dataset, write_i64_npy, write_matrix_npy};
use coselect_sim::{
    run_experiment, synthetic, Dataset, ExperimentConfig, Imbalance, Matrix, Setting, SimError,
};
use npyz::WriterBuilder;

fn good(dir: &std::path::Path) {
    synthetic::write_blobs(dir, 120, 5, 4, 1).unwrap();
}

fn err_text(dir: &std::path::Path) -> String {
    Dataset::load(dir).unwrap_err().to_string()
}

#[test]
fn mismatched_row_counts_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    good(dir.path());
    write_i64_npy(&dir.path().join("labels.npy"), &[0; 100]).unwrap();
    let e = err_text(dir.path());
    assert!(
        e.contains("labels.npy has 100 rows, embeddings.npy has 120"),
        "{e}"
    );
}

#[test]
fn labels_out_of_range_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    good(dir.path());
    let mut y = vec![0i64; 120];
    y[7] = 4;
    write_i64_npy(&dir.path().join("labels.npy"), &y).unwrap();
    let e = err_text(dir.path());
    assert!(e.contains("row 7 is 4, outside 0..4"), "{e}");
    y[7] = -1;
    write_i64_npy(&dir.path().join("labels.npy"), &y).unwrap();
    assert!(err_text(dir.path()).contains("row 7 is -1"));
}

#[test]
fn nan_inputs_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (mut x, fm, y) = synthetic::blobs(30, 3, 3, 1);
    x.row_mut(4)[1] = f32::NAN;
    write_dataset(dir.path(), &x, &fm, &y, &serde_json::json!({})).unwrap();
    assert!(err_text(dir.path()).contains("non-finite value at row 4"));
    let (x, mut fm, y) = synthetic::blobs(30, 3, 3, 1);
    fm.row_mut(9)[0] = f32::NAN;
    write_dataset(dir.path(), &x, &fm, &y, &serde_json::json!({})).unwrap();
    assert!(err_text(dir.path()).contains("NaN or +inf at row 9"));
}

#[test]
fn truncated_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    good(dir.path());
    let p = dir.path().join("embeddings.npy");
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() - 17]).unwrap();
    let e = err_text(dir.path());
    assert!(
        e.contains("embeddings.npy") && e.contains("truncated"),
        "{e}"
    );
    std::fs::write(&p, &bytes[..20]).unwrap();
    assert!(err_text(dir.path()).contains("embeddings.npy"));
}

#[test]
fn missing_files_and_bad_meta_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    good(dir.path());
    std::fs::write(dir.path().join("meta.json"), "{ not json").unwrap();
    assert!(err_text(dir.path()).contains("meta.json"));
    std::fs::remove_file(dir.path().join("fm_scores.npy")).unwrap();
    assert!(matches!(
        Dataset::load(dir.path()),
        Err(SimError::Io { .. })
    ));
}

#[test]
fn float16_embeddings_and_split_file_load() {
    let dir = tempfile::tempdir().unwrap();
    good(dir.path());
    let (x, _, _) = synthetic::blobs(120, 5, 4, 1);
    let file = std::fs::File::create(dir.path().join("embeddings.npy")).unwrap();
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&[120, 5])
        .writer(file)
        .begin_nd()
        .unwrap();
    w.extend(x.data().iter().map(|&v| half::f16::from_f32(v)))
        .unwrap();
    w.finish().unwrap();
    let split: Vec<i64> = (0..120).map(|i| i64::from(i % 4 == 0)).collect();
    write_i64_npy(&dir.path().join("split.npy"), &split).unwrap();
    let ds = Dataset::load(dir.path()).unwrap();
    assert!((ds.embeddings.row(3)[2] - x.row(3)[2]).abs() < 1e-2);
    assert_eq!(
        ds.test_mask
            .as_ref()
            .unwrap()
            .iter()
            .filter(|&&t| t)
            .count(),
        30
    );
    assert_eq!(ds.class_names[0], "blob0");
}

#[test]
fn budget_and_merge_errors_come_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    good(dir.path());
    let ds = Dataset::load(dir.path()).unwrap();
    let too_big = ExperimentConfig::new(vec![Setting::new(Imbalance::Merge { k: 3 }, 0.1, 50, 3)]);
    let e = run_experiment(&ds, &too_big).unwrap_err().to_string();
    assert!(
        e.contains("budget 150") && e.contains("larger than the pool (96 rows"),
        "{e}"
    );
    let bad_k = ExperimentConfig::new(vec![Setting::new(Imbalance::Merge { k: 9 }, 0.1, 5, 3)]);
    let e = run_experiment(&ds, &bad_k).unwrap_err().to_string();
    assert!(e.contains("merge K = 9") && e.contains("4 classes"), "{e}");
    let mut unknown =
        ExperimentConfig::new(vec![Setting::new(Imbalance::Merge { k: 3 }, 0.1, 5, 3)]);
    unknown.strategies = vec!["nope".into()];
    assert!(matches!(
        run_experiment(&ds, &unknown),
        Err(SimError::UnknownStrategy { .. })
    ));
    let lt = ExperimentConfig::new(vec![Setting::new(
        Imbalance::LongTail { rho: 100.0 },
        0.0,
        20,
        4,
    )]);
    let e = run_experiment(&ds, &lt).unwrap_err().to_string();
    assert!(e.contains("after the test split and the long tail"), "{e}");
}

#[test]
fn matrix_write_read_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let m = Matrix::new(2, 2, vec![1.0, -2.0, 3.5, 0.25]);
    write_matrix_npy(&dir.path().join("m.npy"), &m).unwrap();
    let bytes = std::fs::read(dir.path().join("m.npy")).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    assert_eq!(npy.shape(), &[2, 2]);
    assert_eq!(npy.into_vec::<f32>().unwrap(), m.data());
}
