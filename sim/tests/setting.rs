//! Split, imbalance and noise: proportions, counts, rates, determinism.

use coselect_sim::setting::{
    inject_noise, long_tail_counts, long_tail_subsample, prepare, stratified_split,
};
use coselect_sim::{synthetic, Dataset, Imbalance, Setting};

#[test]
fn stratified_split_keeps_class_proportions() {
    let labels: Vec<usize> = (0..1000)
        .map(|i| {
            if i < 800 {
                0
            } else if i < 950 {
                1
            } else {
                2
            }
        })
        .collect();
    let test = stratified_split(&labels, 3, 0.2, 1);
    let count = |c: usize| (0..1000).filter(|&i| test[i] && labels[i] == c).count();
    assert_eq!((count(0), count(1), count(2)), (160, 30, 10));
    assert_eq!(test, stratified_split(&labels, 3, 0.2, 1));
    assert_ne!(test, stratified_split(&labels, 3, 0.2, 2));
}

#[test]
fn long_tail_counts_follow_the_power_law() {
    // 5 classes of 1000, rho = 100: 1000 * 100^(-r/4) = 1000, 316.2, 100, 31.6, 10.
    assert_eq!(
        long_tail_counts(&[1000; 5], 100.0),
        vec![1000, 316, 100, 31, 10]
    );
    // Ranks follow size: the largest class keeps n_max, the smallest gets the tail.
    assert_eq!(
        long_tail_counts(&[500, 1000, 800], 10.0),
        vec![100, 1000, 316]
    );
    let labels: Vec<usize> = (0..5000).map(|i| i % 5).collect();
    let kept = long_tail_subsample(&labels, 5, 100.0, 3);
    let per: Vec<usize> = (0..5)
        .map(|c| kept.iter().filter(|&&i| labels[i] == c).count())
        .collect();
    assert_eq!(per, vec![1000, 316, 100, 31, 10]);
}

#[test]
fn noise_rate_is_exact_symmetric_and_fixed_per_seed() {
    let clean: Vec<usize> = (0..10_000).map(|i| i % 4).collect();
    let noisy = inject_noise(&clean, 4, 0.1, 5);
    let flipped: Vec<usize> = (0..clean.len()).filter(|&i| noisy[i] != clean[i]).collect();
    assert_eq!(flipped.len(), 1000);
    // Flips go to each other class about equally (1000 flips over 3 targets per class).
    let mut to = [[0usize; 4]; 4];
    for &i in &flipped {
        to[clean[i]][noisy[i]] += 1;
    }
    for (c, row) in to.iter().enumerate() {
        let total: usize = row.iter().sum();
        for (d, &n) in row.iter().enumerate() {
            if d != c {
                assert!(
                    (n as f64 - total as f64 / 3.0).abs() < 0.3 * total as f64 / 3.0 + 10.0,
                    "{to:?}"
                );
            }
        }
    }
    assert_eq!(noisy, inject_noise(&clean, 4, 0.1, 5));
    assert_ne!(noisy, inject_noise(&clean, 4, 0.1, 6));
}

#[test]
fn prepare_merges_splits_and_keeps_the_test_split_clean() {
    let dir = tempfile::tempdir().unwrap();
    synthetic::write_blobs(dir.path(), 500, 6, 5, 2).unwrap();
    let ds = Dataset::load(dir.path()).unwrap();
    let s = Setting::new(Imbalance::Merge { k: 3 }, 0.2, 10, 5);
    let p = prepare(&ds, &s, 0).unwrap();
    assert_eq!(p.n_classes, 3);
    assert_eq!(p.pool_x.rows() + p.test_x.rows(), 500);
    assert_eq!(p.test_x.rows(), 100);
    // Merged class: 3 of 5 original classes.
    assert_eq!(p.test_labels.iter().filter(|&&y| y == 2).count(), 60);
    let flips = (0..p.pool_clean.len())
        .filter(|&i| p.pool_clean[i] != p.pool_noisy[i])
        .count();
    assert_eq!(flips, (0.2 * 400.0f64).round() as usize);
    for i in 0..p.pool_fm.rows() {
        let s: f64 = p.pool_fm.row(i).iter().map(|&v| (v as f64).exp()).sum();
        assert!((s - 1.0).abs() < 1e-5);
    }
    // The same test rows for every seed.
    let q = prepare(&ds, &s, 1).unwrap();
    assert_eq!(p.test_labels, q.test_labels);
    assert_eq!(p.test_x, q.test_x);
    assert_ne!(p.pool_noisy, q.pool_noisy);
}

