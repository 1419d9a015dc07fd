//! The small model: accuracy on a separable toy set, gradient against finite differences,
//! sample weights, warm start, cross-fitting.

use coselect_sim::{cross_fit, synthetic, LearnerConfig, LogReg, Matrix, TrainSet};

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
    let (_, grad) = LogReg::objective_at(&x, &set, 3, &cfg, &theta);
    let h = 1e-6;
    for k in 0..theta.len() {
        let mut tp = theta.clone();
        tp[k] += h;
        let mut tm = theta.clone();
        tm[k] -= h;
        let fd = (LogReg::objective_at(&x, &set, 3, &cfg, &tp).0
            - LogReg::objective_at(&x, &set, 3, &cfg, &tm).0)
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
