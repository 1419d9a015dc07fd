//! The small model: accuracy on a separable toy set, gradient against finite differences,
//! sample weights, warm start, cross-fitting; the FM prior inside the fit (a centred weight
//! penalty, one unit per FM concept).

use coselect_sim::{
    cross_fit, synthetic, Concepts, FitPrior, LearnerConfig, LogReg, Matrix, Readout, TrainSet,
};

#[test]
fn separates_gaussian_blobs() {
    let (x, _, y) = synthetic::blobs(600, 10, 4, 3);
    let x = Matrix::new(x.rows(), x.cols(), x.data().to_vec());
    let y: Vec<usize> = y.iter().map(|&v| v as usize).collect();
    let train: Vec<usize> = (0..400).collect();
    let set = TrainSet::human(&train, &y[..400]);
    let model = LogReg::fit(&x, &set, 4, &LearnerConfig::default(), None);
    let lp = model.log_proba(&x);
    let correct = (400..600).filter(|&i| lp.argmax_row(i) == y[i]).count();
    assert!(correct >= 190, "held-out accuracy {correct}/200");
    for i in 0..600 {
        let s: f64 = lp.row(i).iter().map(|&v| (v as f64).exp()).sum();
        assert!((s - 1.0).abs() < 1e-4);
    }
}

#[test]
fn gradient_matches_finite_differences() {
    let (x, _, y) = synthetic::blobs(40, 3, 3, 5);
    let y: Vec<usize> = y.iter().map(|&v| v as usize).collect();
    let rows: Vec<usize> = (0..40).collect();
    let mut set = TrainSet::human(&rows, &y);
    // Uneven weights and classes exercise the class weights and the sample weights.
    for (k, w) in set.weights.iter_mut().enumerate() {
        *w = if k % 3 == 0 { 0.5 } else { 1.0 };
    }
    set.labels[1] = 0;
    let cfg = LearnerConfig::default();
    let theta: Vec<f64> = (0..3 * 4)
        .map(|k| ((k * 7 % 11) as f64 - 5.0) * 0.05)
        .collect();
    assert_gradient(&x, &set, &cfg, &theta, None);
}

/// The objective's gradient at `theta` against central finite differences, parameter by parameter.
fn assert_gradient(
    x: &Matrix,
    set: &TrainSet,
    cfg: &LearnerConfig,
    theta: &[f64],
    centre: Option<&Readout>,
) {
    let (_, grad) = LogReg::objective_at(x, set, 3, cfg, theta, centre);
    let h = 1e-6;
    for k in 0..theta.len() {
        let mut tp = theta.to_vec();
        tp[k] += h;
        let mut tm = theta.to_vec();
        tm[k] -= h;
        let fd = (LogReg::objective_at(x, set, 3, cfg, &tp, centre).0
            - LogReg::objective_at(x, set, 3, cfg, &tm, centre).0)
            / (2.0 * h);
        assert!(
            (fd - grad[k]).abs() < 1e-4 * (1.0 + fd.abs()),
            "param {k}: finite difference {fd}, gradient {}",
            grad[k]
        );
    }
}

#[test]
fn weight_zero_equals_leaving_the_row_out_and_weights_change_the_fit() {
    let (x, _, y) = synthetic::blobs(60, 4, 2, 9);
    let y: Vec<usize> = y.iter().map(|&v| v as usize).collect();
    let rows: Vec<usize> = (0..60).collect();
    let cfg = LearnerConfig::default();
    let mut with_zero = TrainSet::human(&rows, &y);
    with_zero.weights[0] = 0.0;
    let without = TrainSet::human(&rows[1..], &y[1..]);
    let a = LogReg::fit(&x, &with_zero, 2, &cfg, None).log_proba(&x);
    let b = LogReg::fit(&x, &without, 2, &cfg, None).log_proba(&x);
    assert_eq!(a, b);
    let mut half = TrainSet::human(&rows, &y);
    half.weights[5] = 0.5;
    half.labels[5] = 1 - half.labels[5];
    let c = LogReg::fit(&x, &half, 2, &cfg, None).log_proba(&x);
    let mut full = half.clone();
    full.weights[5] = 1.0;
    let d = LogReg::fit(&x, &full, 2, &cfg, None).log_proba(&x);
    assert!(
        (c.row(5)[1] - d.row(5)[1]).abs() > 1e-3,
        "a sample weight must change the fit"
    );
}

