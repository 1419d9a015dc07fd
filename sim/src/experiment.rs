//! A whole experiment: settings x seeds x strategies x learner modes, run in parallel with a
//! progress bar. Each run is single-threaded and seeded by its own name, so results do not depend
//! on the thread count.

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::active_loop::{run_one, LearnerMode, RunResult};
use crate::data::Dataset;
use crate::error::{Result, SimError};
use crate::learner::LearnerConfig;
use crate::options::MethodOptions;
use crate::pseudo::NamedLabeler;
use crate::setting::{prepare, validate, Setting};
use crate::strategy;
use crate::summary::{summarise, Summary};

/// Which learners the baselines run with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LearnerChoice {
    /// Human labels only.
    Plain,
    /// With the shared co-decided pseudo-labels.
    Pseudo,
    /// Both (the two comparisons of DESIGN.md).
    Both,
}

/// Everything an experiment needs besides the dataset.
#[derive(Clone)]
pub struct ExperimentConfig {
    /// Settings to run.
    pub settings: Vec<Setting>,
    /// Run seeds.
    pub seeds: Vec<u64>,
    /// Strategy names (registry).
    pub strategies: Vec<String>,
    /// Learner modes for strategies without a learner of their own.
    pub learner: LearnerChoice,
    /// Ablation switches for our method.
    pub options: MethodOptions,
    /// The small model.
    pub learner_config: LearnerConfig,
    /// The pseudo-labeler for the `pseudo` learner, with the name results.json records for it
    /// ([`NamedLabeler::shared`] by default, [`NamedLabeler::ours`] for `--pseudo-labeler
    /// ours`): stored baselines are compared only with runs whose baselines had the same one
    /// ([`crate::stored`]).
    pub labeler: NamedLabeler,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Stack size of the worker threads that run the jobs. coselect-core keeps its buffers on
    /// the stack (no allocator), which overflows the 2 MiB default of rayon's workers; the
    /// memory is reserved, not committed, until used.
    pub worker_stack_bytes: usize,
}

/// The name of [`NamedLabeler::shared`], the default labeler, in results.json.
pub const SHARED_LABELER: &str = "shared";

fn shared_labeler_name() -> String {
    SHARED_LABELER.into()
}

/// Default [`ExperimentConfig::worker_stack_bytes`]: 256 MiB.
pub const DEFAULT_WORKER_STACK_BYTES: usize = 256 << 20;

impl ExperimentConfig {
    /// A configuration with every registered strategy, 4 seeds, both learners.
    ///
    /// ```
    /// use coselect_sim::{ExperimentConfig, Imbalance, Setting};
    /// let cfg = ExperimentConfig::new(vec![Setting::new(Imbalance::Merge { k: 3 }, 0.1, 30, 25)]);
    /// assert_eq!(cfg.seeds, vec![0, 1, 2, 3]);
    /// ```
    pub fn new(settings: Vec<Setting>) -> Self {
        Self {
            settings,
            seeds: vec![0, 1, 2, 3],
            strategies: strategy::names().into_iter().map(String::from).collect(),
            learner: LearnerChoice::Both,
            options: MethodOptions::default(),
            learner_config: LearnerConfig::default(),
            labeler: NamedLabeler::shared(),
            progress: false,
            worker_stack_bytes: DEFAULT_WORKER_STACK_BYTES,
        }
    }
}

/// The recorded configuration of an experiment (what results.json carries).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunConfigRecord {
    /// Dataset folder.
    pub data: String,
    /// Settings.
    pub settings: Vec<Setting>,
    /// Seeds.
    pub seeds: Vec<u64>,
    /// Strategies.
    pub strategies: Vec<String>,
    /// Learner modes actually run for strategies without their own learner.
    pub learner_modes: Vec<LearnerMode>,
    /// Ablation switches.
    pub options: MethodOptions,
    /// The small model.
    pub learner_config: LearnerConfig,
    /// What the `pseudo` learner gave the baselines (the name of [`ExperimentConfig::labeler`]).
    /// Results files written before the field existed read as `"shared"`: their commit tells
    /// whether `--pseudo-labeler ours` made them.
    #[serde(default = "shared_labeler_name")]
    pub pseudo_labeler: String,
    /// Notes (e.g. why a learner mode was skipped).
    pub notes: Vec<String>,
}

