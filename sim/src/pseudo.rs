//! The hook through which co-decided pseudo-labels and label trust enter training.
//!
//! Each round, after the batch is revealed, the loop asks the run's [`PseudoLabeler`] (if any):
//! 1. [`PseudoLabeler::suspects`]: labeled rows to leave out of training (label trust);
//! 2. trains the human-only model on the remaining human labels;
//! 3. [`PseudoLabeler::pseudo_labels`]: given that model's log-probabilities on the pool, the
//!    pseudo-labels of this round (recomputed each round, never accumulated);
//! 4. refits on human labels (weight 1) plus pseudo-labels (their weights): the deployed model.
//!
//! The real co-decision labeler is built on `coselect-core`: [`NamedLabeler::shared`].

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::learner::{LearnerConfig, LogReg};
use crate::matrix::Matrix;
use crate::options::MethodOptions;

/// One pseudo-label: a pool row, its class and its training weight.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PseudoLabel {
    /// Pool row.
    pub index: usize,
    /// Class given to it.
    pub class: usize,
    /// Training weight (DESIGN.md: 0.5).
    pub weight: f64,
}

/// What a labeler sees in a round.
#[derive(Debug, Clone, Copy)]
pub struct LabelerContext<'a> {
    /// Pool embeddings (N x D).
    pub pool_x: &'a Matrix,
    /// FM log-probabilities of the pool (N x C).
    pub fm_log_probs: &'a Matrix,
    /// FM log-probabilities of the pool over the FM's concepts (N x concepts: one level below
    /// each class, [`crate::Prepared::pool_concept_fm`]).
    pub concept_fm: &'a Matrix,
    /// The class of each concept.
    pub concept_class: &'a [usize],
    /// Number of classes C.
    pub n_classes: usize,
    /// Labeled pool rows, in labeling order.
    pub labeled: &'a [usize],
    /// The annotator's (noisy) label of each labeled row.
    pub labels: &'a [usize],
    /// `true` for labeled pool rows.
    pub is_labeled: &'a [bool],
    /// Round (0 = cold start).
    pub round: usize,
    /// Seed of this run, for cross-fitting folds and anything else random.
    pub seed: u64,
    /// The small model's configuration, for cross-fitting with [`crate::cross_fit`].
    pub learner: &'a LearnerConfig,
    /// Last round's human-only model, to warm-start fits.
    pub previous_human_model: Option<&'a LogReg>,
}

/// What a labeler adds to one small model's fit ([`crate::FitPrior`], owned for one round).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelPrior {
    /// Centre of the weight penalty ([`crate::Readout`]; over the concepts when `concepts`).
    pub centre: Option<crate::Readout>,
    /// Weight of that penalty ([`crate::FitPrior::weight`]).
    pub weight: f64,
    /// One logistic unit per FM concept ([`LabelerContext::concept_fm`]).
    pub concepts: bool,
}

impl Default for ModelPrior {
    /// The plain fit: no centre, weight 1, one unit per class.
    fn default() -> Self {
        Self {
            centre: None,
            weight: 1.0,
            concepts: false,
        }
    }
}

impl ModelPrior {
    /// The fit's view of this prior, with the run's concepts (used when `concepts`).
    pub fn fit_prior<'a>(&'a self, concepts: crate::Concepts<'a>) -> crate::FitPrior<'a> {
        crate::FitPrior {
            centre: self.centre.as_ref(),
            weight: self.weight,
            concepts: self.concepts.then_some(concepts),
        }
    }
}

/// The FM prior inside the round's two fits: the human-only model behind co-decision, and the
/// deployed model (human labels plus pseudo-labels) that selection and evaluation use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LearnerPrior {
    /// For the human-only model.
    pub human: ModelPrior,
    /// For the deployed model.
    pub deployed: ModelPrior,
    /// Strength `tau` of the deployed model's decision bias for balanced accuracy
    /// ([`crate::method::decision_bias`]): evaluation predicts `argmax_c log p(c | x) - tau ln
    /// pi_c` with `pi` the model's mean posterior over the pool; 0 is the plain argmax. `None`
    /// (the default) leaves it to the run's [`crate::LearnerConfig::logit_adjustment`]. Only the
    /// decision changes: selection and the labeler read the model's own log-probabilities.
    pub logit_adjustment: Option<f32>,
}