#[test]
fn warm_start_reaches_the_same_optimum_in_fewer_iterations() {
    let (x, _, y) = synthetic::blobs(300, 16, 3, 2);
    let y: Vec<usize> = y.iter().map(|&v| v as usize).collect();
    let cfg = LearnerConfig::default();
    let first = LogReg::fit(
        &x,
        &TrainSet::human(&(0..200).collect::<Vec<_>>(), &y[..200]),
        3,
        &cfg,
        None,
    );
    let rows: Vec<usize> = (0..220).collect();
    let set = TrainSet::human(&rows, &y[..220]);
    let cold = LogReg::fit(&x, &set, 3, &cfg, None);
    let warm = LogReg::fit(&x, &set, 3, &cfg, Some(&first));
    let (a, b) = (cold.log_proba(&x), warm.log_proba(&x));
    let max_diff = a
        .data()
        .iter()
        .zip(b.data())
        .map(|(p, q)| (p.exp() - q.exp()).abs())
        .fold(0.0f32, f32::max);
    assert!(
        max_diff < 1e-3,
        "warm and cold optima differ by {max_diff} in probability"
    );
    eprintln!(
        "iterations: cold {}, warm {}",
        cold.iterations(),
        warm.iterations()
    );
    assert!(warm.iterations() <= cold.iterations());
}

#[test]
fn absent_classes_get_a_small_finite_probability() {
    let x = Matrix::new(4, 1, vec![-2.0, -1.0, 1.0, 2.0]);
    let model = LogReg::fit(
        &x,
        &TrainSet::human(&[0, 1, 2, 3], &[0, 0, 2, 2]),
        3,
        &LearnerConfig::default(),
        None,
    );
    assert_eq!(model.present_classes(), &[0, 2]);
    let lp = model.log_proba(&x);
    assert!(lp.data().iter().all(|v| v.is_finite()));
    assert!((lp.row(0)[1] - (1e-6f32).ln()).abs() < 1e-3);
    let single = LogReg::fit(
        &x,
        &TrainSet::human(&[0], &[1]),
        3,
        &LearnerConfig::default(),
        None,
    );
    assert_eq!(single.log_proba(&x).argmax_row(3), 1);
}

#[test]
fn cross_fit_is_out_of_sample_and_seeded() {
    let (x, _, y) = synthetic::blobs(100, 6, 3, 4);
    let mut y: Vec<usize> = y.iter().map(|&v| v as usize).collect();
    // A flipped label: in-sample the model partly fits it; out of sample it must not.
    y[0] = (y[0] + 1) % 3;
    let rows: Vec<usize> = (0..100).collect();
    let set = TrainSet::human(&rows, &y);
    let cfg = LearnerConfig::default();
    let cf = cross_fit(&x, &set, 3, &cfg, 5, 11, None);
    let ins = LogReg::fit(&x, &set, 3, &cfg, None).log_proba(&x);
    assert!(cf.row(0)[y[0]] < ins.row(0)[y[0]]);
    assert_eq!(cf, cross_fit(&x, &set, 3, &cfg, 5, 11, None));
}

/// A centred penalty `0.5 |W - W0|^2`: its gradient against finite differences.
#[test]
fn centred_gradient_matches_finite_differences() {
    let (x, _, y) = synthetic::blobs(30, 3, 3, 8);
    let y: Vec<usize> = y.iter().map(|&v| v as usize).collect();
    let rows: Vec<usize> = (0..30).collect();
    let set = TrainSet::human(&rows, &y);
    let cfg = LearnerConfig::default();
    let centre = Readout {
        w: (0..9).map(|k| (k as f64 - 4.0) * 0.3).collect(),
        b: vec![0.0; 3],
        dim: 3,
    };
    let theta: Vec<f64> = (0..12).map(|k| ((k * 5 % 7) as f64 - 3.0) * 0.1).collect();
    let (_, grad) = LogReg::objective_at(&x, &set, 3, &cfg, &theta, Some(&centre));
    let (_, plain) = LogReg::objective_at(&x, &set, 3, &cfg, &theta, None);
    // The centre changes the gradient, so the check below is not the plain one again.
    assert!(grad.iter().zip(&plain).any(|(a, b)| (a - b).abs() > 1e-3));
    assert_gradient(&x, &set, &cfg, &theta, Some(&centre));
}

