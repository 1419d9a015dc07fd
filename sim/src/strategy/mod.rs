//! Query strategies: the [`Strategy`] trait, what a strategy sees ([`SelectContext`]), the
//! within-round [`Oracle`], and the registry by name (one file per strategy, as LabelBench does).
//!
//! To add a strategy: a file here with a type implementing [`Strategy`], and an [`Entry`] in
//! [`REGISTRY`]. Our method registers as `"ours"`: its `is_baseline` is `false`, it picks its own
//! round 0 (`cold_start`), and it brings its own learner hook (`own_labeler`) built from the
//! [`MethodOptions`] it receives.

mod badge;
mod base;
mod confidence;
mod coreset;
mod direct;
mod entropy;
mod fm_balanced;
mod galaxy;
mod margin;
mod ours;
mod random;

pub use badge::Badge;
pub use base::Base;
pub use confidence::Confidence;
pub use coreset::Coreset;
pub use direct::Direct;
pub use entropy::Entropy;
pub use fm_balanced::FmBalanced;
pub use galaxy::Galaxy;
pub use margin::Margin;
pub use ours::{co_decided, CoreLabeler, Ours, SharedCoDecision};
pub use random::Random;

use crate::error::{Result, SimError};
use crate::learner::{LearnerConfig, LogReg};
use crate::matrix::Matrix;
use crate::options::MethodOptions;
use crate::pseudo::{PseudoLabel, PseudoLabeler};
use crate::seed::SimRng;

/// Reveals the annotator's (noisy) labels one at a time within a round, for strategies that
/// decide the rest of the batch from the answers (GALAXY, DIRECT). Every revealed row counts
/// against the batch.
///
/// ```
/// use coselect_sim::Oracle;
/// let mut o = Oracle::new(vec![2, 0, 1], vec![false, true, false], 1);
/// assert!(o.reveal(1).is_err()); // already labeled
/// assert_eq!(o.reveal(2).unwrap(), 1);
/// assert!(o.reveal(0).is_err()); // batch spent
/// ```
#[derive(Debug, Clone)]
pub struct Oracle {
    noisy: Vec<usize>,
    is_labeled: Vec<bool>,
    budget: usize,
    revealed: Vec<(usize, usize)>,
}

impl Oracle {
    /// An oracle over `noisy` labels for a batch of `budget`; `is_labeled` marks rows labeled before.
    pub fn new(noisy: Vec<usize>, is_labeled: Vec<bool>, budget: usize) -> Self {
        Self {
            noisy,
            is_labeled,
            budget,
            revealed: Vec::new(),
        }
    }

    /// The annotator's label of pool row `i`, spending one label of the batch.
    pub fn reveal(&mut self, i: usize) -> Result<usize> {
        if i >= self.noisy.len() {
            return Err(SimError::Config(format!(
                "oracle: row {i} is outside the pool"
            )));
        }
        if self.is_labeled[i] {
            return Err(SimError::Config(format!(
                "oracle: row {i} is already labeled"
            )));
        }
        if self.revealed.len() >= self.budget {
            return Err(SimError::Config("oracle: the batch is spent".into()));
        }
        self.is_labeled[i] = true;
        self.revealed.push((i, self.noisy[i]));
        Ok(self.noisy[i])
    }

    /// Labels still available in this batch.
    pub fn remaining(&self) -> usize {
        self.budget - self.revealed.len()
    }

    /// Rows revealed so far in this round, with their labels.
    pub fn revealed(&self) -> &[(usize, usize)] {
        &self.revealed
    }

    /// Whether row `i` is labeled (before or during this round).
    pub fn is_labeled(&self, i: usize) -> bool {
        self.is_labeled[i]
    }
}

/// Everything a strategy may use to pick a batch.
pub struct SelectContext<'a> {
    /// Pool embeddings (N x D).
    pub pool_x: &'a Matrix,
    /// FM log-probabilities of the pool (N x C).
    pub fm_log_probs: &'a Matrix,
    /// Log-probabilities of the deployed small model on the pool (`None` in round 0).
    pub model_log_probs: Option<&'a Matrix>,
    /// The deployed small model (`None` in round 0).
    pub model: Option<&'a LogReg>,
    /// Labeled pool rows from earlier rounds, in labeling order.
    pub labeled: &'a [usize],
    /// The annotator's (noisy) label of each labeled row.
    pub labels: &'a [usize],
    /// `true` for rows labeled in earlier rounds.
    pub is_labeled: &'a [bool],
    /// Rows the learner hook distrusted in the last round (left out of training).
    pub suspects: &'a [usize],
    /// Pseudo-labels the learner used in the last round.
    pub pseudo: &'a [PseudoLabel],
    /// Number of classes C.
    pub n_classes: usize,
    /// Labels to collect this round.
    pub batch: usize,
    /// Round (0 = cold start).
    pub round: usize,
    /// Seed of this run.
    pub seed: u64,
    /// This run's random stream (seeded by run seed, strategy and learner).
    pub rng: &'a mut SimRng,
    /// Within-round label queries.
    pub oracle: &'a mut Oracle,
    /// The small model's configuration (for strategies that fit models themselves).
    pub learner: &'a LearnerConfig,
}

impl SelectContext<'_> {
    /// Unlabeled pool rows (not labeled before, not revealed this round), ascending.
    pub fn unlabeled(&self) -> Vec<usize> {
        (0..self.pool_x.rows())
            .filter(|&i| !self.oracle.is_labeled(i))
            .collect()
    }

    /// The deployed model's log-probabilities, or an error naming the strategy when absent.
    pub fn require_model(&self, strategy: &str) -> Result<&Matrix> {
        self.model_log_probs.ok_or_else(|| SimError::Selection {
            strategy: strategy.into(),
            round: self.round,
            reason: "needs a trained model, and none exists yet".into(),
        })
    }
}

