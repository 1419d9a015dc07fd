//! A setting (imbalance, noise, budget) and its application to a dataset for one seed: test split,
//! merge or long tail, label noise.

use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::{Result, SimError};
use crate::matrix::{log_softmax_in_place, Matrix};
use crate::seed::rng_for;

/// How the pool is made imbalanced.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Imbalance {
    /// The dataset as it is.
    None,
    /// Keep classes `0..k-1`, merge all others into class `k-1`.
    Merge {
        /// Number of classes after the merge.
        k: usize,
    },
    /// Subsample the pool to `n_c = n_max * rho^(-r/(C-1))` for the class of size rank `r`.
    LongTail {
        /// Ratio of the largest to the smallest class.
        rho: f64,
    },
}

/// One experimental setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Setting {
    /// Short name used in tables, file names and plots.
    pub name: String,
    /// Imbalance.
    pub imbalance: Imbalance,
    /// Fraction of pool labels flipped uniformly to another class.
    pub noise: f64,
    /// Labels per round.
    pub batch: usize,
    /// Rounds, the first (cold start) included; the final budget is `batch * rounds`.
    pub rounds: usize,
}

impl Setting {
    /// A setting named after its parameters, e.g. `merge3-noise0.1`.
    ///
    /// ```
    /// use coselect_sim::{Imbalance, Setting};
    /// let s = Setting::new(Imbalance::Merge { k: 3 }, 0.1, 30, 25);
    /// assert_eq!(s.name, "merge3-noise0.1");
    /// assert_eq!(s.budget(), 750);
    /// ```
    pub fn new(imbalance: Imbalance, noise: f64, batch: usize, rounds: usize) -> Self {
        let base = match imbalance {
            Imbalance::None => "full".to_string(),
            Imbalance::Merge { k } => format!("merge{k}"),
            Imbalance::LongTail { rho } => format!("longtail{rho}"),
        };
        let name = if noise > 0.0 {
            format!("{base}-noise{noise}")
        } else {
            format!("{base}-clean")
        };
        Self {
            name,
            imbalance,
            noise,
            batch,
            rounds,
        }
    }

    /// Labels collected by the end of the run.
    pub fn budget(&self) -> usize {
        self.batch * self.rounds
    }
}

/// A setting applied to a dataset for one seed: the pool (training side) and the clean test split.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Number of classes after imbalance.
    pub n_classes: usize,
    /// Class names after imbalance.
    pub class_names: Vec<String>,
    /// Pool embeddings.
    pub pool_x: Matrix,
    /// FM log-probabilities of the pool (log-softmax of the FM scores, merged where asked).
    pub pool_fm: Matrix,
    /// FM log-probabilities of the pool over the FM's concepts, one level below each class (a
    /// merged class's members by their class prompts, a class of the folder by its
    /// `concept_scores.npy` concepts): pool rows x concepts. Equal to `pool_fm` when every class
    /// is its own single concept.
    pub pool_concept_fm: Matrix,
    /// The class of each concept (the identity when every class is its own single concept).
    pub concept_class: Vec<usize>,
    /// Clean pool labels.
    pub pool_clean: Vec<usize>,
    /// Pool labels as the annotator gives them (with the setting's noise).
    pub pool_noisy: Vec<usize>,
    /// Dataset row of each pool row.
    pub pool_source: Vec<usize>,
    /// Test embeddings.
    pub test_x: Matrix,
    /// Clean test labels.
    pub test_labels: Vec<usize>,
}

/// Labels after a merge to `k` classes: classes `>= k-1` become `k-1`.
///
/// ```
/// assert_eq!(coselect_sim::setting::merge_labels(&[0, 1, 2, 3, 4], 3), vec![0, 1, 2, 2, 2]);
/// ```
pub fn merge_labels(labels: &[usize], k: usize) -> Vec<usize> {
    labels.iter().map(|&y| y.min(k - 1)).collect()
}

