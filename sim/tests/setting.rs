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
