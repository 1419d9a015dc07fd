//! Co-decision of labels: where the FM and the small model agree with
//! confidence, the label is taken without a human.
//!
//! Per unlabeled row: `p_f = softmax(a_t * S)` (temperature-calibrated FM),
//! `p_s = exp(L)` (small model trained on trusted human labels). The row is a
//! candidate for class c when both argmaxes are c; its confidence is
//! `min(p_f[c], p_s[c])`.
//!
//! Thresholds follow FlexMatch, so that classes the models still learn get a
//! lower bar: `sigma_c` counts candidates of c with confidence at least
//! `co_confidence` (0.8); `beta_c = sigma_c / max(max_c sigma_c,
//! unlabeled - sum sigma, 1)`; `T_c = max(co_confidence * beta_c / (2 -
//! beta_c), co_floor)`. Each class keeps at most `cap_factor` times the
//! smallest trusted human count among labeled classes, the most confident
//! first (ties: lower index), so pseudo-labels cannot swamp the humans.
//!
//! One pass suffices: every candidate with confidence at least `co_floor`
//! (the lowest possible threshold) goes into a bounded per-class "best cap"
//! structure; at the end the threshold is applied to what was kept. Because
//! acceptance is a threshold on the same confidence that orders the
//! structure, "best cap of the accepted" equals "accepted among the best
//! cap". Partial states merge exactly, as the selector's do.

use heapless::Vec;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::math::{
    argmax, check_finite, check_log_probabilities, exp, exp_shifted_in_place, fused_logits,
};
use crate::topk::{BoundedTopK, Entry};

/// A co-decided pseudo-label.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct PseudoLabel {
    /// The caller's row index.
    pub index: u64,
    /// The agreed class.
    pub class: u32,
    /// `min(p_f[class], p_s[class])`.
    pub confidence: f32,
}

/// The candidacy of one row: `Some((class, confidence))` when the FM (at
/// temperature multiplier `temperature`) and the small model agree.
/// `scratch` holds `classes` floats.
///
/// ```
/// use coselect_core::candidacy;
/// let sm = [0.9f32.ln(), 0.1f32.ln()];
/// let mut scratch = [0.0; 2];
/// let c = candidacy(0, &[4.0, 0.0], &sm, 1.0, &mut scratch)?;
/// assert_eq!(c.map(|(class, _)| class), Some(0));
/// # Ok::<(), coselect_core::Error>(())
/// ```
pub fn candidacy(
    row: u64,
    fm: &[f32],
    sm: &[f32],
    temperature: f32,
    scratch: &mut [f32],
) -> Result<Option<(u32, f32)>> {
    let classes = fm.len();
    check_finite(row, fm, classes)?;
    check_log_probabilities(row, sm, classes)?;
    if scratch.len() < classes {
        return Err(Error::LengthMismatch {
            expected: classes,
            found: scratch.len(),
        });
    }
    Ok(candidacy_unchecked(
        fm,
        sm,
        temperature,
        &mut scratch[..classes],
    ))
}

/// [`candidacy`] without input checks; same arithmetic.
///
/// The FM's class is the argmax of its logits `a_t * S` (lower index on a
/// tie), which is the argmax of `p_f`; its probability is
/// `1 / sum_i exp(z_i - max z)` (the softmax entry whose term is `exp(0) =
/// 1`), so a row whose argmaxes differ costs no exponential at all.
#[inline]
pub fn candidacy_unchecked(
    fm: &[f32],
    sm: &[f32],
    temperature: f32,
    scratch: &mut [f32],
) -> Option<(u32, f32)> {
    fused_logits(fm, None, temperature, 0.0, scratch);
    let cf = argmax(scratch);
    let cs = argmax(sm);
    if cf != cs {
        return None;
    }
    let s = exp_shifted_in_place(scratch, scratch[cf]);
    let conf = (1.0 / s).min(exp(sm[cs]));
    Some((cf as u32, conf))
}

/// The per-class acceptance thresholds from the counts `sigma[c]` of
/// candidates with confidence at least `co_confidence`, among `unlabeled`
/// rows: `beta_c = sigma_c / max(max sigma, unlabeled - sum sigma, 1)`,
/// `T_c = max(co_confidence * beta_c / (2 - beta_c), co_floor)`.
///
/// ```
/// let mut t = [0.0; 2];
/// coselect_core::flexmatch_thresholds(&[100, 0], 200, 0.8, 0.5, &mut t)?;
/// assert_eq!(t, [0.8, 0.5]); // a learned class keeps the full bar
/// # Ok::<(), coselect_core::Error>(())
/// ```
pub fn flexmatch_thresholds(
    sigma: &[u64],
    unlabeled: u64,
    co_confidence: f32,
    co_floor: f32,
    out: &mut [f32],
) -> Result<()> {
    if out.len() != sigma.len() {
        return Err(Error::LengthMismatch {
            expected: sigma.len(),
            found: out.len(),
        });
    }
    let max_sigma = sigma.iter().copied().max().unwrap_or(0);
    let total: u64 = sigma.iter().sum();
    let denom = max_sigma.max(unlabeled.saturating_sub(total)).max(1) as f64;
    for (t, &s) in out.iter_mut().zip(sigma) {
        let beta = s as f64 / denom;
        let warped = co_confidence as f64 * beta / (2.0 - beta);
        *t = (warped as f32).max(co_floor);
    }
    Ok(())
}

