//! coselect-sim: the evaluation harness of coselect (DESIGN.md, "Evaluation protocol").
//!
//! A dataset folder ([`Dataset`]) is made imbalanced and noisy per [`Setting`] and seed
//! ([`setting::prepare`]); each strategy of the [`strategy`] registry runs the active learning
//! loop ([`active_loop::run_one`]) with the small model ([`LogReg`]) trained on human labels only
//! (`plain`) or with co-decided pseudo-labels from a [`PseudoLabeler`] (`pseudo`); metrics are
//! aggregated over seeds and turned into annotation savings ([`summary`]), tables, JSON/CSV
//! ([`report`]) and plots ([`plot`]).
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use coselect_sim::*;
//! let dir = tempfile::tempdir()?;
//! synthetic::write_blobs(dir.path(), 300, 8, 4, 1)?;
//! let ds = Dataset::load(dir.path())?;
//! let mut cfg = ExperimentConfig::new(vec![Setting::new(Imbalance::Merge { k: 3 }, 0.1, 10, 3)]);
//! cfg.seeds = vec![0, 1];
//! cfg.strategies = vec!["random".into(), "margin".into()];
//! let results = run_experiment(&ds, &cfg)?;
//! // 2 seeds x 2 strategies x 2 learners (plain, and with the co-decided pseudo-labels).
//! assert_eq!(results.runs.len(), 8);
//! println!("{}", report::table(&results.summary));
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod active_loop;
pub mod data;
pub mod error;
pub mod experiment;
pub mod learner;
pub mod matrix;
pub mod method;
pub mod metrics;
pub mod options;
pub mod plot;
pub mod pseudo;
pub mod readout;
pub mod report;
pub mod seed;
pub mod setting;
pub mod stored;
pub mod strategy;
pub mod summary;
pub mod synthetic;

pub use active_loop::{LearnerMode, RoundRecord, RunResult};
pub use data::{Dataset, DatasetConcepts};
pub use error::{Result, SimError};
pub use experiment::{run_experiment, ExperimentConfig, LearnerChoice, Results};
pub use learner::{cross_fit, Concepts, FitPrior, LearnerConfig, LogReg, TrainSet};
pub use matrix::Matrix;
pub use options::MethodOptions;
pub use pseudo::{
    LabelerContext, LabelerFactory, LearnerPrior, ModelPrior, NamedLabeler, PseudoLabel,
    PseudoLabeler,
};
pub use readout::Readout;
pub use setting::{Imbalance, Prepared, Setting};
pub use strategy::{Oracle, SelectContext, Strategy};
pub use summary::Summary;
