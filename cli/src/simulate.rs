//! `coselect simulate`: the active learning loop on a dataset folder, with savings, curves and
//! plots (coselect-sim does the work; this file turns flags into an experiment).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use coselect_sim::{report, ExperimentConfig, Imbalance, LearnerChoice, MethodOptions, Setting};

/// What the `pseudo` learner adds for the baselines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PseudoLabeler {
    /// The co-decided pseudo-labels alone.
    Shared,
    /// Our method's learner.
    Ours,
}

/// Learner for the baselines.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Learner {
    /// Human labels only.
    Plain,
    /// Human labels plus the co-decided pseudo-labels.
    Pseudo,
    /// Both comparisons.
    Both,
}

/// Named grids of settings.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Preset {
    /// Merge 3 and long tail 50, each with and without 10% noise (batch 30 and 50, 25 rounds).
    Paper,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Dataset folder (embeddings.npy, fm_scores.npy, labels.npy, meta.json; optional split.npy,
    /// concept_scores.npy).
    #[arg(long, default_value = "data/wordnet-nouns")]
    pub data: PathBuf,
    /// Folder receiving results.json, results.csv, summary.json and the plots.
    #[arg(long, default_value = "simulate-out")]
    pub out: PathBuf,
    /// Merge imbalance: keep classes 0..K-2, merge the rest into class K-1 (default: 3).
    #[arg(long, value_name = "K", conflicts_with = "long_tail")]
    pub merge: Option<usize>,
    /// Long-tail imbalance with this ratio of largest to smallest class.
    #[arg(long, value_name = "RHO")]
    pub long_tail: Option<f64>,
    /// Fraction of pool labels flipped to another class.
    #[arg(long, default_value_t = 0.1, value_name = "P")]
    pub noise: f64,
    /// Number of seeds (0..N).
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub seeds: u64,
    /// Labels per round (default 30; the paper preset uses 50 for long tail).
    #[arg(long)]
    pub batch: Option<usize>,
    /// Rounds, the first included (default 25).
    #[arg(long)]
    pub rounds: Option<usize>,
    /// Comma-separated strategy names (default: every registered one).
    #[arg(long, value_delimiter = ',')]
    pub strategies: Option<Vec<String>>,
    /// Learner of the baselines.
    #[arg(long, value_enum, default_value_t = Learner::Both)]
    pub learner: Learner,
    /// What the `pseudo` learner gives the baselines: `shared` (the co-decided pseudo-labels,
    /// the default) or `ours` (our method's whole learner: trust, concepts, the FM weight prior,
    /// pseudo-labels), which
    /// leaves only the query rule between the baselines and ours.
    #[arg(long, value_enum, default_value_t = PseudoLabeler::Shared)]
    pub pseudo_labeler: PseudoLabeler,
    /// Run a named grid instead of one setting.
    #[arg(long, value_enum, conflicts_with_all = ["merge", "long_tail"])]
    pub preset: Option<Preset>,
    /// Ablation of ours: no FM prior.
    #[arg(long)]
    pub no_prior: bool,
    /// Ablation of ours: no class-balanced quotas.
    #[arg(long)]
    pub no_balance: bool,
    /// Ablation of ours: no seed mode for rare classes.
    #[arg(long)]
    pub no_seed: bool,
    /// Ablation of ours: no label trust.
    #[arg(long)]
    pub no_trust: bool,
    /// Ablation of ours: no co-decided pseudo-labels.
    #[arg(long)]
    pub no_pseudo: bool,
    /// Ablation of ours: one small-model unit per class, not per FM concept.
    #[arg(long)]
    pub no_concepts: bool,
    /// Ablation of ours: centre the small model's weights on zero, not on the FM's readout.
    #[arg(long)]
    pub no_fm_weight_prior: bool,
    /// Weight of the FM weight prior in ours' deployed small model: its penalty is
    /// `0.5 * W * |weights - FM readout|^2` against the labels' data term (1: the protocol's
    /// penalty, moved to the readout).
    #[arg(long, value_name = "W", default_value_t = coselect_sim::options::DEFAULT_FM_PRIOR_WEIGHT)]
    pub fm_prior_weight: f64,
    /// Strength of ours' decision bias for balanced accuracy: the deployed small model predicts
    /// `argmax log p(c|x) - TAU ln pi_c`, with `pi` its mean posterior over the pool (0: the plain
    /// argmax; selection always reads the model's own posterior).
    #[arg(long, value_name = "TAU", default_value_t = coselect_core::DEFAULT_LOGIT_ADJUSTMENT)]
    pub logit_adjustment: f32,
    /// The same decision bias for the baselines' small model (0, the default: the protocol's
    /// plain argmax). Give it ours' `--logit-adjustment` to compare models that all decide that
    /// way; stored baselines (`--baselines-from`) must have been run with the same value.
    #[arg(long, value_name = "TAU", default_value_t = 0.0)]
    pub baseline_logit_adjustment: f32,
    /// Compare with the baseline curves of an earlier run's results.json or summary.json
    /// instead of running them again (the same data, settings, seeds, small model and
    /// pseudo-labeler, or the run is refused); typically with `--strategies ours`.
    #[arg(long, value_name = "FILE")]
    pub baselines_from: Option<PathBuf>,
    /// Skip the SVG/PNG plots.
    #[arg(long)]
    pub no_plots: bool,
    /// Hide the progress bar.
    #[arg(long)]
    pub quiet: bool,
}

