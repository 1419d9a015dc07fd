//! Classification metrics, seed aggregation and annotation savings (DESIGN.md, "Evaluation
//! protocol").

use serde::{Deserialize, Serialize};

/// Scores of one model on the test split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Mean recall over the classes present in the truth.
    pub balanced_accuracy: f64,
    /// Smallest recall over the classes present in the truth.
    pub min_recall: f64,
    /// Mean F1 over the classes present in the truth (F1 = 0 when precision and recall are 0).
    pub macro_f1: f64,
    /// Recall per class (`NaN`-free: 0 for classes absent from the truth, which are not averaged).
    pub recall: Vec<f64>,
}

/// Scores of predictions `pred` against `truth`.
///
/// ```
/// // class 0: 2 of 2 right; class 1: 1 of 2 right.
/// let s = coselect_sim::metrics::score(&[0, 0, 1, 1], &[0, 0, 1, 0], 2);
/// assert!((s.balanced_accuracy - 0.75).abs() < 1e-12);
/// assert!((s.min_recall - 0.5).abs() < 1e-12);
/// ```
pub fn score(truth: &[usize], pred: &[usize], n_classes: usize) -> Scores {
    let mut tp = vec![0usize; n_classes];
    let mut support = vec![0usize; n_classes];
    let mut predicted = vec![0usize; n_classes];
    for (&t, &p) in truth.iter().zip(pred) {
        support[t] += 1;
        predicted[p] += 1;
        if t == p {
            tp[t] += 1;
        }
    }
    let mut recall = vec![0.0; n_classes];
    let (mut sum_r, mut sum_f1, mut min_r, mut m) = (0.0, 0.0, f64::INFINITY, 0usize);
    for c in 0..n_classes {
        if support[c] == 0 {
            continue;
        }
        let r = tp[c] as f64 / support[c] as f64;
        let p = if predicted[c] > 0 {
            tp[c] as f64 / predicted[c] as f64
        } else {
            0.0
        };
        let f1 = if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
        recall[c] = r;
        sum_r += r;
        sum_f1 += f1;
        min_r = min_r.min(r);
        m += 1;
    }
    let m = m.max(1) as f64;
    Scores {
        balanced_accuracy: sum_r / m,
        min_recall: if min_r.is_finite() { min_r } else { 0.0 },
        macro_f1: sum_f1 / m,
        recall,
    }
}

/// Mean and standard error (sample standard deviation / sqrt(n); 0 for a single value).
///
/// ```
/// let (m, se) = coselect_sim::metrics::mean_se(&[1.0, 2.0, 3.0, 4.0]);
/// assert!((m - 2.5).abs() < 1e-12);
/// assert!((se - (5.0f64 / 3.0).sqrt() / 2.0).abs() < 1e-12);
/// ```
pub fn mean_se(values: &[f64]) -> (f64, f64) {
    let n = values.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    (mean, (var / n as f64).sqrt())
}

/// Tolerance under which a curve counts as reaching a target (float noise of the mean).
pub const REACH_TOLERANCE: f64 = 1e-9;

/// The first budget at which `curve` (aligned with `budgets`) reaches `target`, if any.
///
/// ```
/// let n = coselect_sim::metrics::budget_to_reach(&[30, 60, 90], &[0.5, 0.7, 0.8], 0.7);
/// assert_eq!(n, Some(60));
/// assert_eq!(coselect_sim::metrics::budget_to_reach(&[30], &[0.5], 0.7), None);
/// ```
pub fn budget_to_reach(budgets: &[usize], curve: &[f64], target: f64) -> Option<usize> {
    budgets
        .iter()
        .zip(curve)
        .find(|(_, &a)| a >= target - REACH_TOLERANCE)
        .map(|(&b, _)| b)
}

/// Savings `1 - n_ours / n_ref`; `None` when either curve never reaches the target.
///
/// ```
/// assert_eq!(coselect_sim::metrics::savings(Some(150), Some(600)), Some(0.75));
/// assert_eq!(coselect_sim::metrics::savings(None, Some(600)), None);
/// ```
pub fn savings(n_ours: Option<usize>, n_ref: Option<usize>) -> Option<f64> {
    match (n_ours, n_ref) {
        (Some(a), Some(b)) if b > 0 => Some(1.0 - a as f64 / b as f64),
        _ => None,
    }
}