/// One round of co-decision over the unlabeled pool, for at most `C`
/// classes keeping at most `N` pseudo-labels per class.
///
/// ```
/// use coselect_core::{CoDecider, Config, PseudoLabel};
/// let cfg = Config::new(2, 1)?;
/// // Humans labeled 1 sample of each class: cap = 20 per class.
/// let mut co = CoDecider::<2, 32>::new(&cfg, &[1, 1], 1.0)?;
/// let sure = [0.95f32.ln(), 0.05f32.ln()];
/// co.push(0, &[5.0, 0.0], &sure)?;
/// co.push(1, &[0.0, 5.0], &sure)?; // the models disagree: no label
/// let mut out = [PseudoLabel::default(); 4];
/// let n = co.finish(&mut out)?;
/// assert_eq!((n, out[0].index, out[0].class), (1, 0, 0));
/// # Ok::<(), coselect_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CoDecider<const C: usize, const N: usize> {
    temperature: f32,
    co_confidence: f32,
    co_floor: f32,
    sigma: Vec<u64, C>,
    unlabeled: u64,
    kept: Vec<BoundedTopK<N>, C>,
}

impl<const C: usize, const N: usize> CoDecider<C, N> {
    /// The per-class cap `cap_factor * min_{c: n_c > 0} n_c` (0 when no class
    /// has a trusted label), for sizing `N`.
    ///
    /// ```
    /// let cfg = coselect_core::Config::new(3, 1)?;
    /// assert_eq!(coselect_core::CoDecider::<3, 1>::cap(&cfg, &[0, 4, 7]), 80);
    /// # Ok::<(), coselect_core::Error>(())
    /// ```
    pub fn cap(config: &Config, human_counts: &[u32]) -> usize {
        let min = human_counts.iter().copied().filter(|&n| n > 0).min();
        min.map_or(0, |m| m as usize * config.cap_factor as usize)
    }

    /// Starts a round: trusted human counts per class and the FM temperature
    /// multiplier `a_t`. Fails with `CapacityExceeded` when the cap exceeds `N`.
    pub fn new(config: &Config, human_counts: &[u32], temperature: f32) -> Result<Self> {
        let classes = config.classes_within(C)?;
        config.check_classes(human_counts.len())?;
        if !(temperature.is_finite() && temperature > 0.0) {
            return Err(Error::InvalidConfig {
                field: "temperature",
            });
        }
        let cap = Self::cap(config, human_counts);
        let mut kept = Vec::new();
        let mut sigma = Vec::new();
        for _ in 0..classes {
            let _ = kept.push(BoundedTopK::new(cap)?);
            let _ = sigma.push(0);
        }
        Ok(CoDecider {
            temperature,
            co_confidence: config.co_confidence,
            co_floor: config.co_floor,
            sigma,
            unlabeled: 0,
            kept,
        })
    }

    /// Offers one unlabeled row: FM logits and small-model log-probabilities.
    /// Returns its candidacy.
    pub fn push(&mut self, index: u64, fm: &[f32], sm: &[f32]) -> Result<Option<(u32, f32)>> {
        let classes = self.sigma.len();
        let mut scratch = [0.0f32; C];
        if fm.len() != classes {
            return Err(Error::ClassCountMismatch {
                expected: classes as u32,
                found: fm.len() as u32,
            });
        }
        let cand = candidacy(index, fm, sm, self.temperature, &mut scratch[..classes])?;
        self.unlabeled += 1;
        if let Some((c, conf)) = cand {
            if conf >= self.co_confidence {
                self.sigma[c as usize] += 1;
            }
            if conf >= self.co_floor {
                self.kept[c as usize].push(Entry::new(conf, index));
            }
        }
        Ok(cand)
    }

    /// Merges the state of another part of the same pool.
    pub fn merge(&mut self, other: &Self) -> Result<()> {
        let same = self.temperature.to_bits() == other.temperature.to_bits()
            && self.sigma.len() == other.sigma.len()
            && self.co_confidence.to_bits() == other.co_confidence.to_bits()
            && self.co_floor.to_bits() == other.co_floor.to_bits()
            && self.kept.first().map(|k| k.limit()) == other.kept.first().map(|k| k.limit());
        if !same {
            return Err(Error::StateMismatch);
        }
        for (s, o) in self.sigma.iter_mut().zip(other.sigma.iter()) {
            *s += o;
        }
        for (k, o) in self.kept.iter_mut().zip(other.kept.iter()) {
            k.merge(o);
        }
        self.unlabeled += other.unlabeled;
        Ok(())
    }

    /// The FlexMatch-style thresholds `T_c` of this round into `out`.
    pub fn thresholds(&self, out: &mut [f32]) -> Result<()> {
        flexmatch_thresholds(
            &self.sigma,
            self.unlabeled,
            self.co_confidence,
            self.co_floor,
            out,
        )
    }

    /// Writes the accepted pseudo-labels into `out`, class by class, most
    /// confident first, and returns how many. `out` must hold them all (at
    /// most `classes * cap`).
    pub fn finish(&mut self, out: &mut [PseudoLabel]) -> Result<usize> {
        let classes = self.sigma.len();
        let mut th = [0.0f32; C];
        self.thresholds(&mut th[..classes])?;
        let mut n = 0;
        for (c, k) in self.kept.iter_mut().enumerate() {
            for e in k.sort_best_last().iter().rev() {
                if e.score < th[c] {
                    break;
                }
                let slot = out.get_mut(n).ok_or(Error::BufferTooSmall)?;
                *slot = PseudoLabel {
                    index: e.index,
                    class: c as u32,
                    confidence: e.score,
                };
                n += 1;
            }
        }
        Ok(n)
    }

    /// Unlabeled rows pushed so far.
    pub fn unlabeled(&self) -> u64 {
        self.unlabeled
    }
}