/// A query strategy.
///
/// ```
/// use coselect_sim::{Result, SelectContext, Strategy};
/// /// Picks the lowest-index unlabeled rows.
/// struct First;
/// impl Strategy for First {
///     fn name(&self) -> &str { "first" }
///     fn select(&mut self, ctx: &mut SelectContext<'_>) -> Result<Vec<usize>> {
///         Ok(ctx.unlabeled().into_iter().take(ctx.batch).collect())
///     }
/// }
/// ```
pub trait Strategy: Send {
    /// Registry name.
    fn name(&self) -> &str;

    /// Whether it is a baseline (savings are reported for every strategy, against baselines only).
    fn is_baseline(&self) -> bool {
        true
    }

    /// `true`: the strategy picks round 0 itself (from the FM prior); `false`: round 0 is the
    /// uniform random draw shared by all baselines of a seed.
    fn cold_start(&self) -> bool {
        false
    }

    /// A learner hook of its own (our method's trust and pseudo-labels). A strategy with one runs
    /// once per seed, with learner `own`, and appears in both comparisons.
    fn own_labeler(&self) -> Option<Box<dyn PseudoLabeler>> {
        None
    }

    /// The batch: `ctx.batch` rows in total together with those revealed through `ctx.oracle`
    /// (rows revealed need not be returned again), none labeled before, no repeats.
    fn select(&mut self, ctx: &mut SelectContext<'_>) -> Result<Vec<usize>>;
}

/// A registry entry: a name and a constructor taking the method options.
#[derive(Clone, Copy)]
pub struct Entry {
    /// Name used on the command line.
    pub name: &'static str,
    /// Builds a fresh strategy for one run.
    pub build: fn(&MethodOptions) -> Box<dyn Strategy>,
}

fn build_random(_: &MethodOptions) -> Box<dyn Strategy> {
    Box::new(Random)
}
fn build_confidence(_: &MethodOptions) -> Box<dyn Strategy> {
    Box::new(Confidence)
}
fn build_margin(_: &MethodOptions) -> Box<dyn Strategy> {
    Box::new(Margin)
}
fn build_entropy(_: &MethodOptions) -> Box<dyn Strategy> {
    Box::new(Entropy)
}
fn build_fm_balanced(_: &MethodOptions) -> Box<dyn Strategy> {
    Box::new(FmBalanced)
}
fn build_coreset(_: &MethodOptions) -> Box<dyn Strategy> {
    Box::new(Coreset)
}
fn build_badge(_: &MethodOptions) -> Box<dyn Strategy> {
    Box::new(Badge)
}
fn build_base(_: &MethodOptions) -> Box<dyn Strategy> {
    Box::new(Base)
}
fn build_galaxy(_: &MethodOptions) -> Box<dyn Strategy> {
    Box::new(Galaxy)
}
fn build_direct(_: &MethodOptions) -> Box<dyn Strategy> {
    Box::new(Direct::default())
}
fn build_ours(options: &MethodOptions) -> Box<dyn Strategy> {
    Box::new(Ours { options: *options })
}

/// Every strategy by name, in table order.
pub const REGISTRY: &[Entry] = &[
    Entry {
        name: "random",
        build: build_random,
    },
    Entry {
        name: "confidence",
        build: build_confidence,
    },
    Entry {
        name: "margin",
        build: build_margin,
    },
    Entry {
        name: "entropy",
        build: build_entropy,
    },
    Entry {
        name: "fm-balanced",
        build: build_fm_balanced,
    },
    Entry {
        name: "coreset",
        build: build_coreset,
    },
    Entry {
        name: "badge",
        build: build_badge,
    },
    Entry {
        name: "base",
        build: build_base,
    },
    Entry {
        name: "galaxy",
        build: build_galaxy,
    },
    Entry {
        name: "direct",
        build: build_direct,
    },
    Entry {
        name: "ours",
        build: build_ours,
    },
];

/// Names of every registered strategy.
///
/// ```
/// assert!(coselect_sim::strategy::names().contains(&"margin"));
/// ```
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|e| e.name).collect()
}

/// Builds the strategy `name`.
///
/// ```
/// let s = coselect_sim::strategy::build("entropy", &Default::default()).unwrap();
/// assert_eq!(s.name(), "entropy");
/// assert!(coselect_sim::strategy::build("nope", &Default::default()).is_err());
/// ```
pub fn build(name: &str, options: &MethodOptions) -> Result<Box<dyn Strategy>> {
    REGISTRY
        .iter()
        .find(|e| e.name == name)
        .map(|e| (e.build)(options))
        .ok_or_else(|| SimError::UnknownStrategy {
            name: name.into(),
            known: names().join(", "),
        })
}

/// The `k` unlabeled rows with the highest `score`; ties go to the lower index.
///
/// ```
/// let top = coselect_sim::strategy::top_k(&[0.1, 0.9, 0.5, 0.9], &[false, false, false, true], 2);
/// assert_eq!(top, vec![1, 2]);
/// ```
pub fn top_k(score: &[f64], is_labeled: &[bool], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..score.len()).filter(|&i| !is_labeled[i]).collect();
    // Sorting by (score desc, index asc) is a total order, so the result is exact and portable.
    idx.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

/// Uncertainty scores of every pool row from log-probabilities, by `f(sorted probabilities)`.
pub(crate) fn per_row<F: Fn(&[f64]) -> f64>(lp: &Matrix, f: F) -> Vec<f64> {
    let mut p = vec![0.0f64; lp.cols()];
    (0..lp.rows())
        .map(|i| {
            for (o, &v) in p.iter_mut().zip(lp.row(i)) {
                *o = (v as f64).exp();
            }
            f(&p)
        })
        .collect()
}
