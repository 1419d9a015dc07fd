//! One active learning run: a strategy, a learner mode and a seed on a prepared setting.

use std::time::Instant;

use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::error::{Result, SimError};
use crate::learner::{Concepts, LearnerConfig, LogReg, TrainSet};
use crate::metrics::score;
use crate::pseudo::{LabelerContext, LearnerPrior, ModelPrior, PseudoLabel, PseudoLabeler};
use crate::seed::rng_for;
use crate::setting::{Prepared, Setting};
use crate::strategy::{Oracle, SelectContext, Strategy};

/// How a run's learner is trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LearnerMode {
    /// Human labels only.
    Plain,
    /// Human labels plus the shared co-decided pseudo-labels (and its label trust).
    Pseudo,
    /// The strategy's own learner hook (our method).
    Own,
}

impl LearnerMode {
    /// Lower-case name, as in the outputs.
    pub fn as_str(&self) -> &'static str {
        match self {
            LearnerMode::Plain => "plain",
            LearnerMode::Pseudo => "pseudo",
            LearnerMode::Own => "own",
        }
    }
}

/// What was measured after one round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundRecord {
    /// Round (0 = cold start).
    pub round: usize,
    /// Human labels collected so far.
    pub budget: usize,
    /// Balanced accuracy on the clean test split.
    pub balanced_accuracy: f64,
    /// Smallest class recall on the test split.
    pub min_recall: f64,
    /// Macro-F1 on the test split.
    pub macro_f1: f64,
    /// Labeled rows per (clean) class.
    pub labeled_per_class: Vec<usize>,
    /// Labeled rows whose annotator label is wrong.
    pub noisy_collected: usize,
    /// Labeled rows left out of training by label trust this round.
    pub suspects: usize,
    /// Share of suspects whose label is really wrong (`None` without suspects).
    pub suspect_precision: Option<f64>,
    /// Share of wrong labels that were flagged (`None` without wrong labels).
    pub suspect_recall: Option<f64>,
    /// Pseudo-labels used this round.
    pub pseudo_labels: usize,
    /// Share of pseudo-labels equal to the clean label (`None` without pseudo-labels).
    pub pseudo_precision: Option<f64>,
    /// Seconds spent in the strategy's selection for this round (not deterministic).
    pub select_seconds: f64,
}

/// All rounds of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// Setting name.
    pub setting: String,
    /// Strategy name.
    pub strategy: String,
    /// Learner mode.
    pub learner: LearnerMode,
    /// Whether the strategy is a baseline.
    pub is_baseline: bool,
    /// Seed.
    pub seed: u64,
    /// One record per round.
    pub rounds: Vec<RoundRecord>,
}

/// The uniform random round-0 batch shared by every baseline of a seed.
///
/// ```
/// let a = coselect_sim::active_loop::initial_batch(7, 100, 10);
/// assert_eq!(a, coselect_sim::active_loop::initial_batch(7, 100, 10));
/// assert_eq!(a.len(), 10);
/// ```
pub fn initial_batch(seed: u64, pool: usize, batch: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..pool).collect();
    idx.shuffle(&mut rng_for(seed, "initial-batch", 0));
    idx.truncate(batch);
    idx
}

