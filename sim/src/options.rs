//! Ablation switches of our method, parsed by the CLI and handed to the strategy "ours" and to
//! the co-decision pseudo-labeler.

use serde::{Deserialize, Serialize};

/// Default [`MethodOptions::fm_prior_weight`]: the weight the session-5 grid measured best
/// (docs/method.md, "Session 5").
pub const DEFAULT_FM_PRIOR_WEIGHT: f64 = 4.0;

fn default_fm_prior_weight() -> f64 {
    DEFAULT_FM_PRIOR_WEIGHT
}

/// Which parts of the method are switched off (all on by default), the weight of the FM
/// weight prior and the strength of the deployed model's logit adjustment.
///
/// ```
/// let o = coselect_sim::MethodOptions { no_trust: true, ..Default::default() };
/// assert!(o.no_trust && !o.no_pseudo);
/// assert_eq!(o.fm_prior_weight, coselect_sim::options::DEFAULT_FM_PRIOR_WEIGHT);
/// assert_eq!(o.logit_adjustment, coselect_core::DEFAULT_LOGIT_ADJUSTMENT);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MethodOptions {
    /// No FM prior: no FM cold start, no FM in calibration, fusion or the EM class prior.
    pub no_prior: bool,
    /// No class-balanced quotas in the query selection.
    pub no_balance: bool,
    /// No seed mode (finding members of rare classes by the balanced posterior).
    pub no_seed: bool,
    /// No cross-fitted label trust.
    pub no_trust: bool,
    /// No co-decided pseudo-labels.
    pub no_pseudo: bool,
    /// No FM concepts in the deployed small model: one logistic unit per class even where the FM
    /// sees a class as several concepts (a merged class's members, a folder's
    /// `concept_scores.npy`), as the baselines' learner has.
    #[serde(default)]
    pub no_concepts: bool,
    /// No FM weight prior: the small models' weight penalty centred on zero instead of on the
    /// FM's linear readout ([`crate::Readout`]; over the concepts for a model with concept
    /// units). Measured in docs/method.md (session 4): with the folder's concepts it lifts every
    /// preset setting's area and savings.
    #[serde(default)]
    pub no_fm_weight_prior: bool,
    /// Weight of the FM weight prior in the deployed small model (human labels plus
    /// pseudo-labels): its penalty is `0.5 * w * |W - a_t W_fm|^2` against the data term scaled
    /// by `c_reg` ([`crate::FitPrior::weight`]). The human-only model behind co-decision and
    /// label trust keeps weight 1. Must be positive and finite; ignored with
    /// `no_fm_weight_prior` or `no_prior`. Results files written before the field existed
    /// (made with weight 1) read as the default, 4: their commit tells them apart.
    #[serde(default = "default_fm_prior_weight")]
    pub fm_prior_weight: f64,
    /// Strength `tau` of the deployed model's decision bias for balanced accuracy
    /// ([`crate::LearnerPrior::logit_adjustment`], `coselect_core::logit_adjustment`): 0 is the
    /// plain argmax, 1 the full correction by the model's class marginal on the pool. Must be
    /// finite and at least 0. Results files written before the field existed were made without
    /// the adjustment and read as 0.
    #[serde(default)]
    pub logit_adjustment: f32,
}

impl Default for MethodOptions {
    /// Every part on, [`DEFAULT_FM_PRIOR_WEIGHT`].
    fn default() -> Self {
        Self {
            no_prior: false,
            no_balance: false,
            no_seed: false,
            no_trust: false,
            no_pseudo: false,
            no_concepts: false,
            no_fm_weight_prior: false,
            fm_prior_weight: DEFAULT_FM_PRIOR_WEIGHT,
            logit_adjustment: coselect_core::DEFAULT_LOGIT_ADJUSTMENT,
        }
    }
}

impl MethodOptions {
    /// The switched-off parts, and a prior weight other than the default, as a short tag
    /// (`"full"` when nothing differs), for names and tables.
    ///
    /// ```
    /// let o = coselect_sim::MethodOptions { no_seed: true, no_pseudo: true, ..Default::default() };
    /// assert_eq!(o.tag(), "no-seed,no-pseudo");
    /// assert_eq!(coselect_sim::MethodOptions::default().tag(), "full");
    /// let w = coselect_sim::MethodOptions { fm_prior_weight: 1.0, ..Default::default() };
    /// assert_eq!(w.tag(), "fm-prior-weight=1");
    /// let t = coselect_sim::MethodOptions { logit_adjustment: 0.0, ..Default::default() };
    /// assert_eq!(t.tag(), "logit-adjustment=0");
    /// ```
    pub fn tag(&self) -> String {
        let mut parts: Vec<String> = [
            (self.no_prior, "no-prior"),
            (self.no_balance, "no-balance"),
            (self.no_seed, "no-seed"),
            (self.no_trust, "no-trust"),
            (self.no_pseudo, "no-pseudo"),
            (self.no_concepts, "no-concepts"),
            (self.no_fm_weight_prior, "no-fm-weight-prior"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| n.to_string())
        .collect();
        if self.fm_prior_weight != DEFAULT_FM_PRIOR_WEIGHT {
            parts.push(format!("fm-prior-weight={}", self.fm_prior_weight));
        }
        if self.logit_adjustment != coselect_core::DEFAULT_LOGIT_ADJUSTMENT {
            parts.push(format!("logit-adjustment={}", self.logit_adjustment));
        }
        if parts.is_empty() {
            "full".into()
        } else {
            parts.join(",")
        }
    }

    /// Checks the numeric options: a prior weight that is not positive and finite, or a logit
    /// adjustment that is negative or not finite, is a configuration error before any run starts.
    ///
    /// ```
    /// let bad = coselect_sim::MethodOptions { fm_prior_weight: 0.0, ..Default::default() };
    /// assert!(bad.validate().is_err());
    /// let bad = coselect_sim::MethodOptions { logit_adjustment: -0.5, ..Default::default() };
    /// assert!(bad.validate().is_err());
    /// assert!(coselect_sim::MethodOptions::default().validate().is_ok());
    /// ```
    pub fn validate(&self) -> crate::Result<()> {
        let w = self.fm_prior_weight;
        if !(w.is_finite() && w > 0.0) {
            return Err(crate::SimError::Config(format!(
                "the FM prior weight must be a positive finite number, got {w}"
            )));
        }
        let t = self.logit_adjustment;
        if !(t.is_finite() && t >= 0.0) {
            return Err(crate::SimError::Config(format!(
                "the logit adjustment must be a finite number of at least 0, got {t}"
            )));
        }
        Ok(())
    }
}
