//! "ours": the method of DESIGN.md through `coselect-core` (see [`crate::method`]).
//!
//! Round 0: the FM alone, balanced over its prior-adjusted predicted classes (seed mode for
//! every class). Later rounds: calibrate the FM temperature and the fusion on the trusted labels,
//! estimate the pool prior by EM on the fused posterior, then water-filled quotas with seed mode
//! for classes below `seed_min` labels and boundary queries on the deployed small model for the
//! others. The labeler ([`CoreLabeler`]) adds label trust and co-decided pseudo-labels.

use coselect_core::Fusion;

use crate::error::Result;
use crate::method::{self, core_config};
use crate::options::MethodOptions;
use crate::pseudo::{LabelerContext, LearnerPrior, ModelPrior, PseudoLabel, PseudoLabeler};
use crate::strategy::{SelectContext, Strategy};
use crate::{cross_fit, Matrix, Readout, TrainSet};

/// Our method's query rule.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ours {
    /// Ablation switches.
    pub options: MethodOptions,
}

impl Strategy for Ours {
    fn name(&self) -> &str {
        "ours"
    }

    fn is_baseline(&self) -> bool {
        false
    }

    fn cold_start(&self) -> bool {
        // Without the FM prior (or without seed mode) there is nothing to start from but chance.
        !(self.options.no_prior || self.options.no_seed)
    }

    fn own_labeler(&self) -> Option<Box<dyn PseudoLabeler>> {
        Some(Box::new(CoreLabeler::new(self.options)))
    }

    fn select(&mut self, ctx: &mut SelectContext<'_>) -> Result<Vec<usize>> {
        let c = ctx.n_classes;
        let mut cfg = core_config(c, ctx.batch)?;
        if self.options.no_seed {
            cfg.seed_min = 0;
        }
        let (rows, ys, counts) = method::trusted(ctx.labeled, ctx.labels, ctx.suspects, c);
        let fm = ctx.fm_log_probs;
        let sm = ctx.model_log_probs;
        let fus = match (sm, self.options.no_prior) {
            // Without the FM, the "fused" posterior is the small model alone.
            (Some(_), true) => Fusion { a: 0.0, b: 1.0 },
            (None, true) => Fusion { a: 0.0, b: 0.0 },
            (None, false) => Fusion {
                a: method::temperature(&cfg, fm, &rows, &ys)?,
                b: 0.0,
            },
            (Some(sm), false) => method::fusion(&cfg, fm, sm, &rows, &ys)?,
        };
        let quota_counts = if self.options.no_balance {
            // Equal counts: quotas split k evenly, blind to which classes lack labels.
            vec![counts.iter().copied().max().unwrap_or(0); c]
        } else {
            counts.clone()
        };
        let picks = method::select(&cfg, fm, sm, fus, ctx.is_labeled, &counts, &quota_counts)?;
        Ok(picks.into_iter().map(|p| p.index as usize).collect())
    }
}

/// Label trust (cross-fitted, 5 folds) and co-decided pseudo-labels through the core.
#[derive(Debug, Clone, Default)]
pub struct CoreLabeler {
    /// Ablation switches (`no_trust`, `no_pseudo`, `no_prior`).
    pub options: MethodOptions,
    /// The FM's linear readout on this run's pool (unless `no_fm_weight_prior`), fitted at the first
    /// round that needs it: over the classes, and over the concepts.
    pub readout: Option<Readout>,
    /// See `readout`.
    pub concept_readout: Option<Readout>,
}

impl CoreLabeler {
    /// The labeler of our method under `options`.
    pub fn new(options: MethodOptions) -> Self {
        Self {
            options,
            readout: None,
            concept_readout: None,
        }
    }
}

/// Ridge of the readout fit, relative to the embeddings' mean square (keeps it unique).
const READOUT_RIDGE: f64 = 1e-6;

/// Folds of the cross-fitting behind label trust.
const TRUST_FOLDS: usize = 5;