/// With few labels the centred fit stays near the centre; with many it follows the data.
#[test]
fn centred_fit_follows_the_prior_with_few_labels_and_the_data_with_many() {
    let (x, _, y) = synthetic::blobs(400, 4, 2, 12);
    let y: Vec<usize> = y.iter().map(|&v| v as usize).collect();
    let cfg = LearnerConfig::default();
    let plain_all = LogReg::fit(
        &x,
        &TrainSet::human(&(0..400).collect::<Vec<_>>(), &y),
        2,
        &cfg,
        None,
    );
    // A centre pointing the wrong way: the negated full-data solution, scaled up.
    let centre = Readout {
        w: plain_all.weights().iter().map(|v| -3.0 * v).collect(),
        b: vec![0.0; 2],
        dim: 4,
    };
    let prior = FitPrior {
        centre: Some(&centre),
        ..Default::default()
    };
    let acc = |m: &LogReg| {
        let lp = m.log_proba(&x);
        (0..400).filter(|&i| lp.argmax_row(i) == y[i]).count()
    };
    // Two labels of each class.
    let few: Vec<usize> = (0..2)
        .flat_map(|c| (0..400).filter(|&i| y[i] == c).take(2).collect::<Vec<_>>())
        .collect();
    let few_y: Vec<usize> = few.iter().map(|&i| y[i]).collect();
    let m_few = LogReg::fit_with(&x, &TrainSet::human(&few, &few_y), 2, &cfg, None, prior);
    let all: Vec<usize> = (0..400).collect();
    let m_all = LogReg::fit_with(&x, &TrainSet::human(&all, &y), 2, &cfg, None, prior);
    let plain_few = LogReg::fit(&x, &TrainSet::human(&few, &few_y), 2, &cfg, None);
    assert!(
        acc(&plain_few) >= 340,
        "4 labels, plain: {}",
        acc(&plain_few)
    );
    assert!(
        acc(&m_few) + 60 <= acc(&plain_few),
        "4 labels against a wrong prior: {} (plain {})",
        acc(&m_few),
        acc(&plain_few)
    );
    assert!(
        acc(&m_all) + 10 >= acc(&plain_all),
        "400 labels overrule the prior: {} (plain {})",
        acc(&m_all),
        acc(&plain_all)
    );
}

/// The prior's weight is how hard the labels must pull: the heavier it is, the closer the fit
/// stays to the centre, and the weight means the same as dividing `c_reg` by it.
#[test]
fn a_heavier_prior_weight_keeps_the_fit_nearer_the_centre() {
    let (x, _, y) = synthetic::blobs(200, 4, 3, 5);
    let y: Vec<usize> = y.iter().map(|&v| v as usize).collect();
    let rows: Vec<usize> = (0..60).collect();
    let set = TrainSet::human(&rows, &y[..60]);
    let cfg = LearnerConfig::default();
    let centre = Readout {
        w: (0..12).map(|k| ((k * 5 % 11) as f64 - 5.0) * 0.4).collect(),
        b: vec![0.0; 3],
        dim: 4,
    };
    let distance = |weight: f64| {
        let prior = FitPrior {
            centre: Some(&centre),
            weight,
            concepts: None,
        };
        let m = LogReg::fit_with(&x, &set, 3, &cfg, None, prior);
        m.weights()
            .iter()
            .zip(&centre.w)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt()
    };
    let d: Vec<f64> = [0.25, 1.0, 4.0, 16.0]
        .iter()
        .map(|&w| distance(w))
        .collect();
    for pair in d.windows(2) {
        assert!(pair[1] < pair[0] * 0.95, "distances to the centre {d:?}");
    }
    assert!(d[3] < d[0] * 0.75, "distances to the centre {d:?}");
    // Weight 4 is c_reg / 4 with weight 1, bit for bit.
    let light = LearnerConfig {
        c_reg: cfg.c_reg / 4.0,
        ..cfg.clone()
    };
    let heavy = FitPrior {
        centre: Some(&centre),
        weight: 4.0,
        concepts: None,
    };
    let unit = FitPrior {
        centre: Some(&centre),
        ..Default::default()
    };
    let a = LogReg::fit_with(&x, &set, 3, &cfg, None, heavy);
    let b = LogReg::fit_with(&x, &set, 3, &light, None, unit);
    assert_eq!(a.weights(), b.weights());
    assert_eq!(a.biases(), b.biases());
    // Without a centre the weight changes nothing.
    let no_centre = FitPrior {
        weight: 4.0,
        ..Default::default()
    };
    let p = LogReg::fit(&x, &set, 3, &cfg, None);
    let q = LogReg::fit_with(&x, &set, 3, &cfg, None, no_centre);
    assert_eq!(p.weights(), q.weights());
}

