//! The baselines of issue 5 (coreset, BADGE, BASE, GALAXY, DIRECT) through the public
//! `Strategy` interface: threshold finding on a separable 1-D toy, BASE against the model's
//! boundary, determinism for a seed and for any thread count, and the batch contract.

use coselect_sim::seed::rng_for;
use coselect_sim::*;

/// Everything one `select` call needs, owned.
struct Case {
    x: Matrix,
    lp: Matrix,
    model: Option<LogReg>,
    truth: Vec<usize>,
    labeled: Vec<usize>,
    n_classes: usize,
}

impl Case {
    /// Runs `name` once with seed `seed`; returns the batch as the harness assembles it
    /// (revealed rows first, then the returned ones).
    fn select(&self, name: &str, batch: usize, seed: u64) -> Vec<usize> {
        let n = self.x.rows();
        let mut is_labeled = vec![false; n];
        for &i in &self.labeled {
            is_labeled[i] = true;
        }
        let labels: Vec<usize> = self.labeled.iter().map(|&i| self.truth[i]).collect();
        let mut oracle = Oracle::new(self.truth.clone(), is_labeled.clone(), batch);
        let mut rng = rng_for(seed, name, 0);
        let learner = LearnerConfig::default();
        let mut s = strategy::build(name, &MethodOptions::default()).unwrap();
        let picked = {
            let mut ctx = SelectContext {
                pool_x: &self.x,
                fm_log_probs: &self.lp,
                model_log_probs: Some(&self.lp),
                model: self.model.as_ref(),
                labeled: &self.labeled,
                labels: &labels,
                is_labeled: &is_labeled,
                suspects: &[],
                pseudo: &[],
                n_classes: self.n_classes,
                batch,
                round: 1,
                seed,
                rng: &mut rng,
                oracle: &mut oracle,
                learner: &learner,
            };
            s.select(&mut ctx).unwrap()
        };
        let mut out: Vec<usize> = oracle.revealed().iter().map(|&(i, _)| i).collect();
        for i in picked {
            assert!(!out.contains(&i), "{name}: row {i} returned twice");
            out.push(i);
        }
        assert_eq!(out.len(), batch, "{name}: batch size");
        for &i in &out {
            assert!(!is_labeled[i], "{name}: row {i} was labeled before");
        }
        out
    }
}

/// A separable 1-D problem of `n` rows: row `i` is class 0 below `cut`, class 1 from `cut` on.
/// The model's posterior is monotone in `i` but centred at `n / 2`, away from the true cut, so a
/// strategy must find the cut from labels. Rows 0 and `n - 1` are labeled.
fn toy(n: usize, cut: usize) -> Case {
    let x = Matrix::new(n, 1, (0..n).map(|i| i as f32 / n as f32).collect());
    let mut lp = Vec::with_capacity(2 * n);
    for i in 0..n {
        let z = (i as f64 - n as f64 / 2.0) / (n as f64 / 8.0);
        let p1 = 1.0 / (1.0 + (-z).exp());
        lp.push((1.0 - p1).ln() as f32);
        lp.push(p1.ln() as f32);
    }
    Case {
        x,
        lp: Matrix::new(n, 2, lp),
        model: None,
        truth: (0..n).map(|i| usize::from(i >= cut)).collect(),
        labeled: vec![0, n - 1],
        n_classes: 2,
    }
}

#[test]
fn galaxy_bisects_to_the_threshold() {
    // 200 rows: the unlabeled run 1..=198 halves with each label, so 8 labels isolate the cut
    // and the rows on both sides of it (76 and 77) are labeled within a batch of 10.
    let case = toy(200, 77);
    for seed in 0..4 {
        let got = case.select("galaxy", 10, seed);
        assert!(
            got.contains(&76) && got.contains(&77),
            "seed {seed}: {got:?}"
        );
        // Bisection: the first query is the middle of 1..=198.
        assert_eq!(got[0], 99);
    }
}

#[test]
fn direct_finds_the_threshold() {
    // 300 rows, batch 100: phase 1 labels 25 rows per class inside [I, J] (here the whole
    // ordering), phase 2 labels outwards from each class's best threshold until the cut's two
    // sides are labeled.
    let case = toy(300, 77);
    for seed in 0..4 {
        let got = case.select("direct", 100, seed);
        assert!(got.contains(&76) && got.contains(&77), "seed {seed}");
    }
}