/// Produces label-trust decisions and co-decided pseudo-labels each round.
///
/// ```
/// use coselect_sim::{LabelerContext, Matrix, PseudoLabel, PseudoLabeler, Result};
/// /// Pseudo-labels every unlabeled row the model is 99% sure of, with weight 0.5.
/// struct Confident;
/// impl PseudoLabeler for Confident {
///     fn pseudo_labels(&mut self, ctx: &LabelerContext<'_>, model: &Matrix, _suspects: &[usize]) -> Result<Vec<PseudoLabel>> {
///         Ok((0..model.rows())
///             .filter(|&i| !ctx.is_labeled[i])
///             .filter_map(|i| {
///                 let c = model.argmax_row(i);
///                 (model.row(i)[c] > 0.99f32.ln()).then_some(PseudoLabel { index: i, class: c, weight: 0.5 })
///             })
///             .collect())
///     }
/// }
/// ```
pub trait PseudoLabeler: Send {
    /// Labeled pool rows whose human label should not be trusted this round (default: none).
    fn suspects(&mut self, ctx: &LabelerContext<'_>) -> Result<Vec<usize>> {
        let _ = ctx;
        Ok(Vec::new())
    }

    /// What this labeler adds to the small model's fits this round, given the trusted labels
    /// (`suspects` left out); the default adds nothing (the plain learner).
    fn learner_prior(
        &mut self,
        ctx: &LabelerContext<'_>,
        suspects: &[usize],
    ) -> Result<LearnerPrior> {
        let _ = (ctx, suspects);
        Ok(LearnerPrior::default())
    }

    /// The pseudo-labels of this round, from the human-only model's log-probabilities on the pool
    /// (`human_log_probs`, N x C) trained without `suspects`. Rows must be unlabeled.
    fn pseudo_labels(
        &mut self,
        ctx: &LabelerContext<'_>,
        human_log_probs: &Matrix,
        suspects: &[usize],
    ) -> Result<Vec<PseudoLabel>>;
}

/// Makes a fresh labeler for a run (each run owns its labeler, so labelers may keep state).
pub type LabelerFactory = Arc<dyn Fn(&MethodOptions) -> Box<dyn PseudoLabeler> + Send + Sync>;

/// A pseudo-labeler for the `pseudo` learner together with the name results.json records for
/// it ([`crate::experiment::RunConfigRecord::pseudo_labeler`]): one value, so a run's record
/// always names the labeler its baselines had, and stored baselines ([`crate::stored`]) are
/// compared only with runs whose baselines had the same one.
///
/// ```
/// use coselect_sim::pseudo::NamedLabeler;
/// use coselect_sim::MethodOptions;
/// let ours = NamedLabeler::ours();
/// assert_eq!(ours.name(), "ours");
/// let _labeler = ours.make(&MethodOptions::default());
/// assert_eq!(NamedLabeler::shared().name(), coselect_sim::experiment::SHARED_LABELER);
/// ```
#[derive(Clone)]
pub struct NamedLabeler {
    name: String,
    factory: LabelerFactory,
}

impl NamedLabeler {
    /// A labeler made by `factory`, recorded as `name`.
    pub fn new(name: impl Into<String>, factory: LabelerFactory) -> Self {
        Self {
            name: name.into(),
            factory,
        }
    }

    /// The co-decision every baseline gets by default
    /// ([`crate::strategy::SharedCoDecision`]: the pseudo-labels our method's learner gets, so
    /// only the query rule differs), named `"shared"`.
    pub fn shared() -> Self {
        let factory: LabelerFactory =
            Arc::new(|_: &MethodOptions| Box::new(crate::strategy::SharedCoDecision) as _);
        Self::new(crate::experiment::SHARED_LABELER, factory)
    }

    /// Our method's whole learner ([`ours_labeler`]), named `"ours"`.
    pub fn ours() -> Self {
        Self::new("ours", ours_labeler())
    }

    /// The name results.json records.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A fresh labeler for one run.
    pub fn make(&self, options: &MethodOptions) -> Box<dyn PseudoLabeler> {
        (self.factory)(options)
    }
}

/// Our method's whole learner (label trust, FM concepts, co-decided pseudo-labels, and the weight
/// prior when asked) as the labeler of the `pseudo` learner: given to every baseline, it leaves
/// only the query rule between them and ours, which splits ours' saving into learner and queries.
///
/// ```
/// let f = coselect_sim::pseudo::ours_labeler();
/// let _labeler = f(&coselect_sim::MethodOptions::default());
/// ```
pub fn ours_labeler() -> LabelerFactory {
    Arc::new(|o: &MethodOptions| {
        Box::new(crate::strategy::CoreLabeler::new(*o)) as Box<dyn PseudoLabeler>
    })
}
