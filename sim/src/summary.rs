//! Aggregation over seeds and the savings of DESIGN.md, for both comparisons.
//!
//! Comparison `plain`: baselines with the plain learner; comparison `pseudo`: baselines given the
//! co-decided pseudo-labels. A non-baseline strategy joins a comparison with its learner of the
//! same name or with its own learner (`own`, in both). In each comparison, a* is the best
//! baseline's final mean balanced accuracy, n(a*) the first budget where a mean curve reaches it,
//! savings = 1 - n(a*) / n_best(a*); the same against random's final mean.

use serde::{Deserialize, Serialize};

use crate::active_loop::{LearnerMode, RunResult};
use crate::metrics::{budget_to_reach, mean_se, savings};
use crate::setting::Setting;

/// The mean learning curve of one (setting, strategy, learner) over seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Curve {
    /// Setting name.
    pub setting: String,
    /// Strategy.
    pub strategy: String,
    /// Learner mode.
    pub learner: LearnerMode,
    /// Whether the strategy is a baseline.
    pub is_baseline: bool,
    /// Seeds averaged.
    pub seeds: usize,
    /// Budget of each round.
    pub budgets: Vec<usize>,
    /// Mean balanced accuracy per round.
    pub balanced_accuracy: Vec<f64>,
    /// Its standard error per round.
    pub balanced_accuracy_se: Vec<f64>,
    /// Mean minimum class recall per round.
    pub min_recall: Vec<f64>,
    /// Mean macro-F1 per round.
    pub macro_f1: Vec<f64>,
    /// Mean over rounds of the mean balanced accuracy (area under the curve per round).
    pub auc: f64,
    /// Label trust and pseudo-labels in the final round, averaged over seeds.
    #[serde(default)]
    pub final_labels: LabelStats,
    /// Mean wall time of one selection (round 0 included), seconds; a measurement, not a result.
    #[serde(default)]
    pub mean_select_seconds: f64,
}

/// Label trust and pseudo-label figures of one round, averaged over seeds (a rate over the seeds
/// where it is defined; `None` where it is defined for none).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LabelStats {
    /// Wrong human labels collected.
    pub noisy_collected: f64,
    /// Labels flagged as suspect.
    pub suspects: f64,
    /// Share of suspects that are really wrong.
    pub suspect_precision: Option<f64>,
    /// Share of wrong labels that were flagged.
    pub suspect_recall: Option<f64>,
    /// Pseudo-labels used.
    pub pseudo_labels: f64,
    /// Share of pseudo-labels equal to the clean label.
    pub pseudo_precision: Option<f64>,
}

fn mean_defined(v: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let d: Vec<f64> = v.flatten().collect();
    (!d.is_empty()).then(|| d.iter().sum::<f64>() / d.len() as f64)
}

fn label_stats(group: &[&RunResult], t: usize) -> LabelStats {
    let n = group.len().max(1) as f64;
    let rounds = || group.iter().map(move |r| &r.rounds[t]);
    LabelStats {
        noisy_collected: rounds().map(|r| r.noisy_collected as f64).sum::<f64>() / n,
        suspects: rounds().map(|r| r.suspects as f64).sum::<f64>() / n,
        suspect_precision: mean_defined(rounds().map(|r| r.suspect_precision)),
        suspect_recall: mean_defined(rounds().map(|r| r.suspect_recall)),
        pseudo_labels: rounds().map(|r| r.pseudo_labels as f64).sum::<f64>() / n,
        pseudo_precision: mean_defined(rounds().map(|r| r.pseudo_precision)),
    }
}

impl Curve {
    /// Final mean balanced accuracy.
    pub fn final_mean(&self) -> f64 {
        *self.balanced_accuracy.last().unwrap_or(&f64::NAN)
    }

    /// Standard error of the final balanced accuracy.
    pub fn final_se(&self) -> f64 {
        *self.balanced_accuracy_se.last().unwrap_or(&f64::NAN)
    }
}

/// One line of a comparison table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Strategy.
    pub strategy: String,
    /// Learner mode.
    pub learner: LearnerMode,
    /// Whether the strategy is a baseline.
    pub is_baseline: bool,
    /// Final mean balanced accuracy.
    pub final_mean: f64,
    /// Its standard error.
    pub final_se: f64,
    /// Mean over rounds of the mean curve.
    pub auc: f64,
    /// Labels needed to reach a* (`None`: not reached).
    pub labels_to_best: Option<usize>,
    /// Savings against the best baseline (`None`: not reached).
    pub savings_vs_best: Option<f64>,
    /// Labels needed to reach random's final mean (`None`: not reached).
    pub labels_to_random: Option<usize>,
    /// Savings against random (`None`: not reached, or no random run).
    pub savings_vs_random: Option<f64>,
}

/// One comparison in one setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Setting name.
    pub setting: String,
    /// `plain` or `pseudo`: the learner of the baselines.
    pub comparison: LearnerMode,
    /// The best baseline (highest final mean balanced accuracy).
    pub best_baseline: Option<String>,
    /// a*: its final mean balanced accuracy.
    pub a_star: Option<f64>,
    /// Labels the best baseline needs to reach a*.
    pub best_labels: Option<usize>,
    /// Random's final mean balanced accuracy.
    pub random_final: Option<f64>,
    /// Labels random needs to reach its final mean.
    pub random_labels: Option<usize>,
    /// Every strategy of the comparison, in strategy order.
    pub rows: Vec<Row>,
}

/// Curves and comparisons of an experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Mean curves.
    pub curves: Vec<Curve>,
    /// Comparisons per setting and baseline learner.
    pub comparisons: Vec<Comparison>,
}