/// FM log-probabilities (`log_softmax` of the scores), merged to `k` classes when asked: the merged
/// class gets the log of the sum of its members' probabilities.
///
/// ```
/// use coselect_sim::Matrix;
/// let s = Matrix::new(1, 3, vec![0.0, 0.0, 0.0]);
/// let m = coselect_sim::setting::fm_log_probs(&s, Some(2));
/// assert!((m.row(0)[1].exp() - 2.0 / 3.0).abs() < 1e-6);
/// ```
pub fn fm_log_probs(scores: &Matrix, merge: Option<usize>) -> Matrix {
    let c = scores.cols();
    let k = merge.unwrap_or(c);
    let mut out = Matrix::zeros(scores.rows(), k);
    let mut row = vec![0.0f32; c];
    for i in 0..scores.rows() {
        row.copy_from_slice(scores.row(i));
        log_softmax_in_place(&mut row);
        let o = out.row_mut(i);
        o[..k - 1].copy_from_slice(&row[..k - 1]);
        let tail = &row[k - 1..];
        let m = tail.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
        let s: f64 = tail.iter().map(|&v| (v as f64 - m).exp()).sum();
        o[k - 1] = (m + s.ln()) as f32;
    }
    out
}

/// The FM's concepts of the setting's classes, one level below each class: a merged class's
/// concepts are its members (their class prompts' scores); a class that is one class of the
/// folder has the folder's concepts (`concept_scores.npy`) when it has them, else none (it is
/// its own single concept). Scores as given (logits, not yet normalised) and the class of each
/// concept; `None` when every class is its own single concept.
///
/// Finer concepts for a merged class's members (the folder's, for each member) were measured
/// and lose on merge settings (docs/method.md, session 4): with ~150 concepts the merged class's
/// labels spread too thin, and the members are the level the FM names best.
fn concept_scores(ds: &Dataset, setting: &Setting) -> Option<(Matrix, Vec<usize>)> {
    let merged_from = match setting.imbalance {
        // Merging to all C classes merges nothing: class C-1 keeps its own concepts.
        Imbalance::Merge { k } if k < ds.n_classes() => Some(k - 1),
        _ => None,
    };
    let file = ds.concepts.as_ref();
    if merged_from.is_none() && file.is_none() {
        return None;
    }
    // (source matrix, column, class) of each concept, in class order.
    let mut columns: Vec<(&Matrix, usize, usize)> = Vec::new();
    for c in 0..ds.n_classes() {
        match (merged_from, file) {
            (Some(m), _) if c >= m => columns.push((&ds.fm_scores, c, m)),
            (_, Some(dc)) => columns.extend(
                (0..dc.class_of.len())
                    .filter(|&j| dc.class_of[j] == c)
                    .map(|j| (&dc.scores, j, c)),
            ),
            _ => columns.push((&ds.fm_scores, c, c)),
        }
    }
    let n = ds.len();
    let mut data = Vec::with_capacity(n * columns.len());
    for i in 0..n {
        data.extend(columns.iter().map(|&(m, j, _)| m.row(i)[j]));
    }
    let class_of = columns.iter().map(|&(_, _, c)| c).collect();
    Some((Matrix::new(n, columns.len(), data), class_of))
}

/// Test mask of a stratified split: in each class, `round(fraction * n_c)` rows (at least one, and
/// at least one left for the pool, when the class has two rows or more) chosen by a seeded shuffle.
///
/// ```
/// let labels = vec![0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1];
/// let test = coselect_sim::setting::stratified_split(&labels, 2, 0.25, 0);
/// assert_eq!(test.iter().filter(|&&t| t).count(), 3);
/// ```
pub fn stratified_split(labels: &[usize], n_classes: usize, fraction: f64, seed: u64) -> Vec<bool> {
    let mut rng = rng_for(seed, "test-split", 0);
    let mut test = vec![false; labels.len()];
    for c in 0..n_classes {
        let mut members: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).collect();
        members.shuffle(&mut rng);
        let n = members.len();
        let mut t = (fraction * n as f64).round() as usize;
        if n >= 2 {
            t = t.clamp(1, n - 1);
        } else {
            t = 0;
        }
        for &i in &members[..t] {
            test[i] = true;
        }
    }
    test
}