/// Every run and the summary of an experiment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    /// Configuration.
    pub config: RunConfigRecord,
    /// Every run, in job order (setting, seed, strategy, learner).
    pub runs: Vec<RunResult>,
    /// Aggregates and savings.
    pub summary: Summary,
    /// Wall time of the experiment in seconds.
    pub wall_seconds: f64,
}

struct Job {
    setting: usize,
    seed_idx: usize,
    strategy: String,
    mode: LearnerMode,
}

/// Runs the experiment on `ds`. All settings are checked before any run starts.
pub fn run_experiment(ds: &Dataset, cfg: &ExperimentConfig) -> Result<Results> {
    let started = std::time::Instant::now();
    if cfg.settings.is_empty() || cfg.seeds.is_empty() || cfg.strategies.is_empty() {
        return Err(SimError::Config(
            "an experiment needs at least one setting, seed and strategy".into(),
        ));
    }
    for s in &cfg.settings {
        validate(ds, s)?;
    }
    cfg.options.validate()?;
    let t = cfg.learner_config.logit_adjustment;
    if !(t.is_finite() && t >= 0.0) {
        return Err(SimError::Config(format!(
            "the baselines' logit adjustment must be a finite number of at least 0, got {t}"
        )));
    }
    let modes: Vec<LearnerMode> = match cfg.learner {
        LearnerChoice::Plain => vec![LearnerMode::Plain],
        LearnerChoice::Pseudo => vec![LearnerMode::Pseudo],
        LearnerChoice::Both => vec![LearnerMode::Plain, LearnerMode::Pseudo],
    };
    // Build each strategy once up front: unknown names fail before any work.
    let mut jobs = Vec::new();
    for (si, _) in cfg.settings.iter().enumerate() {
        for seed_idx in 0..cfg.seeds.len() {
            for name in &cfg.strategies {
                let s = strategy::build(name, &cfg.options)?;
                if s.own_labeler().is_some() {
                    jobs.push(Job {
                        setting: si,
                        seed_idx,
                        strategy: name.clone(),
                        mode: LearnerMode::Own,
                    });
                } else {
                    for &mode in &modes {
                        jobs.push(Job {
                            setting: si,
                            seed_idx,
                            strategy: name.clone(),
                            mode,
                        });
                    }
                }
            }
        }
    }
    let prepared: Vec<Vec<_>> = cfg
        .settings
        .iter()
        .map(|s| {
            cfg.seeds
                .iter()
                .map(|&seed| prepare(ds, s, seed))
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<_>>()?;

    let total_rounds: u64 = jobs
        .iter()
        .map(|j| cfg.settings[j.setting].rounds as u64)
        .sum();
    let bar = if cfg.progress {
        ProgressBar::new(total_rounds)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} rounds (eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let tick = || bar.inc(1);
    // Same thread count as the caller's pool (so `ThreadPool::install` still sets it), larger stacks.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(rayon::current_num_threads())
        .stack_size(cfg.worker_stack_bytes)
        .build()
        .map_err(|e| SimError::Config(format!("cannot start worker threads: {e}")))?;
    let runs: Vec<RunResult> = pool.install(|| {
        jobs.par_iter()
            .map(|job| {
                let setting = &cfg.settings[job.setting];
                let seed = cfg.seeds[job.seed_idx];
                let prep = &prepared[job.setting][job.seed_idx];
                let strat = strategy::build(&job.strategy, &cfg.options)?;
                let hook = match job.mode {
                    LearnerMode::Plain => None,
                    LearnerMode::Pseudo => Some(cfg.labeler.make(&cfg.options)),
                    LearnerMode::Own => strat.own_labeler(),
                };
                run_one(
                    prep,
                    setting,
                    seed,
                    strat,
                    job.mode,
                    hook,
                    &cfg.learner_config,
                    &tick,
                )
            })
            .collect::<Result<_>>()
    })?;
    bar.finish_and_clear();
    let summary = summarise(&cfg.settings, &runs);
    Ok(Results {
        config: RunConfigRecord {
            data: ds.path.display().to_string(),
            settings: cfg.settings.clone(),
            seeds: cfg.seeds.clone(),
            strategies: cfg.strategies.clone(),
            learner_modes: modes,
            options: cfg.options,
            learner_config: cfg.learner_config.clone(),
            pseudo_labeler: cfg.labeler.name().to_string(),
            notes: Vec::new(),
        },
        runs,
        summary,
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}