/// A class made of two separated concepts, with the other class between them: one logistic unit
/// per class cannot separate that; one unit per concept can. Class probabilities still sum to 1.
#[test]
fn concept_units_fit_a_class_that_is_a_mixture() {
    let n = 300;
    let mut xs = Vec::new();
    let mut y = Vec::new();
    let mut fm = Vec::new();
    for i in 0..n {
        // Deterministic jitter in [-0.5, 0.5).
        let j = |k: usize| ((i * 7919 + k * 104_729) % 1000) as f32 / 1000.0 - 0.5;
        let (cx, class, concept) = match i % 3 {
            0 => (0.0f32, 0usize, 0usize),
            1 => (-4.0, 1, 1),
            _ => (4.0, 1, 2),
        };
        xs.extend([cx + j(0), j(1)]);
        y.push(class);
        // The FM's concept log-probabilities: the concept centre nearest the row wins.
        let d = |c: f32| -((cx + j(0) - c).powi(2));
        let z = [d(0.0), d(-4.0), d(4.0)];
        let m = z.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let lse = m + z.iter().map(|v| (v - m).exp()).sum::<f32>().ln();
        fm.extend(z.iter().map(|v| v - lse));
        let _ = concept;
    }
    let x = Matrix::new(n, 2, xs);
    let fm = Matrix::new(n, 3, fm);
    let train: Vec<usize> = (0..n).step_by(2).collect();
    let train_y: Vec<usize> = train.iter().map(|&i| y[i]).collect();
    let set = TrainSet::human(&train, &train_y);
    let cfg = LearnerConfig::default();
    let acc = |m: &LogReg| {
        let lp = m.log_proba(&x);
        for i in 0..n {
            let s: f64 = lp.row(i).iter().map(|&v| (v as f64).exp()).sum();
            assert!((s - 1.0).abs() < 1e-4, "row {i} sums to {s}");
        }
        (1..n)
            .step_by(2)
            .filter(|&i| lp.argmax_row(i) == y[i])
            .count() as f64
            / (n / 2) as f64
    };
    let plain = LogReg::fit(&x, &set, 2, &cfg, None);
    let concepts = Concepts {
        fm: &fm,
        class_of: &[0, 1, 1],
    };
    let prior = FitPrior {
        concepts: Some(concepts),
        ..Default::default()
    };
    let by_concept = LogReg::fit_with(&x, &set, 2, &cfg, None, prior);
    assert!(acc(&plain) < 0.8, "one unit per class: {}", acc(&plain));
    assert!(
        acc(&by_concept) > 0.98,
        "one unit per concept: {}",
        acc(&by_concept)
    );
    assert_eq!(by_concept.present_classes(), &[0, 1, 2]);
    // A warm start from the per-class model is refused (other units); from itself it is kept.
    let again = LogReg::fit_with(&x, &set, 2, &cfg, Some(&by_concept), prior);
    assert!(again.iterations() <= by_concept.iterations());
}