impl PseudoLabeler for CoreLabeler {
    fn suspects(&mut self, ctx: &LabelerContext<'_>) -> Result<Vec<usize>> {
        if self.options.no_trust || self.options.no_prior || ctx.labeled.len() < 2 * TRUST_FOLDS {
            return Ok(Vec::new());
        }
        let cfg = core_config(ctx.n_classes, 1)?;
        let set = TrainSet::human(ctx.labeled, ctx.labels);
        let oos: Matrix = cross_fit(
            ctx.pool_x,
            &set,
            ctx.n_classes,
            ctx.learner,
            TRUST_FOLDS,
            ctx.seed ^ ctx.round as u64,
            ctx.previous_human_model,
        );
        method::suspects(&cfg, ctx.fm_log_probs, &oos, ctx.labeled, ctx.labels)
    }

    fn learner_prior(
        &mut self,
        ctx: &LabelerContext<'_>,
        suspects: &[usize],
    ) -> Result<LearnerPrior> {
        // The decision bias needs neither the FM nor labels: every ablation keeps it unless it
        // is set to 0 itself.
        let logit_adjustment = Some(self.options.logit_adjustment);
        if self.options.no_prior {
            return Ok(LearnerPrior {
                logit_adjustment,
                ..LearnerPrior::default()
            });
        }
        // Concepts change the model only where a class is several of them; with one concept
        // per class the plain model is the same model.
        let concepts = !self.options.no_concepts && ctx.concept_class.len() > ctx.n_classes;
        let mut prior = LearnerPrior {
            human: ModelPrior::default(),
            deployed: ModelPrior {
                centre: None,
                weight: self.options.fm_prior_weight,
                concepts,
            },
            logit_adjustment,
        };
        if self.options.no_fm_weight_prior {
            return Ok(prior);
        }
        let cfg = core_config(ctx.n_classes, 1)?;
        let (rows, ys, _) = method::trusted(ctx.labeled, ctx.labels, suspects, ctx.n_classes);
        if rows.is_empty() {
            return Ok(prior);
        }
        let a_t = method::temperature(&cfg, ctx.fm_log_probs, &rows, &ys)? as f64;
        let by_class = self
            .readout
            .get_or_insert_with(|| Readout::fit(ctx.pool_x, ctx.fm_log_probs, READOUT_RIDGE));
        prior.human.centre = Some(by_class.scaled(a_t));
        prior.deployed.centre = Some(if concepts {
            self.concept_readout
                .get_or_insert_with(|| Readout::fit(ctx.pool_x, ctx.concept_fm, READOUT_RIDGE))
                .scaled(a_t)
        } else {
            by_class.scaled(a_t)
        });
        Ok(prior)
    }

    fn pseudo_labels(
        &mut self,
        ctx: &LabelerContext<'_>,
        human_log_probs: &Matrix,
        suspects: &[usize],
    ) -> Result<Vec<PseudoLabel>> {
        if self.options.no_pseudo || self.options.no_prior {
            return Ok(Vec::new());
        }
        co_decided(ctx, human_log_probs, suspects)
    }
}

/// The co-decided pseudo-labels of a round: the same rule for our method and for every baseline
/// under the `pseudo` learner (only the query rule then differs).
pub fn co_decided(
    ctx: &LabelerContext<'_>,
    human_log_probs: &Matrix,
    suspects: &[usize],
) -> Result<Vec<PseudoLabel>> {
    let cfg = core_config(ctx.n_classes, 1)?;
    let (rows, ys, counts) = method::trusted(ctx.labeled, ctx.labels, suspects, ctx.n_classes);
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let a_t = method::temperature(&cfg, ctx.fm_log_probs, &rows, &ys)?;
    let accepted = method::co_decide(
        &cfg,
        ctx.fm_log_probs,
        human_log_probs,
        ctx.is_labeled,
        &counts,
        a_t,
    )?;
    let w = cfg.pseudo_weight as f64;
    Ok(accepted
        .into_iter()
        .map(|(index, class, _)| PseudoLabel {
            index,
            class,
            weight: w,
        })
        .collect())
}

/// The co-decision labeler every baseline gets under `--learner pseudo`: pseudo-labels without
/// label trust (trust is part of our method, not of the shared learner).
#[derive(Debug, Clone, Copy, Default)]
pub struct SharedCoDecision;

impl PseudoLabeler for SharedCoDecision {
    fn pseudo_labels(
        &mut self,
        ctx: &LabelerContext<'_>,
        human_log_probs: &Matrix,
        suspects: &[usize],
    ) -> Result<Vec<PseudoLabel>> {
        co_decided(ctx, human_log_probs, suspects)
    }
}
