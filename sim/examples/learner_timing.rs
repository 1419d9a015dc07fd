//! Times the small model (argmin L-BFGS) on a dataset folder: cold and warm fits at several
//! training-set sizes, and the whole-pool prediction. The numbers in docs/simulate.md come from
//! `cargo run --release -p coselect-sim --example learner_timing -- data/wordnet-nouns 3`.

use std::time::Instant;

use coselect_sim::setting::prepare;
use coselect_sim::{Dataset, Imbalance, LearnerConfig, LogReg, Setting, TrainSet};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "data/wordnet-nouns".into());
    let k: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(3);
    let ds = Dataset::load(std::path::Path::new(&dir))?;
    let imbalance = if k < ds.n_classes() {
        Imbalance::Merge { k }
    } else {
        Imbalance::None
    };
    let prep = prepare(&ds, &Setting::new(imbalance, 0.1, 1, 1), 0)?;
    let c = prep.n_classes;
    let mut cfg = LearnerConfig::default();
    // TOL_GRAD overrides the default tolerance, to measure its cost and effect.
    if let Some(t) = std::env::var("TOL_GRAD").ok().and_then(|v| v.parse().ok()) {
        cfg.tol_grad = t;
    }
    let tight = LearnerConfig {
        tol_grad: 1e-8,
        tol_cost: 1e-14,
        max_iters: 2000,
        ..cfg.clone()
    };
    println!(
        "pool {} x {}, {c} classes",
        prep.pool_x.rows(),
        prep.pool_x.cols()
    );
    println!(
        "{:>6} {:>10} {:>6} {:>10} {:>6} {:>12} {:>14}",
        "rows", "cold ms", "iters", "warm ms", "iters", "tight ms", "max |dp| tight"
    );
    for n in [60, 300, 750, 2000, 5000] {
        let rows: Vec<usize> = (0..n).collect();
        let labels: Vec<usize> = rows.iter().map(|&i| prep.pool_noisy[i]).collect();
        let set = TrainSet::human(&rows, &labels);
        let prev: Vec<usize> = (0..n * 9 / 10).collect();
        let prev_model = LogReg::fit(
            &prep.pool_x,
            &TrainSet::human(&prev, &labels[..prev.len()]),
            c,
            &cfg,
            None,
        );
        let t = Instant::now();
        let cold = LogReg::fit(&prep.pool_x, &set, c, &cfg, None);
        let cold_ms = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let warm = LogReg::fit(&prep.pool_x, &set, c, &cfg, Some(&prev_model));
        let warm_ms = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let best = LogReg::fit(&prep.pool_x, &set, c, &tight, None);
        let tight_ms = t.elapsed().as_secs_f64() * 1e3;
        let (a, b) = (cold.log_proba(&prep.test_x), best.log_proba(&prep.test_x));
        let dp = a
            .data()
            .iter()
            .zip(b.data())
            .map(|(x, y)| (x.exp() - y.exp()).abs())
            .fold(0.0f32, f32::max);
        println!(
            "{n:>6} {cold_ms:>10.1} {:>6} {warm_ms:>10.1} {:>6} {tight_ms:>12.1} {dp:>14.2e}",
            cold.iterations(),
            warm.iterations()
        );
    }
    let model = LogReg::fit(
        &prep.pool_x,
        &TrainSet::human(&(0..750).collect::<Vec<_>>(), &prep.pool_noisy[..750]),
        c,
        &cfg,
        None,
    );
    let t = Instant::now();
    let lp = model.log_proba(&prep.pool_x);
    println!(
        "predict pool ({} rows): {:.1} ms",
        lp.rows(),
        t.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}