/// Target class sizes of a long tail: classes ranked by size (ties: lower index first), the class
/// of rank `r` keeps `min(n_c, floor(n_max * rho^(-r/(C-1))))`, at least 1.
///
/// ```
/// let t = coselect_sim::setting::long_tail_counts(&[100, 100, 100], 100.0);
/// assert_eq!(t, vec![100, 10, 1]);
/// ```
pub fn long_tail_counts(counts: &[usize], rho: f64) -> Vec<usize> {
    let c = counts.len();
    let mut order: Vec<usize> = (0..c).collect();
    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
    let n_max = counts[order[0]] as f64;
    let mut target = vec![0; c];
    for (r, &cls) in order.iter().enumerate() {
        let frac = if c > 1 {
            r as f64 / (c - 1) as f64
        } else {
            0.0
        };
        // The small epsilon keeps exact powers (100 * 100^-0.5 = 10) from flooring to 9.
        let want = (n_max * rho.powf(-frac) + 1e-9).floor() as usize;
        target[cls] = want.clamp(1, counts[cls].max(1)).min(counts[cls]);
    }
    target
}

/// Indices (into `labels`) kept by a long-tail subsample, ascending.
pub fn long_tail_subsample(labels: &[usize], n_classes: usize, rho: f64, seed: u64) -> Vec<usize> {
    let mut counts = vec![0; n_classes];
    for &y in labels {
        counts[y] += 1;
    }
    let target = long_tail_counts(&counts, rho);
    let mut rng = rng_for(seed, "long-tail", 0);
    let mut keep = Vec::new();
    for c in 0..n_classes {
        let mut members: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).collect();
        members.shuffle(&mut rng);
        keep.extend_from_slice(&members[..target[c]]);
    }
    keep.sort_unstable();
    keep
}

/// Symmetric label noise: exactly `round(p * n)` labels, chosen by a seeded shuffle, each flipped
/// to a uniformly drawn other class.
///
/// ```
/// let clean = vec![0usize; 100];
/// let noisy = coselect_sim::setting::inject_noise(&clean, 4, 0.1, 3);
/// assert_eq!(noisy.iter().filter(|&&y| y != 0).count(), 10);
/// ```
pub fn inject_noise(labels: &[usize], n_classes: usize, p: f64, seed: u64) -> Vec<usize> {
    let mut noisy = labels.to_vec();
    if n_classes < 2 || p <= 0.0 {
        return noisy;
    }
    let mut rng = rng_for(seed, "label-noise", 0);
    let mut idx: Vec<usize> = (0..labels.len()).collect();
    idx.shuffle(&mut rng);
    let m = ((p * labels.len() as f64).round() as usize).min(labels.len());
    for &i in &idx[..m] {
        let shift = 1 + rng.random_range(0..n_classes - 1);
        noisy[i] = (labels[i] + shift) % n_classes;
    }
    noisy
}

/// Test fraction used when the dataset has no `split.npy`.
pub const DEFAULT_TEST_FRACTION: f64 = 0.2;

/// Seed of the test split: fixed, so that every run seed is measured on the same test rows.
pub const SPLIT_SEED: u64 = 0x5e1ec7;

