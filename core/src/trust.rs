//! Label trust: flagging human labels that are probably annotation noise.
//!
//! The host cross-fits the small model (each human label is predicted by a
//! model that did not train on it) and passes those out-of-sample
//! log-probabilities. A label `y` is suspect when the fused posterior gives
//! it less than `trust_threshold` and the FM and the out-of-sample small
//! model both predict the same other class: two independent views agreeing
//! against the annotator. Suspect labels leave training and the counts.

use crate::calibrate::Fusion;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::math::{argmax, check_finite, check_log_probabilities, fused_softmax};

/// The verdict on one human label.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// Whether the label should leave training.
    pub suspect: bool,
    /// Fused probability of the given label.
    pub label_probability: f32,
    /// The class both views agree on, when they do.
    pub agreed_class: Option<u32>,
}

/// Judges one human label `label` of a row with FM logits `fm` and
/// out-of-sample small-model log-probabilities `oos_sm`. `scratch` holds
/// `classes` floats.
///
/// ```
/// use coselect_core::{judge_label, Config, Fusion};
/// let cfg = Config::new(2, 1)?;
/// let sm = [0.99f32.ln(), 0.01f32.ln()];
/// let mut scratch = [0.0; 2];
/// // Both views say class 0 with confidence; the annotator said 1.
/// let v = judge_label(0, &[6.0, 0.0], &sm, 1, Fusion::default(), &cfg, &mut scratch)?;
/// assert!(v.suspect);
/// # Ok::<(), coselect_core::Error>(())
/// ```
pub fn judge_label(
    row: u64,
    fm: &[f32],
    oos_sm: &[f32],
    label: u32,
    fusion: Fusion,
    config: &Config,
    scratch: &mut [f32],
) -> Result<Verdict> {
    let classes = config.classes as usize;
    check_finite(row, fm, classes)?;
    check_log_probabilities(row, oos_sm, classes)?;
    if label as usize >= classes {
        return Err(Error::LabelOutOfRange {
            row,
            label,
            classes: config.classes,
        });
    }
    if scratch.len() < classes {
        return Err(Error::LengthMismatch {
            expected: classes,
            found: scratch.len(),
        });
    }
    let p = &mut scratch[..classes];
    fused_softmax(fm, Some(oos_sm), fusion.a, fusion.b, p);
    let label_probability = p[label as usize];
    let cf = argmax(fm);
    let agreed = (cf == argmax(oos_sm)).then_some(cf as u32);
    let suspect = label_probability < config.trust_threshold && agreed.is_some_and(|c| c != label);
    Ok(Verdict {
        suspect,
        label_probability,
        agreed_class: agreed,
    })
}