/// A blobs folder with a `concept_scores.npy` of `concepts_of[c]` columns per class (each a
/// noisy copy of its class's FM score) and meta.json's `concepts`.
fn with_concepts(dir: &std::path::Path, concepts_of: &[usize]) {
    let n = 500;
    synthetic::write_blobs(dir, n, 6, concepts_of.len(), 2).unwrap();
    let ds = Dataset::load(dir).unwrap();
    let class_of: Vec<usize> = concepts_of
        .iter()
        .enumerate()
        .flat_map(|(c, &k)| std::iter::repeat_n(c, k))
        .collect();
    let mut data = Vec::with_capacity(n * class_of.len());
    for i in 0..n {
        for (j, &c) in class_of.iter().enumerate() {
            data.push(ds.fm_scores.row(i)[c] + 0.01 * ((i * 7 + j * 3) % 5) as f32);
        }
    }
    let scores = coselect_sim::Matrix::new(n, class_of.len(), data);
    coselect_sim::synthetic::write_matrix_npy(&dir.join("concept_scores.npy"), &scores).unwrap();
    let mut meta = ds.meta.clone();
    meta["concepts"] = class_of
        .iter()
        .map(|&c| serde_json::json!({"class": c, "description": format!("part of {c}")}))
        .collect();
    std::fs::write(dir.join("meta.json"), meta.to_string()).unwrap();
}

#[test]
fn a_folder_s_concepts_reach_the_setting_and_compose_with_a_merge() {
    let dir = tempfile::tempdir().unwrap();
    with_concepts(dir.path(), &[2, 1, 3, 1, 2]);
    let ds = Dataset::load(dir.path()).unwrap();
    let want: Vec<usize> = vec![0, 0, 1, 2, 2, 2, 3, 4, 4];
    assert_eq!(ds.concepts.as_ref().unwrap().class_of, want);

    let plain = prepare(&ds, &Setting::new(Imbalance::None, 0.0, 10, 5), 0).unwrap();
    assert_eq!(plain.concept_class, want);
    assert_eq!(plain.pool_concept_fm.cols(), 9);
    // Log-probabilities over all the concepts.
    for i in 0..plain.pool_concept_fm.rows() {
        let s: f64 = plain
            .pool_concept_fm
            .row(i)
            .iter()
            .map(|&v| (v as f64).exp())
            .sum();
        assert!((s - 1.0).abs() < 1e-5);
    }
    // The class prior is still fm_scores.npy's, not the concepts'.
    assert_eq!(plain.pool_fm.cols(), 5);

    // One level below each class: the kept classes' own concepts, the merged class's members.
    let merged = prepare(&ds, &Setting::new(Imbalance::Merge { k: 3 }, 0.0, 10, 5), 0).unwrap();
    assert_eq!(merged.concept_class, vec![0, 0, 1, 2, 2, 2]);
    assert_eq!(merged.pool_concept_fm.cols(), 6);
    // The members' columns are their class prompts' log-probabilities among the six.
    let row = merged.pool_source[0];
    let raw: Vec<f32> = [0, 1, 2]
        .iter()
        .map(|&j| ds.concepts.as_ref().unwrap().scores.row(row)[j])
        .chain((2..5).map(|c| ds.fm_scores.row(row)[c]))
        .collect();
    let lse = raw.iter().map(|&v| (v as f64).exp()).sum::<f64>().ln();
    for (a, b) in merged.pool_concept_fm.row(0).iter().zip(&raw) {
        assert!(
            (*a as f64 - (*b as f64 - lse)).abs() < 1e-5,
            "{a} vs {b} - {lse}"
        );
    }

    // Without the file a merge falls back to the original classes as concepts.
    std::fs::remove_file(dir.path().join("concept_scores.npy")).unwrap();
    let mut meta = ds.meta.clone();
    meta.as_object_mut().unwrap().remove("concepts");
    std::fs::write(dir.path().join("meta.json"), meta.to_string()).unwrap();
    let ds = Dataset::load(dir.path()).unwrap();
    let merged = prepare(&ds, &Setting::new(Imbalance::Merge { k: 3 }, 0.0, 10, 5), 0).unwrap();
    assert_eq!(merged.concept_class, vec![0, 1, 2, 2, 2]);
    let plain = prepare(&ds, &Setting::new(Imbalance::None, 0.0, 10, 5), 0).unwrap();
    assert_eq!(plain.concept_class, vec![0, 1, 2, 3, 4]);
}

