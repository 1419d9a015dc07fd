//! Stored baselines: a run of ours alone against a stored run's baselines gives the comparisons a
//! single run of both gives; a stored run of another experiment is refused.

use coselect_sim::stored::StoredBaselines;
use coselect_sim::{
    synthetic, Dataset, ExperimentConfig, Imbalance, NamedLabeler, Results, Setting,
};

fn dataset() -> (tempfile::TempDir, Dataset) {
    let dir = tempfile::tempdir().unwrap();
    synthetic::write_blobs(dir.path(), 500, 10, 5, 4).unwrap();
    let ds = Dataset::load(dir.path()).unwrap();
    (dir, ds)
}

fn config(strategies: &[&str]) -> ExperimentConfig {
    let mut cfg = ExperimentConfig::new(vec![
        Setting::new(Imbalance::Merge { k: 3 }, 0.1, 12, 4),
        Setting::new(Imbalance::LongTail { rho: 5.0 }, 0.0, 12, 4),
    ]);
    cfg.seeds = vec![0, 1];
    cfg.strategies = strategies.iter().map(|s| s.to_string()).collect();
    cfg
}

fn run(ds: &Dataset, cfg: &ExperimentConfig) -> Results {
    coselect_sim::run_experiment(ds, cfg).unwrap()
}

#[test]
fn ours_against_stored_baselines_equals_one_run_of_both() {
    let (dir, ds) = dataset();
    let both = run(&ds, &config(&["random", "margin", "ours"]));
    let baselines = run(&ds, &config(&["random", "margin"]));
    // Through the file, as `coselect simulate --baselines-from` reads it.
    coselect_sim::report::write_outputs(&baselines, &dir.path().join("out")).unwrap();
    for file in ["results.json", "summary.json"] {
        let stored = StoredBaselines::load(&dir.path().join("out").join(file)).unwrap();
        let mut ours = run(&ds, &config(&["ours"]));
        // 2 settings x 2 strategies x 2 learners.
        assert_eq!(stored.add_to(&mut ours).unwrap(), 8, "{file}");
        // Selection times are wall clock, the one thing no two runs share.
        let untimed = |curves: &[coselect_sim::summary::Curve]| {
            let mut v = curves.to_vec();
            v.iter_mut().for_each(|c| c.mean_select_seconds = 0.0);
            v
        };
        assert_eq!(
            untimed(&ours.summary.curves),
            untimed(&both.summary.curves),
            "{file}"
        );
        assert_eq!(ours.summary.comparisons, both.summary.comparisons, "{file}");
        assert_eq!(ours.config.strategies, both.config.strategies);
        assert!(ours.config.notes.iter().any(|n| n.contains("stored run")));
    }
    // A baseline the new run has itself is kept, not taken twice.
    let stored = StoredBaselines::new(baselines.config.clone(), baselines.summary.curves.clone());
    let mut with_random = run(&ds, &config(&["random", "ours"]));
    assert_eq!(stored.add_to(&mut with_random).unwrap(), 4);
    assert_eq!(with_random.summary.comparisons.len(), 4);
}

#[test]
fn baselines_of_another_experiment_are_refused() {
    let (_dir, ds) = dataset();
    let baselines = run(&ds, &config(&["random"]));
    let stored = StoredBaselines::new(baselines.config.clone(), baselines.summary.curves.clone());
    let refused = |cfg: ExperimentConfig| {
        let mut ours = run(&ds, &cfg);
        let before = ours.summary.clone();
        let e = stored.add_to(&mut ours).unwrap_err().to_string();
        // A refusal leaves the new run as it was.
        assert_eq!(ours.summary, before);
        e
    };
    let mut seeds = config(&["ours"]);
    seeds.seeds = vec![0, 2];
    assert!(refused(seeds).contains("seeds"));
    // Same name, one round fewer.
    let mut rounds = config(&["ours"]);
    rounds.settings = vec![Setting::new(Imbalance::Merge { k: 3 }, 0.1, 12, 3)];
    assert!(refused(rounds).contains("setting"));
    let mut absent = config(&["ours"]);
    absent.settings = vec![Setting::new(Imbalance::Merge { k: 4 }, 0.1, 12, 4)];
    assert!(refused(absent).contains("no setting merge4"));
    let mut model = config(&["ours"]);
    model.learner_config.c_reg = 1.0;
    assert!(refused(model).contains("small model"));
    let mut labeler = config(&["ours"]);
    labeler.labeler = NamedLabeler::ours();
    assert!(refused(labeler).contains("pseudo-labeler"));
    let (_other_dir, other) = dataset();
    let mut elsewhere = run(&other, &config(&["ours"]));
    assert!(stored
        .add_to(&mut elsewhere)
        .unwrap_err()
        .to_string()
        .contains("data"));
}