#[test]
fn direct_threshold_erm_tolerates_a_flipped_label() {
    // One wrong label deep in class 0 (row 20 answered as class 1) must not move the threshold:
    // phase 2 still labels around the true cut.
    let mut case = toy(300, 77);
    case.truth[20] = 1;
    let got = case.select("direct", 100, 1);
    assert!(got.contains(&76) && got.contains(&77));
}

fn blobs(n: usize, d: usize, c: usize, seed: u64) -> Case {
    use rand::Rng;
    let mut rng = rng_for(seed, "blobs", 0);
    let truth: Vec<usize> = (0..n).map(|i| i % c).collect();
    let mut x = Vec::with_capacity(n * d);
    for &y in &truth {
        for j in 0..d {
            let centre = if j % c == y { 2.0 } else { 0.0 };
            x.push(centre + rng.random_range(-1.0f32..1.0));
        }
    }
    let x = Matrix::new(n, d, x);
    let labeled: Vec<usize> = (0..4 * c).collect();
    let labels: Vec<usize> = labeled.iter().map(|&i| truth[i]).collect();
    let model = LogReg::fit(
        &x,
        &TrainSet::human(&labeled, &labels),
        c,
        &LearnerConfig::default(),
        None,
    );
    let lp = model.log_proba(&x);
    Case {
        x,
        lp,
        model: Some(model),
        truth,
        labeled,
        n_classes: c,
    }
}

#[test]
fn badge_and_coreset_are_deterministic_for_a_seed_and_any_thread_count() {
    let case = blobs(400, 8, 4, 5);
    for name in ["badge", "coreset", "base", "galaxy", "direct"] {
        let a = case.select(name, 12, 3);
        let b = case.select(name, 12, 3);
        assert_eq!(a, b, "{name}");
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| case.select(name, 12, 3));
        let four = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap()
            .install(|| case.select(name, 12, 3));
        assert_eq!(a, one, "{name}: 1 thread");
        assert_eq!(a, four, "{name}: 4 threads");
    }
    // BADGE draws its centers after the first: another seed gives another batch.
    assert_ne!(case.select("badge", 12, 3), case.select("badge", 12, 4));
}

#[test]
fn coreset_starts_with_the_row_farthest_from_the_labeled_set() {
    let case = blobs(300, 6, 3, 9);
    let got = case.select("coreset", 5, 0);
    let far = |i: usize| {
        case.labeled
            .iter()
            .map(|&j| {
                case.x
                    .row(i)
                    .iter()
                    .zip(case.x.row(j))
                    .map(|(a, b)| ((a - b) as f64).powi(2))
                    .sum::<f64>()
            })
            .fold(f64::INFINITY, f64::min)
    };
    let best = (0..300)
        .filter(|i| !case.labeled.contains(i))
        .max_by(|&a, &b| far(a).total_cmp(&far(b)).then(b.cmp(&a)))
        .unwrap();
    assert_eq!(got[0], best);
}

#[test]
fn base_takes_the_rows_nearest_the_decision_boundary() {
    // Two classes in 1-D: the boundary is x* = -(b0 - b1) / (w0 - w1). Class 0's quota (1 of a
    // batch of 2) takes the unlabeled row nearest x*, class 1's the next nearest.
    let n = 101;
    let x = Matrix::new(n, 1, (0..n).map(|i| i as f32 / 10.0 - 5.0).collect());
    let truth: Vec<usize> = (0..n).map(|i| usize::from(i >= 40)).collect();
    let labeled = vec![0, 10, 20, 30, 50, 60, 70, 80, 90, 100];
    let labels: Vec<usize> = labeled.iter().map(|&i| truth[i]).collect();
    let model = LogReg::fit(
        &x,
        &TrainSet::human(&labeled, &labels),
        2,
        &LearnerConfig::default(),
        None,
    );
    let (w, b) = (model.weights(), model.biases());
    let xstar = -(b[0] - b[1]) / (w[0] - w[1]);
    let lp = model.log_proba(&x);
    let case = Case {
        x,
        lp,
        model: Some(model),
        truth,
        labeled: labeled.clone(),
        n_classes: 2,
    };
    let mut order: Vec<usize> = (0..n).filter(|i| !labeled.contains(i)).collect();
    let xi = |i: usize| i as f64 / 10.0 - 5.0;
    order.sort_by(|&a, &b| (xi(a) - xstar).abs().total_cmp(&(xi(b) - xstar).abs()));
    assert_eq!(case.select("base", 2, 0), order[..2].to_vec());
}