#[test]
fn bad_concept_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let err = || Dataset::load(path).unwrap_err().to_string();
    with_concepts(path, &[2, 1, 1]);
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path.join("meta.json")).unwrap()).unwrap();
    let write_meta =
        |m: &serde_json::Value| std::fs::write(path.join("meta.json"), m.to_string()).unwrap();

    let mut m = meta.clone();
    m["concepts"][1]["class"] = serde_json::json!(3);
    write_meta(&m);
    assert!(
        err().contains("concept 1 names class 3, outside 0..3"),
        "{}",
        err()
    );
    m["concepts"][1]["class"] = serde_json::json!("one");
    write_meta(&m);
    assert!(
        err().contains("concept 1 has no integer `class`"),
        "{}",
        err()
    );
    let mut m = meta.clone();
    m["concepts"][3]["class"] = serde_json::json!(0);
    write_meta(&m);
    assert!(err().contains("no concept of class 2"), "{}", err());
    let mut m = meta.clone();
    m["concepts"].as_array_mut().unwrap().pop();
    m["concepts"][2]["class"] = serde_json::json!(2);
    m["concepts"][1]["class"] = serde_json::json!(1);
    write_meta(&m);
    assert!(
        err().contains("concept_scores.npy is 500x4, expected 500x3"),
        "{}",
        err()
    );
    let mut m = meta.clone();
    m.as_object_mut().unwrap().remove("concepts");
    write_meta(&m);
    assert!(err().contains("meta.json has no `concepts`"), "{}", err());

    write_meta(&meta);
    let bad = coselect_sim::Matrix::new(500, 4, {
        let mut v = vec![0.5f32; 2000];
        v[4 * 17 + 2] = f32::NAN;
        v
    });
    coselect_sim::synthetic::write_matrix_npy(&path.join("concept_scores.npy"), &bad).unwrap();
    assert!(
        err().contains("concept_scores.npy holds a non-finite value at row 17"),
        "{}",
        err()
    );
    std::fs::remove_file(path.join("concept_scores.npy")).unwrap();
    assert!(err().contains("concept_scores.npy is missing"), "{}", err());
    // A truncated file is an error too, not a short matrix.
    std::fs::write(path.join("concept_scores.npy"), b"\x93NUMPY\x01\x00").unwrap();
    assert!(Dataset::load(path).is_err());
}

#[test]
fn concepts_built_in_code_are_checked_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    synthetic::write_blobs(dir.path(), 100, 4, 3, 1).unwrap();
    let mut ds = Dataset::load(dir.path()).unwrap();
    let s = Setting::new(Imbalance::None, 0.0, 10, 5);
    ds.concepts = Some(coselect_sim::DatasetConcepts {
        scores: coselect_sim::Matrix::new(99, 3, vec![0.0; 297]),
        class_of: vec![0, 1, 2],
    });
    let e = prepare(&ds, &s, 0).unwrap_err().to_string();
    assert!(
        e.contains("concept_scores.npy is 99x3, expected 100x3"),
        "{e}"
    );
    ds.concepts = Some(coselect_sim::DatasetConcepts {
        scores: coselect_sim::Matrix::new(100, 3, vec![0.0; 300]),
        class_of: vec![0, 1, 1],
    });
    let e = prepare(&ds, &s, 0).unwrap_err().to_string();
    assert!(e.contains("no concept of class 2"), "{e}");
    let mut nan = vec![0.0f32; 300];
    nan[3 * 41 + 1] = f32::NAN;
    ds.concepts = Some(coselect_sim::DatasetConcepts {
        scores: coselect_sim::Matrix::new(100, 3, nan),
        class_of: vec![0, 1, 2],
    });
    let e = prepare(&ds, &s, 0).unwrap_err().to_string();
    assert!(e.contains("non-finite value at row 41"), "{e}");
    // Merging to all three classes merges nothing: the last class keeps its own concepts.
    ds.concepts = Some(coselect_sim::DatasetConcepts {
        scores: coselect_sim::Matrix::new(100, 4, vec![0.0; 400]),
        class_of: vec![0, 1, 2, 2],
    });
    let p = prepare(&ds, &Setting::new(Imbalance::Merge { k: 3 }, 0.0, 10, 5), 0).unwrap();
    assert_eq!(p.concept_class, vec![0, 1, 2, 2]);
}