/// Runs one strategy with one learner mode for one seed. `labeler` is the learner hook (`None`:
/// plain). `on_round` is called after each round (progress).
#[allow(clippy::too_many_arguments)]
pub fn run_one(
    prep: &Prepared,
    setting: &Setting,
    seed: u64,
    mut strategy: Box<dyn Strategy>,
    mode: LearnerMode,
    mut labeler: Option<Box<dyn PseudoLabeler>>,
    learner: &LearnerConfig,
    on_round: &(dyn Fn() + Sync),
) -> Result<RunResult> {
    let name = strategy.name().to_string();
    let n = prep.pool_x.rows();
    let c = prep.n_classes;
    let mut rng = rng_for(seed, &format!("strategy/{name}/{}", mode.as_str()), 0);
    let mut is_labeled = vec![false; n];
    let mut labeled: Vec<usize> = Vec::new();
    let mut labels: Vec<usize> = Vec::new();
    let mut human: Option<LogReg> = None;
    let mut deployed: Option<LogReg> = None;
    let mut pool_lp: Option<crate::Matrix> = None;
    let mut suspects: Vec<usize> = Vec::new();
    let mut pseudo: Vec<PseudoLabel> = Vec::new();
    let mut records = Vec::with_capacity(setting.rounds);

    for round in 0..setting.rounds {
        let sel_err = |reason: String| SimError::Selection {
            strategy: name.clone(),
            round,
            reason,
        };
        let started = Instant::now();
        let batch: Vec<usize> = if round == 0 && !strategy.cold_start() {
            initial_batch(seed, n, setting.batch)
        } else {
            let mut oracle =
                Oracle::new(prep.pool_noisy.clone(), is_labeled.clone(), setting.batch);
            let picked = {
                let mut ctx = SelectContext {
                    pool_x: &prep.pool_x,
                    fm_log_probs: &prep.pool_fm,
                    model_log_probs: pool_lp.as_ref(),
                    model: deployed.as_ref(),
                    labeled: &labeled,
                    labels: &labels,
                    is_labeled: &is_labeled,
                    suspects: &suspects,
                    pseudo: &pseudo,
                    n_classes: c,
                    batch: setting.batch,
                    round,
                    seed,
                    rng: &mut rng,
                    oracle: &mut oracle,
                    learner,
                };
                strategy.select(&mut ctx)?
            };
            let mut batch: Vec<usize> = oracle.revealed().iter().map(|&(i, _)| i).collect();
            for i in picked {
                if !batch.contains(&i) {
                    batch.push(i);
                }
            }
            batch
        };
        let select_seconds = started.elapsed().as_secs_f64();
        if batch.len() != setting.batch {
            return Err(sel_err(format!(
                "returned {} rows for a batch of {}",
                batch.len(),
                setting.batch
            )));
        }
        for &i in &batch {
            if i >= n {
                return Err(sel_err(format!("row {i} is outside the pool of {n}")));
            }
            if is_labeled[i] {
                return Err(sel_err(format!(
                    "row {i} is labeled already or chosen twice"
                )));
            }
            is_labeled[i] = true;
            labeled.push(i);
            labels.push(prep.pool_noisy[i]);
        }

        let ctx = LabelerContext {
            pool_x: &prep.pool_x,
            fm_log_probs: &prep.pool_fm,
            concept_fm: &prep.pool_concept_fm,
            concept_class: &prep.concept_class,
            n_classes: c,
            labeled: &labeled,
            labels: &labels,
            is_labeled: &is_labeled,
            round,
            seed,
            learner,
            previous_human_model: human.as_ref(),
        };
        suspects = match labeler.as_mut() {
            Some(l) => l.suspects(&ctx)?,
            None => Vec::new(),
        };
        let mut distrusted = vec![false; n];
        for &s in &suspects {
            if s >= n || !is_labeled[s] {
                return Err(sel_err(format!(
                    "label trust flagged row {s}, which is not labeled"
                )));
            }
            distrusted[s] = true;
        }
        let mut train = TrainSet::default();
        for (&i, &y) in labeled.iter().zip(&labels) {
            if !distrusted[i] {
                train.push(i, y, 1.0);
            }
        }
        let lp_prior = match labeler.as_mut() {
            Some(l) => l.learner_prior(&ctx, &suspects)?,
            None => LearnerPrior::default(),
        };
        let concepts = Concepts {
            fm: &prep.pool_concept_fm,
            class_of: &prep.concept_class,
        };
        let fit_prior = |m| ModelPrior::fit_prior(m, concepts);
        // The deployed model needs its own fit even without pseudo-labels when its prior differs.
        let same_prior = lp_prior.human == lp_prior.deployed;
        let new_human = LogReg::fit_with(
            &prep.pool_x,
            &train,
            c,
            learner,
            human.as_ref(),
            fit_prior(&lp_prior.human),
        );
        pseudo.clear();
        let (new_deployed, lp) = match labeler.as_mut() {
            Some(l) => {
                let human_lp = new_human.log_proba(&prep.pool_x);
                pseudo = l.pseudo_labels(&ctx, &human_lp, &suspects)?;
                for p in &pseudo {
                    if p.index >= n
                        || is_labeled[p.index]
                        || p.class >= c
                        || !(p.weight >= 0.0 && p.weight.is_finite())
                    {
                        return Err(sel_err(format!("invalid pseudo-label {p:?}")));
                    }
                }
                if pseudo.is_empty() && same_prior {
                    (new_human.clone(), human_lp)
                } else {
                    let mut with_pl = train.clone();
                    for p in &pseudo {
                        with_pl.push(p.index, p.class, p.weight);
                    }
                    let warm = deployed.as_ref().unwrap_or(&new_human);
                    // The previous deployed model shares this fit's units; the human-only one
                    // may not (then the warm start is skipped).
                    let m = LogReg::fit_with(
                        &prep.pool_x,
                        &with_pl,
                        c,
                        learner,
                        Some(warm),
                        fit_prior(&lp_prior.deployed),
                    );
                    let lp = m.log_proba(&prep.pool_x);
                    (m, lp)
                }
            }
            None => {
                let lp = new_human.log_proba(&prep.pool_x);
                (new_human.clone(), lp)
            }
        };
        human = Some(new_human);

        let test_lp = new_deployed.log_proba(&prep.test_x);
        let tau = lp_prior
            .logit_adjustment
            .unwrap_or(learner.logit_adjustment);
        let pred: Vec<usize> = match tau {
            t if t > 0.0 => {
                let bias = crate::method::decision_bias(&lp, t)?;
                let mut row = vec![0.0f32; c];
                (0..test_lp.rows())
                    .map(|i| {
                        for ((r, &v), &b) in row.iter_mut().zip(test_lp.row(i)).zip(&bias) {
                            *r = v + b;
                        }
                        coselect_core::math::argmax(&row)
                    })
                    .collect()
            }
            _ => (0..test_lp.rows()).map(|i| test_lp.argmax_row(i)).collect(),
        };
        let s = score(&prep.test_labels, &pred, c);
        let mut per_class = vec![0usize; c];
        let mut noisy_collected = 0;
        for &i in &labeled {
            per_class[prep.pool_clean[i]] += 1;
            noisy_collected += usize::from(prep.pool_noisy[i] != prep.pool_clean[i]);
        }
        let true_flags = suspects
            .iter()
            .filter(|&&i| prep.pool_noisy[i] != prep.pool_clean[i])
            .count();
        let correct_pl = pseudo
            .iter()
            .filter(|p| prep.pool_clean[p.index] == p.class)
            .count();
        records.push(RoundRecord {
            round,
            budget: labeled.len(),
            balanced_accuracy: s.balanced_accuracy,
            min_recall: s.min_recall,
            macro_f1: s.macro_f1,
            labeled_per_class: per_class,
            noisy_collected,
            suspects: suspects.len(),
            suspect_precision: (!suspects.is_empty())
                .then(|| true_flags as f64 / suspects.len() as f64),
            suspect_recall: (noisy_collected > 0)
                .then(|| true_flags as f64 / noisy_collected as f64),
            pseudo_labels: pseudo.len(),
            pseudo_precision: (!pseudo.is_empty()).then(|| correct_pl as f64 / pseudo.len() as f64),
            select_seconds,
        });
        deployed = Some(new_deployed);
        pool_lp = Some(lp);
        on_round();
    }
    Ok(RunResult {
        setting: setting.name.clone(),
        strategy: name,
        learner: mode,
        is_baseline: strategy.is_baseline(),
        seed,
        rounds: records,
    })
}
