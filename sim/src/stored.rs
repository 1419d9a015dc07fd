//! Baselines from an earlier run: compare a new run (ours alone, say) with the baseline curves
//! of a stored `results.json` or `summary.json` instead of running the baselines again.
//!
//! The research loop of the method changes ours and nothing else: every baseline curve of the
//! preset grid stays what it was, and running them again costs most of an hour on two cores,
//! against a minute for ours alone. The curves are taken only from a run of the same
//! experiment: the same dataset folder, settings, seeds, small-model configuration and
//! pseudo-labeler of the baselines; anything else is refused, since savings against other
//! baselines would be numbers about another experiment.

use std::path::Path;

use serde::Deserialize;

use crate::error::{Result, SimError};
use crate::experiment::{Results, RunConfigRecord};
use crate::summary::{compare_all, Curve};

/// The baseline curves of a stored run, with the configuration that made them.
#[derive(Debug, Clone)]
pub struct StoredBaselines {
    /// The stored run's configuration.
    pub config: RunConfigRecord,
    /// Its baseline curves (strategies without a learner of their own).
    pub curves: Vec<Curve>,
}

#[derive(Deserialize)]
struct CurvesOnly {
    curves: Vec<Curve>,
}

/// `results.json` nests the curves under `summary`; `summary.json` has them at the top.
#[derive(Deserialize)]
struct StoredFile {
    config: RunConfigRecord,
    summary: Option<CurvesOnly>,
    curves: Option<Vec<Curve>>,
}

impl StoredBaselines {
    /// Reads the baseline curves of a `results.json` or `summary.json` written by
    /// `coselect simulate` ([`crate::report::write_outputs`]).
    pub fn load(path: &Path) -> Result<Self> {
        let bad = |why: String| SimError::Config(format!("{}: {why}", path.display()));
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let f: StoredFile = serde_json::from_str(&text)
            .map_err(|e| bad(format!("not a results.json or summary.json: {e}")))?;
        let curves = match (f.summary, f.curves) {
            (Some(s), _) => s.curves,
            (None, Some(c)) => c,
            (None, None) => return Err(bad("holds no curves".into())),
        };
        Ok(Self::new(f.config, curves))
    }

    /// The baseline curves among `curves`, from a run configured as `config`.
    pub fn new(config: RunConfigRecord, curves: Vec<Curve>) -> Self {
        let curves = curves.into_iter().filter(|c| c.is_baseline).collect();
        Self { config, curves }
    }

    /// Adds the stored baseline curves to `results` (for its settings; a baseline curve the new
    /// run has itself is kept, not replaced) and recomputes its comparisons. Returns how many
    /// curves were added; a note in `results.config.notes` says where they came from.
    ///
    /// Refused, with the first difference named, unless both runs share the dataset folder,
    /// the small model's configuration, the seeds, the baselines' pseudo-labeler, and every
    /// setting of `results` (name, imbalance, noise, batch, rounds).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use coselect_sim::{stored::StoredBaselines, *};
    /// let dir = tempfile::tempdir()?;
    /// synthetic::write_blobs(dir.path(), 300, 8, 4, 1)?;
    /// let ds = Dataset::load(dir.path())?;
    /// let mut cfg = ExperimentConfig::new(vec![Setting::new(Imbalance::Merge { k: 3 }, 0.1, 10, 3)]);
    /// cfg.seeds = vec![0, 1];
    /// cfg.strategies = vec!["random".into(), "margin".into()];
    /// let baselines = run_experiment(&ds, &cfg)?;
    /// cfg.strategies = vec!["ours".into()];
    /// let mut ours = run_experiment(&ds, &cfg)?;
    /// let stored = StoredBaselines::new(baselines.config.clone(), baselines.summary.curves.clone());
    /// assert_eq!(stored.add_to(&mut ours)?, 4); // 2 strategies x 2 learners
    /// assert_eq!(ours.summary.comparisons.len(), 2); // plain and +PL
    /// # Ok(()) }
    /// ```
    pub fn add_to(&self, results: &mut Results) -> Result<usize> {
        self.check(&results.config)?;
        let mut merged: Vec<Curve> = Vec::new();
        let mut added = 0;
        // Setting by setting, the stored baselines first (in their stored order), then the new
        // run's curves: the order a single run of both would have with ours listed last.
        for setting in &results.config.settings {
            let name = &setting.name;
            for c in self.curves.iter().filter(|c| c.setting == *name) {
                let has = results.summary.curves.iter().any(|o| {
                    o.setting == c.setting && o.strategy == c.strategy && o.learner == c.learner
                });
                if !has {
                    merged.push(c.clone());
                    added += 1;
                }
            }
            merged.extend(
                results
                    .summary
                    .curves
                    .iter()
                    .filter(|c| c.setting == *name)
                    .cloned(),
            );
        }
        results.summary.comparisons = compare_all(&results.config.settings, &merged);
        results.summary.curves = merged;
        let mut strategies: Vec<String> = Vec::new();
        for c in &results.summary.curves {
            if !strategies.contains(&c.strategy) {
                strategies.push(c.strategy.clone());
            }
        }
        results.config.strategies = strategies;
        results.config.notes.push(format!(
            "{added} baseline curves taken from a stored run (same data, settings, seeds, small model and pseudo-labeler), not run again"
        ));
        Ok(added)
    }

    fn check(&self, new: &RunConfigRecord) -> Result<()> {
        let s = &self.config;
        let differ = |what: &str, a: String, b: String| {
            Err(SimError::Config(format!(
                "the stored baselines are from another experiment: {what} {a} there, {b} here"
            )))
        };
        if s.data != new.data {
            return differ("data", s.data.clone(), new.data.clone());
        }
        if s.seeds != new.seeds {
            return differ(
                "seeds",
                format!("{:?}", s.seeds),
                format!("{:?}", new.seeds),
            );
        }
        if s.learner_config != new.learner_config {
            return differ(
                "small model",
                format!("{:?}", s.learner_config),
                format!("{:?}", new.learner_config),
            );
        }
        if s.pseudo_labeler != new.pseudo_labeler {
            return differ(
                "pseudo-labeler",
                s.pseudo_labeler.clone(),
                new.pseudo_labeler.clone(),
            );
        }
        for set in &new.settings {
            match s.settings.iter().find(|o| o.name == set.name) {
                Some(o) if o == set => {}
                Some(o) => return differ("setting", format!("{o:?}"), format!("{set:?}")),
                None => {
                    return Err(SimError::Config(format!(
                        "the stored baselines have no setting {}",
                        set.name
                    )))
                }
            }
        }
        Ok(())
    }
}
