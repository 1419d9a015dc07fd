//! Times one selection of each strategy on a large pool, at a small and a large labeled set.
//!
//! `cargo run --release -p coselect-sim --example strategy_timing` uses synthetic Gaussian blobs,
//! 20,000 x 384 with 25 classes; `... -- data/wordnet-nouns` uses the bundled pool with all its
//! classes (no merge). Labeled rows are a seeded uniform draw; the model is fitted on them
//! (not timed). Each strategy selects a batch of 30, as in round 1 and round 24 of the default
//! run; the peak resident memory of the process is printed at the end (Linux).

use std::time::Instant;

use coselect_sim::seed::rng_for;
use coselect_sim::setting::prepare;
use coselect_sim::*;
use rand::seq::SliceRandom;

fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let (x, fm, y, what) = match std::env::args().nth(1) {
        Some(dir) => {
            let ds = Dataset::load(std::path::Path::new(&dir))?;
            let prep = prepare(&ds, &Setting::new(Imbalance::None, 0.1, 30, 25), 0)?;
            let what = format!("{dir} pool");
            (prep.pool_x, prep.pool_fm, prep.pool_noisy, what)
        }
        None => {
            let (x, fm, y) = synthetic::blobs(20_000, 384, 25, 0);
            let y = y.into_iter().map(|v| v as usize).collect();
            (x, fm, y, "synthetic blobs".to_string())
        }
    };
    let (n, c) = (x.rows(), fm.cols());
    println!(
        "{what}: {n} x {} rows, {c} classes, rayon threads {}",
        x.cols(),
        rayon::current_num_threads()
    );
    let batch = 30;
    let names = [
        "random", "margin", "coreset", "badge", "base", "galaxy", "direct",
    ];
    println!("| labeled | {} |", names.join(" | "));
    println!("| ---: |{}", " ---: |".repeat(names.len()));
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng_for(0, "timing-labeled", 0));
    for n_lab in [30usize, 720] {
        let labeled: Vec<usize> = order[..n_lab].to_vec();
        let labels: Vec<usize> = labeled.iter().map(|&i| y[i]).collect();
        let learner = LearnerConfig::default();
        let model = LogReg::fit(&x, &TrainSet::human(&labeled, &labels), c, &learner, None);
        let lp = model.log_proba(&x);
        let mut is_labeled = vec![false; n];
        for &i in &labeled {
            is_labeled[i] = true;
        }
        let mut cells = Vec::new();
        for name in names {
            let mut s = strategy::build(name, &MethodOptions::default())?;
            let mut oracle = Oracle::new(y.clone(), is_labeled.clone(), batch);
            let mut rng = rng_for(0, name, 0);
            let started = Instant::now();
            let picked = {
                let mut ctx = SelectContext {
                    pool_x: &x,
                    fm_log_probs: &fm,
                    model_log_probs: Some(&lp),
                    model: Some(&model),
                    labeled: &labeled,
                    labels: &labels,
                    is_labeled: &is_labeled,
                    suspects: &[],
                    pseudo: &[],
                    n_classes: c,
                    batch,
                    round: 1,
                    seed: 0,
                    rng: &mut rng,
                    oracle: &mut oracle,
                    learner: &learner,
                };
                s.select(&mut ctx)?
            };
            let secs = started.elapsed().as_secs_f64();
            assert_eq!(oracle.revealed().len() + picked.len(), batch, "{name}");
            cells.push(format!("{secs:.3}"));
        }
        println!("| {n_lab} | {} |", cells.join(" | "));
    }
    if let Some(m) = peak_rss_mib() {
        println!("peak resident memory: {m:.0} MiB");
    }
    Ok(())
}
