//! Ablation switches of our method, parsed by the CLI and handed to the strategy "ours" and to
//! the co-decision pseudo-labeler.

use serde::{Deserialize, Serialize};

/// Which parts of the method are switched off (all on by default).
///
/// ```
/// let o = coselect_sim::MethodOptions { no_trust: true, ..Default::default() };
/// assert!(o.no_trust && !o.no_pseudo);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
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
}

impl MethodOptions {
    /// The switched-off parts as a short tag (`"full"` when none is), for names and tables.
    ///
    /// ```
    /// let o = coselect_sim::MethodOptions { no_seed: true, no_pseudo: true, ..Default::default() };
    /// assert_eq!(o.tag(), "no-seed,no-pseudo");
    /// assert_eq!(coselect_sim::MethodOptions::default().tag(), "full");
    /// ```
    pub fn tag(&self) -> String {
        let parts: Vec<&str> = [
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
        .map(|(_, n)| *n)
        .collect();
        if parts.is_empty() {
            "full".into()
        } else {
            parts.join(",")
        }
    }
}