/// Applies `setting` to `ds` for `seed`.
///
/// Order: merge (labels and FM), stratified test split (fixed seed, or `split.npy`), long tail on
/// the pool only (the test split keeps every row, balanced accuracy weighs classes equally), noise
/// on the pool only.
pub fn prepare(ds: &Dataset, setting: &Setting, seed: u64) -> Result<Prepared> {
    validate(ds, setting)?;
    let (labels, n_classes, fm, class_names) = match setting.imbalance {
        Imbalance::Merge { k } => {
            let mut names = ds.class_names[..k - 1].to_vec();
            names.push(format!("other ({} merged)", ds.n_classes() - (k - 1)));
            (
                merge_labels(&ds.labels, k),
                k,
                fm_log_probs(&ds.fm_scores, Some(k)),
                names,
            )
        }
        _ => (
            ds.labels.clone(),
            ds.n_classes(),
            fm_log_probs(&ds.fm_scores, None),
            ds.class_names.clone(),
        ),
    };
    let (concept_fm, concept_class) = match concept_scores(ds, setting) {
        Some((scores, class_of)) => (Some(fm_log_probs(&scores, None)), class_of),
        None => (None, (0..n_classes).collect()),
    };
    let test_mask = test_mask(ds, &labels, n_classes);
    let mut pool: Vec<usize> = (0..ds.len()).filter(|&i| !test_mask[i]).collect();
    let test: Vec<usize> = (0..ds.len()).filter(|&i| test_mask[i]).collect();
    if let Imbalance::LongTail { rho } = setting.imbalance {
        let pool_labels: Vec<usize> = pool.iter().map(|&i| labels[i]).collect();
        let keep = long_tail_subsample(&pool_labels, n_classes, rho, seed);
        pool = keep.iter().map(|&k| pool[k]).collect();
    }
    let pool_clean: Vec<usize> = pool.iter().map(|&i| labels[i]).collect();
    let pool_noisy = inject_noise(&pool_clean, n_classes, setting.noise, seed);
    Ok(Prepared {
        n_classes,
        class_names,
        pool_x: ds.embeddings.select_rows(&pool),
        pool_fm: fm.select_rows(&pool),
        pool_concept_fm: concept_fm.as_ref().unwrap_or(&fm).select_rows(&pool),
        concept_class,
        pool_clean,
        pool_noisy,
        pool_source: pool,
        test_x: ds.embeddings.select_rows(&test),
        test_labels: test.iter().map(|&i| labels[i]).collect(),
    })
}

fn test_mask(ds: &Dataset, labels: &[usize], n_classes: usize) -> Vec<bool> {
    match &ds.test_mask {
        Some(m) => m.clone(),
        None => stratified_split(labels, n_classes, DEFAULT_TEST_FRACTION, SPLIT_SEED),
    }
}

/// Checks that `setting` can run on `ds` (class count, merge K, noise, budget against the pool
/// size after the split and the long tail), so that errors come before any work.
pub fn validate(ds: &Dataset, setting: &Setting) -> Result<()> {
    let bad = |reason: String| SimError::Setting {
        setting: setting.name.clone(),
        reason,
    };
    let c = ds.n_classes();
    if !(0.0..1.0).contains(&setting.noise) {
        return Err(bad(format!("noise {} is outside [0, 1)", setting.noise)));
    }
    if setting.batch == 0 || setting.rounds == 0 {
        return Err(bad("batch and rounds must be at least 1".into()));
    }
    // The fields are public: a dataset built in code gets the loader's checks here.
    if let Some(dc) = &ds.concepts {
        dc.check(ds.len(), c)
            .map_err(|r| bad(format!("the dataset's concepts: {r}")))?;
    }
    let (labels, n_classes) = match setting.imbalance {
        Imbalance::Merge { k } => {
            if k < 2 || k > c {
                return Err(bad(format!(
                    "merge K = {k} must be in 2..={c} (the dataset has {c} classes)"
                )));
            }
            (merge_labels(&ds.labels, k), k)
        }
        Imbalance::LongTail { rho } => {
            if rho.is_nan() || rho < 1.0 {
                return Err(bad(format!("long-tail ratio {rho} must be at least 1")));
            }
            (ds.labels.clone(), c)
        }
        Imbalance::None => (ds.labels.clone(), c),
    };
    let mask = test_mask(ds, &labels, n_classes);
    let mut counts = vec![0usize; n_classes];
    for (i, &y) in labels.iter().enumerate() {
        if !mask[i] {
            counts[y] += 1;
        }
    }
    if mask.iter().all(|&t| !t) {
        return Err(bad("the test split is empty".into()));
    }
    let pool_size: usize = match setting.imbalance {
        Imbalance::LongTail { rho } => long_tail_counts(&counts, rho).iter().sum(),
        _ => counts.iter().sum(),
    };
    if setting.budget() > pool_size {
        return Err(bad(format!(
            "budget {} (batch {} x {} rounds) is larger than the pool ({pool_size} rows after the test split{})",
            setting.budget(),
            setting.batch,
            setting.rounds,
            if matches!(setting.imbalance, Imbalance::LongTail { .. }) { " and the long tail" } else { "" }
        )));
    }
    Ok(())
}