fn settings(args: &Args) -> anyhow::Result<Vec<Setting>> {
    let rounds = args.rounds.unwrap_or(25);
    if let Some(Preset::Paper) = args.preset {
        let mut out = Vec::new();
        for noise in [0.1, 0.0] {
            out.push(Setting::new(
                Imbalance::Merge { k: 3 },
                noise,
                args.batch.unwrap_or(30),
                rounds,
            ));
            out.push(Setting::new(
                Imbalance::LongTail { rho: 50.0 },
                noise,
                args.batch.unwrap_or(50),
                rounds,
            ));
        }
        return Ok(out);
    }
    let imbalance = match (args.merge, args.long_tail) {
        (Some(k), None) => Imbalance::Merge { k },
        (None, Some(rho)) => Imbalance::LongTail { rho },
        (None, None) => Imbalance::Merge { k: 3 },
        (Some(_), Some(_)) => bail!("--merge and --long-tail exclude each other"),
    };
    Ok(vec![Setting::new(
        imbalance,
        args.noise,
        args.batch.unwrap_or(30),
        rounds,
    )])
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    if args.seeds == 0 {
        bail!("--seeds must be at least 1");
    }
    let ds = coselect_sim::Dataset::load(&args.data)
        .with_context(|| format!("loading the dataset folder {}", args.data.display()))?;
    let mut cfg = ExperimentConfig::new(settings(&args)?);
    cfg.seeds = (0..args.seeds).collect();
    if let Some(s) = &args.strategies {
        cfg.strategies = s
            .iter()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect();
    }
    cfg.learner = match args.learner {
        Learner::Plain => LearnerChoice::Plain,
        Learner::Pseudo => LearnerChoice::Pseudo,
        Learner::Both => LearnerChoice::Both,
    };
    cfg.options = MethodOptions {
        no_prior: args.no_prior,
        no_balance: args.no_balance,
        no_seed: args.no_seed,
        no_trust: args.no_trust,
        no_pseudo: args.no_pseudo,
        no_concepts: args.no_concepts,
        no_fm_weight_prior: args.no_fm_weight_prior,
        fm_prior_weight: args.fm_prior_weight,
        logit_adjustment: args.logit_adjustment,
    };
    cfg.learner_config.logit_adjustment = args.baseline_logit_adjustment;
    if args.pseudo_labeler == PseudoLabeler::Ours {
        cfg.labeler = coselect_sim::pseudo::NamedLabeler::ours();
    }
    // Read before the run, so that a missing or malformed file fails at once.
    let stored = match &args.baselines_from {
        Some(p) => Some(coselect_sim::stored::StoredBaselines::load(p)?),
        None => None,
    };
    cfg.progress = !args.quiet;
    eprintln!(
        "coselect simulate: {} ({} rows, {} classes, dim {}); settings: {}; {} seeds; strategies: {}",
        args.data.display(),
        ds.len(),
        ds.n_classes(),
        ds.dim(),
        cfg.settings.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", "),
        cfg.seeds.len(),
        cfg.strategies.join(", "),
    );
    let mut results = coselect_sim::run_experiment(&ds, &cfg)?;
    if let Some(st) = &stored {
        st.add_to(&mut results)?;
    }
    for note in &results.config.notes {
        eprintln!("note: {note}");
    }
    print!("{}", report::table(&results.summary));
    report::write_outputs(&results, &args.out)?;
    if !args.no_plots {
        coselect_sim::plot::plot_curves(&results.summary, &args.out)?;
    }
    println!(
        "\nwrote {} (results.json, results.csv, summary.json, summary.txt{}); wall time {:.1} s",
        args.out.display(),
        if args.no_plots {
            ""
        } else {
            ", curves-*.svg/png"
        },
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        args: Args,
    }

    fn parse(argv: &[&str]) -> Args {
        Wrap::try_parse_from(std::iter::once("simulate").chain(argv.iter().copied()))
            .unwrap()
            .args
    }

    #[test]
    fn default_is_merge_three_with_ten_percent_noise() {
        let s = settings(&parse(&[])).unwrap();
        assert_eq!(
            s,
            vec![Setting::new(Imbalance::Merge { k: 3 }, 0.1, 30, 25)]
        );
    }

    #[test]
    fn paper_preset_is_the_four_setting_grid() {
        let names: Vec<String> = settings(&parse(&["--preset", "paper"]))
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(
            names,
            [
                "merge3-noise0.1",
                "longtail50-noise0.1",
                "merge3-clean",
                "longtail50-clean"
            ]
        );
    }

    #[test]
    fn flags_reach_the_setting_and_conflicts_are_refused() {
        let a = parse(&[
            "--long-tail",
            "10",
            "--noise",
            "0",
            "--batch",
            "50",
            "--rounds",
            "5",
            "--no-trust",
        ]);
        assert_eq!(
            settings(&a).unwrap(),
            vec![Setting::new(Imbalance::LongTail { rho: 10.0 }, 0.0, 50, 5)]
        );
        assert!(a.no_trust && !a.no_pseudo && !a.no_concepts && !a.no_fm_weight_prior);
        assert_eq!(a.pseudo_labeler, PseudoLabeler::Shared);
        let b = parse(&[
            "--no-concepts",
            "--no-fm-weight-prior",
            "--pseudo-labeler",
            "ours",
        ]);
        assert!(b.no_concepts && b.no_fm_weight_prior && b.pseudo_labeler == PseudoLabeler::Ours);
        assert_eq!(a.baselines_from, None);
        let c = parse(&["--baselines-from", "runs/results.json"]);
        assert_eq!(c.baselines_from, Some(PathBuf::from("runs/results.json")));
        assert_eq!(
            a.fm_prior_weight,
            coselect_sim::options::DEFAULT_FM_PRIOR_WEIGHT
        );
        assert_eq!(parse(&["--fm-prior-weight", "2.5"]).fm_prior_weight, 2.5);
        assert_eq!(a.logit_adjustment, coselect_core::DEFAULT_LOGIT_ADJUSTMENT);
        assert_eq!(parse(&["--logit-adjustment", "0"]).logit_adjustment, 0.0);
        assert_eq!(a.baseline_logit_adjustment, 0.0);
        let b = parse(&["--baseline-logit-adjustment", "0.5"]);
        assert_eq!(b.baseline_logit_adjustment, 0.5);
        assert!(Wrap::try_parse_from(["simulate", "--merge", "3", "--long-tail", "10"]).is_err());
        assert!(Wrap::try_parse_from(["simulate", "--preset", "paper", "--merge", "3"]).is_err());
        let s = parse(&["--strategies", "random,margin"])
            .strategies
            .unwrap();
        assert_eq!(s, ["random", "margin"]);
    }
}
