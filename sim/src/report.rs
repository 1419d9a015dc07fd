//! Writing results: the stdout table, `results.json`, `results.csv`, `summary.json`
//! (schema in docs/simulate.md).

use std::fmt::Write as _;
use std::path::Path;

use crate::error::{Result, SimError};
use crate::experiment::Results;
use crate::summary::Summary;

fn pct(v: Option<f64>) -> String {
    v.map(|s| format!("{:.0}%", 100.0 * s))
        .unwrap_or_else(|| "not reached".into())
}

fn labels(v: Option<usize>) -> String {
    v.map(|n| n.to_string())
        .unwrap_or_else(|| "not reached".into())
}

/// The summary as text tables, one per setting and comparison.
///
/// ```
/// let s = coselect_sim::Summary { curves: vec![], comparisons: vec![] };
/// assert!(coselect_sim::report::table(&s).is_empty());
/// ```
pub fn table(summary: &Summary) -> String {
    let mut out = String::new();
    for cmp in &summary.comparisons {
        let _ = writeln!(
            out,
            "\n== {} | baselines with the {} learner | best baseline: {} (a* = {}) | random final: {}",
            cmp.setting,
            cmp.comparison.as_str(),
            cmp.best_baseline.as_deref().unwrap_or("-"),
            cmp.a_star.map(|a| format!("{a:.3}")).unwrap_or_else(|| "-".into()),
            cmp.random_final.map(|a| format!("{a:.3}")).unwrap_or_else(|| "-".into()),
        );
        let _ = writeln!(
            out,
            "{:<14} {:<7} {:>15} {:>6} {:>12} {:>12} {:>12} {:>12}",
            "strategy",
            "learner",
            "final bal.acc",
            "auc",
            "n(a*)",
            "savings/best",
            "n(a_rand)",
            "savings/rand"
        );
        for r in &cmp.rows {
            let _ = writeln!(
                out,
                "{:<14} {:<7} {:>8.3} ± {:.3} {:>6.3} {:>12} {:>12} {:>12} {:>12}",
                r.strategy,
                r.learner.as_str(),
                r.final_mean,
                r.final_se,
                r.auc,
                labels(r.labels_to_best),
                pct(r.savings_vs_best),
                labels(r.labels_to_random),
                pct(r.savings_vs_random),
            );
        }
    }
    let with_hooks: Vec<_> = summary
        .curves
        .iter()
        .filter(|c| c.learner != crate::LearnerMode::Plain)
        .collect();
    if !with_hooks.is_empty() {
        let _ = writeln!(
            out,
            "\n== label trust and pseudo-labels in the final round (mean over seeds)"
        );
        let _ = writeln!(
            out,
            "{:<22} {:<14} {:<7} {:>8} {:>9} {:>10} {:>8} {:>8} {:>10}",
            "setting",
            "strategy",
            "learner",
            "wrong",
            "suspects",
            "precision",
            "recall",
            "pseudo",
            "precision"
        );
        let rate = |v: Option<f64>| v.map(|x| format!("{x:.2}")).unwrap_or_else(|| "-".into());
        for c in with_hooks {
            let l = &c.final_labels;
            let _ = writeln!(
                out,
                "{:<22} {:<14} {:<7} {:>8.1} {:>9.1} {:>10} {:>8} {:>8.0} {:>10}",
                c.setting,
                c.strategy,
                c.learner.as_str(),
                l.noisy_collected,
                l.suspects,
                rate(l.suspect_precision),
                rate(l.suspect_recall),
                l.pseudo_labels,
                rate(l.pseudo_precision),
            );
        }
    }
    out
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| SimError::Output {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.6}")).unwrap_or_default()
}

/// Every round of every run as CSV, one row per (setting, strategy, learner, seed, round).
pub fn csv(results: &Results) -> String {
    let mut out = String::from(
        "setting,strategy,learner,is_baseline,seed,round,budget,balanced_accuracy,min_recall,macro_f1,noisy_collected,suspects,suspect_precision,suspect_recall,pseudo_labels,pseudo_precision,select_seconds,labeled_per_class\n",
    );
    for run in &results.runs {
        for r in &run.rounds {
            let per_class: Vec<String> =
                r.labeled_per_class.iter().map(|n| n.to_string()).collect();
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{:.6},{:.6},{:.6},{},{},{},{},{},{},{:.6},{}",
                run.setting,
                run.strategy,
                run.learner.as_str(),
                run.is_baseline,
                run.seed,
                r.round,
                r.budget,
                r.balanced_accuracy,
                r.min_recall,
                r.macro_f1,
                r.noisy_collected,
                r.suspects,
                opt(r.suspect_precision),
                opt(r.suspect_recall),
                r.pseudo_labels,
                opt(r.pseudo_precision),
                r.select_seconds,
                per_class.join(";"),
            );
        }
    }
    out
}

/// Writes `results.json`, `results.csv`, `summary.json` and `summary.txt` (the stdout table)
/// into `dir` (created if needed).
pub fn write_outputs(results: &Results, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| SimError::Output {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    let json = |v: &dyn erased::Json| v.to_json();
    write(&dir.join("results.json"), &json(results))?;
    write(&dir.join("results.csv"), &csv(results))?;
    write(&dir.join("summary.txt"), &table(&results.summary))?;
    let summary = serde_json::json!({
        "config": results.config,
        "wall_seconds": results.wall_seconds,
        "curves": results.summary.curves,
        "comparisons": results.summary.comparisons,
    });
    write(
        &dir.join("summary.json"),
        &serde_json::to_string_pretty(&summary).unwrap_or_default(),
    )
}

mod erased {
    pub trait Json {
        fn to_json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> String {
            serde_json::to_string_pretty(self).unwrap_or_default()
        }
    }
}
