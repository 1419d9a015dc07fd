//! Zero-shot FM scores (cosine to each class prompt over a temperature) and how well their
//! argmax agrees with the labels.

/// Scores of every sample against every class: `cosine(embedding, prompt) / temperature`,
/// row-major `samples x classes`. Rows of `embeddings` and `prompts` are `dim` long.
///
/// ```
/// let emb = [1.0, 0.0, 0.0, 1.0];
/// let prompts = [1.0, 0.0, 0.0, 1.0];
/// let s = coselect_fm::zero_shot_scores(&emb, &prompts, 2, 0.5);
/// assert_eq!(s, vec![2.0, 0.0, 0.0, 2.0]);
/// ```
pub fn zero_shot_scores(
    embeddings: &[f32],
    prompts: &[f32],
    dim: usize,
    temperature: f32,
) -> Vec<f32> {
    if dim == 0 {
        return Vec::new();
    }
    let prompt_rows: Vec<&[f32]> = prompts.chunks_exact(dim).collect();
    embeddings
        .chunks_exact(dim)
        .flat_map(|e| {
            prompt_rows
                .iter()
                .map(move |p| crate::model::cosine(e, p) / temperature)
        })
        .collect()
}

/// Accuracy and macro-F1 of predicted against true labels.
///
/// ```
/// let a = coselect_fm::agreement(&[0, 1], &[0, 1], 2);
/// assert_eq!(a, coselect_fm::Agreement { accuracy: 1.0, macro_f1: 1.0 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Agreement {
    /// Fraction of samples whose prediction equals the label.
    pub accuracy: f64,
    /// Mean over classes of F1 (0 for a class never predicted nor present).
    pub macro_f1: f64,
}

/// The argmax class of each row of a row-major `rows x classes` score matrix (ties: lower
/// class index).
///
/// ```
/// assert_eq!(coselect_fm::argmax_rows(&[0.1, 0.9, 0.5, 0.5], 2), vec![1, 0]);
/// ```
pub fn argmax_rows(scores: &[f32], classes: usize) -> Vec<usize> {
    if classes == 0 {
        return Vec::new();
    }
    scores
        .chunks_exact(classes)
        .map(|row| {
            let mut best = 0;
            for (c, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = c;
                }
            }
            best
        })
        .collect()
}

/// Accuracy and macro-F1 of `predicted` against `truth` over `classes` classes.
///
/// ```
/// let a = coselect_fm::agreement(&[0, 1, 1, 1], &[0, 1, 0, 1], 2);
/// assert_eq!(a.accuracy, 0.75);
/// // class 0: P=1, R=.5, F1=2/3; class 1: P=2/3, R=1, F1=.8
/// assert!((a.macro_f1 - (2.0 / 3.0 + 0.8) / 2.0).abs() < 1e-12);
/// ```
pub fn agreement(predicted: &[usize], truth: &[usize], classes: usize) -> Agreement {
    let mut tp = vec![0usize; classes];
    let mut pred = vec![0usize; classes];
    let mut real = vec![0usize; classes];
    for (&p, &t) in predicted.iter().zip(truth) {
        if p >= classes || t >= classes {
            continue;
        }
        pred[p] += 1;
        real[t] += 1;
        if p == t {
            tp[p] += 1;
        }
    }
    let n = predicted.len().min(truth.len());
    let f1: f64 = (0..classes)
        .map(|c| {
            let denom = pred[c] + real[c];
            if denom == 0 {
                0.0
            } else {
                2.0 * tp[c] as f64 / denom as f64
            }
        })
        .sum();
    Agreement {
        accuracy: if n == 0 {
            0.0
        } else {
            tp.iter().sum::<usize>() as f64 / n as f64
        },
        macro_f1: if classes == 0 {
            0.0
        } else {
            f1 / classes as f64
        },
    }
}
