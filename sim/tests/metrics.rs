//! Metrics and savings on hand-worked values.

use coselect_sim::active_loop::RunResult;
use coselect_sim::metrics::score;
use coselect_sim::summary::{compare, summarise, Curve};
use coselect_sim::{Imbalance, LearnerMode, RoundRecord, Setting};

#[test]
fn scores_of_a_hand_worked_confusion() {
    // truth: 0 0 0 1 1 2 ; pred: 0 0 1 1 2 2
    // recall: 2/3, 1/2, 1 -> balanced 13/18; min 1/2
    // precision: 1, 1/2, 1/2; F1: 0.8, 0.5, 2/3 -> macro 59/90
    let s = score(&[0, 0, 0, 1, 1, 2], &[0, 0, 1, 1, 2, 2], 3);
    assert!((s.balanced_accuracy - 13.0 / 18.0).abs() < 1e-12);
    assert!((s.min_recall - 0.5).abs() < 1e-12);
    assert!((s.macro_f1 - 59.0 / 90.0).abs() < 1e-12);
    // A class absent from the truth is not averaged.
    let s = score(&[0, 0], &[0, 1], 3);
    assert!((s.balanced_accuracy - 0.5).abs() < 1e-12);
}

fn curve(strategy: &str, learner: LearnerMode, is_baseline: bool, ba: &[f64]) -> Curve {
    Curve {
        setting: "s".into(),
        strategy: strategy.into(),
        learner,
        is_baseline,
        seeds: 1,
        budgets: (1..=ba.len()).map(|r| 100 * r).collect(),
        balanced_accuracy: ba.to_vec(),
        balanced_accuracy_se: vec![0.0; ba.len()],
        min_recall: ba.to_vec(),
        macro_f1: ba.to_vec(),
        auc: ba.iter().sum::<f64>() / ba.len() as f64,
        final_labels: Default::default(),
        mean_select_seconds: 0.0,
    }
}

#[test]
fn savings_on_hand_made_curves() {
    let random = curve(
        "random",
        LearnerMode::Plain,
        true,
        &[0.50, 0.55, 0.60, 0.62, 0.64, 0.65],
    );
    // The best baseline peaks at 0.70 only at its last budget: n_best = 600.
    let margin = curve(
        "margin",
        LearnerMode::Plain,
        true,
        &[0.50, 0.58, 0.63, 0.66, 0.68, 0.70],
    );
    // Ours reaches 0.70 at 200: savings 1 - 200/600; reaches random's 0.65 at 200 where random needs 600.
    let ours = curve(
        "ours",
        LearnerMode::Own,
        false,
        &[0.60, 0.71, 0.72, 0.72, 0.73, 0.74],
    );
    // Never reaches a*.
    let weak = curve(
        "weak",
        LearnerMode::Own,
        false,
        &[0.3, 0.4, 0.5, 0.6, 0.66, 0.69],
    );
    let cmp = compare("s", LearnerMode::Plain, &[&random, &margin, &ours, &weak]);
    assert_eq!(cmp.best_baseline.as_deref(), Some("margin"));
    assert_eq!(cmp.a_star, Some(0.70));
    assert_eq!(cmp.best_labels, Some(600));
    assert_eq!(cmp.random_labels, Some(600));
    let row = |n: &str| cmp.rows.iter().find(|r| r.strategy == n).unwrap().clone();
    assert_eq!(row("ours").labels_to_best, Some(200));
    assert!((row("ours").savings_vs_best.unwrap() - 2.0 / 3.0).abs() < 1e-12);
    assert!((row("ours").savings_vs_random.unwrap() - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(row("margin").savings_vs_best, Some(0.0));
    // margin reaches random's final 0.65 at 400: 1 - 400/600.
    assert!((row("margin").savings_vs_random.unwrap() - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(row("weak").labels_to_best, None);
    assert_eq!(row("weak").savings_vs_best, None);
    assert_eq!(row("weak").labels_to_random, Some(500));
}

fn run(strategy: &str, learner: LearnerMode, seed: u64, ba: &[f64]) -> RunResult {
    RunResult {
        setting: "merge3-noise0.1".into(),
        strategy: strategy.into(),
        learner,
        is_baseline: strategy != "ours",
        seed,
        rounds: ba
            .iter()
            .enumerate()
            .map(|(r, &a)| RoundRecord {
                round: r,
                budget: 10 * (r + 1),
                balanced_accuracy: a,
                min_recall: a,
                macro_f1: a,
                labeled_per_class: vec![],
                noisy_collected: 0,
                suspects: 0,
                suspect_precision: None,
                suspect_recall: None,
                pseudo_labels: 0,
                pseudo_precision: None,
                select_seconds: 0.0,
            })
            .collect(),
    }
}

#[test]
fn summary_averages_seeds_and_builds_both_comparisons() {
    let settings = vec![Setting::new(Imbalance::Merge { k: 3 }, 0.1, 10, 2)];
    let runs = vec![
        run("random", LearnerMode::Plain, 0, &[0.4, 0.6]),
        run("random", LearnerMode::Plain, 1, &[0.6, 0.8]),
        run("random", LearnerMode::Pseudo, 0, &[0.5, 0.7]),
        run("random", LearnerMode::Pseudo, 1, &[0.5, 0.9]),
        run("ours", LearnerMode::Own, 0, &[0.7, 0.8]),
        run("ours", LearnerMode::Own, 1, &[0.7, 0.8]),
    ];
    let s = summarise(&settings, &runs);
    assert_eq!(s.curves.len(), 3);
    let plain = &s.curves[0];
    assert!((plain.balanced_accuracy[1] - 0.7).abs() < 1e-12);
    assert!((plain.balanced_accuracy_se[1] - 0.1).abs() < 1e-12);
    assert_eq!(s.comparisons.len(), 2);
    let (p, q) = (&s.comparisons[0], &s.comparisons[1]);
    assert_eq!(p.comparison, LearnerMode::Plain);
    // Plain: a* = 0.7 reached by random at 20 and by ours at 10 -> 50%.
    assert_eq!(
        p.rows
            .iter()
            .find(|r| r.strategy == "ours")
            .unwrap()
            .savings_vs_best,
        Some(0.5)
    );
    // Pseudo: a* = 0.8, random reaches it at 20, ours at 20 -> 0%.
    assert_eq!(
        q.rows
            .iter()
            .find(|r| r.strategy == "ours")
            .unwrap()
            .savings_vs_best,
        Some(0.0)
    );
}