/// Aggregates `runs` (any order) into curves and comparisons.
pub fn summarise(settings: &[Setting], runs: &[RunResult]) -> Summary {
    let mut curves = Vec::new();
    for s in settings {
        let mut keys: Vec<(String, LearnerMode, bool)> = Vec::new();
        for r in runs.iter().filter(|r| r.setting == s.name) {
            let k = (r.strategy.clone(), r.learner, r.is_baseline);
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        for (strategy, learner, is_baseline) in keys {
            let group: Vec<&RunResult> = runs
                .iter()
                .filter(|r| r.setting == s.name && r.strategy == strategy && r.learner == learner)
                .collect();
            curves.push(curve_of(&s.name, &strategy, learner, is_baseline, &group));
        }
    }
    let comparisons = compare_all(settings, &curves);
    Summary {
        curves,
        comparisons,
    }
}

/// The comparisons of `curves` (both learners of the baselines, for each setting that has a
/// baseline curve of that learner), as [`summarise`] makes them.
pub fn compare_all(settings: &[Setting], curves: &[Curve]) -> Vec<Comparison> {
    let mut comparisons = Vec::new();
    for s in settings {
        for mode in [LearnerMode::Plain, LearnerMode::Pseudo] {
            let members: Vec<&Curve> = curves
                .iter()
                .filter(|c| {
                    c.setting == s.name
                        && (c.learner == mode || (!c.is_baseline && c.learner == LearnerMode::Own))
                })
                .collect();
            if !members.iter().any(|c| c.is_baseline && c.learner == mode) {
                continue;
            }
            comparisons.push(compare(&s.name, mode, &members));
        }
    }
    comparisons
}

fn curve_of(
    setting: &str,
    strategy: &str,
    learner: LearnerMode,
    is_baseline: bool,
    group: &[&RunResult],
) -> Curve {
    let rounds = group.iter().map(|r| r.rounds.len()).min().unwrap_or(0);
    let mut c = Curve {
        setting: setting.into(),
        strategy: strategy.into(),
        learner,
        is_baseline,
        seeds: group.len(),
        budgets: Vec::new(),
        balanced_accuracy: Vec::new(),
        balanced_accuracy_se: Vec::new(),
        min_recall: Vec::new(),
        macro_f1: Vec::new(),
        auc: 0.0,
        final_labels: LabelStats::default(),
        mean_select_seconds: 0.0,
    };
    for t in 0..rounds {
        c.budgets.push(group[0].rounds[t].budget);
        let ba: Vec<f64> = group
            .iter()
            .map(|r| r.rounds[t].balanced_accuracy)
            .collect();
        let (m, se) = mean_se(&ba);
        c.balanced_accuracy.push(m);
        c.balanced_accuracy_se.push(se);
        c.min_recall.push(
            mean_se(
                &group
                    .iter()
                    .map(|r| r.rounds[t].min_recall)
                    .collect::<Vec<_>>(),
            )
            .0,
        );
        c.macro_f1.push(
            mean_se(
                &group
                    .iter()
                    .map(|r| r.rounds[t].macro_f1)
                    .collect::<Vec<_>>(),
            )
            .0,
        );
    }
    if rounds > 0 {
        c.final_labels = label_stats(group, rounds - 1);
        let times: Vec<f64> = group
            .iter()
            .flat_map(|r| r.rounds[..rounds].iter().map(|x| x.select_seconds))
            .collect();
        c.mean_select_seconds = times.iter().sum::<f64>() / times.len() as f64;
    }
    c.auc = if rounds > 0 {
        c.balanced_accuracy.iter().sum::<f64>() / rounds as f64
    } else {
        f64::NAN
    };
    c
}

/// The comparison table of `members` (curves of one setting) with baselines of learner `mode`.
pub fn compare(setting: &str, mode: LearnerMode, members: &[&Curve]) -> Comparison {
    let baselines: Vec<&&Curve> = members
        .iter()
        .filter(|c| c.is_baseline && c.learner == mode)
        .collect();
    // Ties: the earlier strategy in table order is the best baseline.
    let best = baselines.iter().fold(None::<&&&Curve>, |b, c| match b {
        Some(b) if b.final_mean() >= c.final_mean() => Some(b),
        _ => Some(c),
    });
    let a_star = best.map(|b| b.final_mean());
    let best_labels =
        best.and_then(|b| budget_to_reach(&b.budgets, &b.balanced_accuracy, b.final_mean()));
    let random = baselines.iter().find(|c| c.strategy == "random");
    let random_final = random.map(|r| r.final_mean());
    let random_labels =
        random.and_then(|r| budget_to_reach(&r.budgets, &r.balanced_accuracy, r.final_mean()));
    let rows = members
        .iter()
        .map(|c| {
            let to_best = a_star.and_then(|a| budget_to_reach(&c.budgets, &c.balanced_accuracy, a));
            let to_random =
                random_final.and_then(|a| budget_to_reach(&c.budgets, &c.balanced_accuracy, a));
            Row {
                strategy: c.strategy.clone(),
                learner: c.learner,
                is_baseline: c.is_baseline,
                final_mean: c.final_mean(),
                final_se: c.final_se(),
                auc: c.auc,
                labels_to_best: to_best,
                savings_vs_best: savings(to_best, best_labels),
                labels_to_random: to_random,
                savings_vs_random: savings(to_random, random_labels),
            }
        })
        .collect();
    Comparison {
        setting: setting.into(),
        comparison: mode,
        best_baseline: best.map(|b| b.strategy.clone()),
        a_star,
        best_labels,
        random_final,
        random_labels,
        rows,
    }
}
