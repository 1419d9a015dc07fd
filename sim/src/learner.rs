//! The small model: multinomial logistic regression on frozen FM embeddings.
//!
//! Objective (DESIGN.md, "Evaluation protocol"): `0.5 |W|^2 + C_reg * sum_i s_i * CE(W x_i + b, y_i)`
//! with an unpenalised bias, `s_i = w_i * cw(y_i)` the sample weight times the class weight,
//! `cw(c) = total weight / (classes present * weight of c)` (inverse labeled weight per class).
//! Solved with argmin's L-BFGS (More-Thuente line search). linfa-logistic 0.7.1 was ruled out:
//! its fit never reads sample weights, and pseudo-labels need weight 0.5 (see docs/simulate.md).
//!
//! Classes without a training row are not fitted (their unpenalised bias would run to -inf);
//! they get the fixed probability [`ABSENT_PROB`] so that every log-probability stays finite.

use std::cell::RefCell;

use argmin::core::{CostFunction, Error as ArgminError, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use serde::{Deserialize, Serialize};

use crate::matrix::Matrix;
use crate::readout::Readout;

/// Probability given to a class that had no training row.
pub const ABSENT_PROB: f64 = 1e-6;

/// Hyper-parameters of the small model and its solver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnerConfig {
    /// Scale of the data term against `0.5 |W|^2` (DESIGN.md: 10).
    pub c_reg: f64,
    /// L-BFGS iteration cap.
    pub max_iters: u64,
    /// Stop when the gradient norm of the objective divided by the total data weight is below this.
    ///
    /// At 1e-5 the warm-started fits stop early (the deployed model with one unit per FM concept
    /// after 22 to 34 iterations), near the FM-centred start: that acts as part of the
    /// regularisation. Fitting to the cost tolerance instead gains on clean long tail and loses
    /// 0.010 of final accuracy on the noisy settings (docs/method.md, session 8).
    pub tol_grad: f64,
    /// Stop when the change of the objective divided by the total data weight is below this.
    pub tol_cost: f64,
    /// L-BFGS history length.
    pub history: usize,
    /// Strength `tau` of the decision bias for balanced accuracy
    /// ([`crate::method::decision_bias`]) with which the small model of a strategy whose labeler
    /// sets none predicts (every baseline, under both learners; ours' labeler sets its own,
    /// [`crate::MethodOptions::logit_adjustment`]). 0, the protocol's plain argmax, by default;
    /// runs written before the field existed read as 0, which they were.
    #[serde(default)]
    pub logit_adjustment: f32,
}

impl Default for LearnerConfig {
    fn default() -> Self {
        Self {
            c_reg: 10.0,
            max_iters: 300,
            tol_grad: 1e-5,
            tol_cost: 1e-9,
            history: 10,
            logit_adjustment: 0.0,
        }
    }
}

/// A weighted training set: pool rows, their labels and per-sample weights.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrainSet {
    /// Row indices into the embedding matrix.
    pub rows: Vec<usize>,
    /// Label of each row.
    pub labels: Vec<usize>,
    /// Weight of each row (1 for a human label, e.g. 0.5 for a pseudo-label).
    pub weights: Vec<f64>,
}

impl TrainSet {
    /// Human labels, weight 1 each.
    pub fn human(rows: &[usize], labels: &[usize]) -> Self {
        Self {
            rows: rows.to_vec(),
            labels: labels.to_vec(),
            weights: vec![1.0; rows.len()],
        }
    }

    /// Adds one row.
    pub fn push(&mut self, row: usize, label: usize, weight: f64) {
        self.rows.push(row);
        self.labels.push(label);
        self.weights.push(weight);
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// What our method's learner adds to the plain fit ([`LogReg::fit_with`]); the default adds nothing.
#[derive(Debug, Clone, Copy)]
pub struct FitPrior<'a> {
    /// Centre of the weight penalty (`units x dim`): the FM's readout ([`Readout`]).
    pub centre: Option<&'a Readout>,
    /// Weight of the centred penalty, `0.5 * weight * |W - centre|^2` against the data term
    /// scaled by `c_reg`: how far the labels must pull before the model leaves the FM's readout.
    /// 1 is the protocol's `0.5 |W|^2` moved to the centre; ignored without a centre (a heavier
    /// pull towards zero would only be another `c_reg`).
    pub weight: f64,
    /// One logistic unit per FM concept instead of one per class.
    pub concepts: Option<Concepts<'a>>,
}

impl Default for FitPrior<'_> {
    /// No centre, weight 1, one unit per class: the plain fit.
    fn default() -> Self {
        Self {
            centre: None,
            weight: 1.0,
            concepts: None,
        }
    }
}

/// The FM's finer concepts of each class (e.g. the topics a merged "other" class is made of):
/// the small model gets one logistic unit per concept, a class's probability is the sum of its
/// concepts', and a labeled row teaches the concept of its class the FM rates highest on it.
/// A class that is a mixture of topics then needs no single hyperplane against the rest.
#[derive(Debug, Clone, Copy)]
pub struct Concepts<'a> {
    /// FM log-probabilities over the concepts (pool rows x concepts).
    pub fm: &'a Matrix,
    /// The class of each concept.
    pub class_of: &'a [usize],
}

impl Concepts<'_> {
    /// The concept of class `y` that the FM rates highest on pool row `row` (ties: the lower
    /// concept); `y` itself when no concept belongs to class `y`.
    ///
    /// ```
    /// use coselect_sim::{Concepts, Matrix};
    /// // Concepts 0, 1 are class 0; concept 2 is class 1.
    /// let fm = Matrix::new(1, 3, vec![-2.0, -0.5, -1.0]);
    /// let cn = Concepts { fm: &fm, class_of: &[0, 0, 1] };
    /// assert_eq!((cn.unit_of(0, 0), cn.unit_of(0, 1)), (1, 2));
    /// ```
    pub fn unit_of(&self, row: usize, y: usize) -> usize {
        let r = self.fm.row(row);
        let mut best: Option<usize> = None;
        for (u, &c) in self.class_of.iter().enumerate() {
            if c == y && best.is_none_or(|b| r[u] > r[b]) {
                best = Some(u);
            }
        }
        best.unwrap_or(y)
    }
}

/// A fitted multinomial logistic regression.
///
/// ```
/// use coselect_sim::{LearnerConfig, LogReg, Matrix, TrainSet};
/// let x = Matrix::new(4, 1, vec![-2.0, -1.0, 1.0, 2.0]);
/// let set = TrainSet::human(&[0, 1, 2, 3], &[0, 0, 1, 1]);
/// let model = LogReg::fit(&x, &set, 2, &LearnerConfig::default(), None);
/// let lp = model.log_proba(&x);
/// assert_eq!(lp.argmax_row(0), 0);
/// assert_eq!(lp.argmax_row(3), 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LogReg {
    n_classes: usize,
    dim: usize,
    /// Fitted units (classes, or concepts with `unit_class`), ascending.
    present: Vec<usize>,
    /// The class of each unit when the model has one unit per FM concept.
    unit_class: Option<Vec<usize>>,
    /// `present.len() x dim`, row-major.
    w: Vec<f64>,
    bias: Vec<f64>,
    iterations: u64,
}

impl LogReg {
    /// Fits on `set` (rows of `x`), warm-started from `warm` where it knows a class.
    ///
    /// # Panics
    /// When a label is `>= n_classes` or the set's vectors differ in length.
    pub fn fit(
        x: &Matrix,
        set: &TrainSet,
        n_classes: usize,
        cfg: &LearnerConfig,
        warm: Option<&LogReg>,
    ) -> LogReg {
        Self::fit_with(x, set, n_classes, cfg, warm, FitPrior::default())
    }

    /// [`LogReg::fit`] with what our method adds to the small model ([`FitPrior`]): the weight
    /// penalty centred on the FM's readout, and one logistic unit per FM concept.
    ///
    /// ```
    /// use coselect_sim::{FitPrior, LearnerConfig, LogReg, Matrix, Readout, TrainSet};
    /// let x = Matrix::new(4, 1, vec![-2.0, -1.0, 1.0, 2.0]);
    /// // One label of each class, and a prior that already separates them strongly.
    /// let set = TrainSet::human(&[1, 2], &[0, 1]);
    /// let centre = Readout { w: vec![-5.0, 5.0], b: vec![0.0, 0.0], dim: 1 };
    /// let cfg = LearnerConfig::default();
    /// let plain = LogReg::fit(&x, &set, 2, &cfg, None);
    /// let prior = FitPrior { centre: Some(&centre), ..Default::default() };
    /// let centred = LogReg::fit_with(&x, &set, 2, &cfg, None, prior);
    /// assert!(centred.weights()[1] - centred.weights()[0] > plain.weights()[1] - plain.weights()[0]);
    /// ```
    ///
    /// # Panics
    /// As [`LogReg::fit`]; also when the centre is not `units x dim` (units: the concepts, or
    /// the classes), its weight is not a positive finite number, or a concept maps to a class
    /// `>= n_classes`.
    pub fn fit_with(
        x: &Matrix,
        set: &TrainSet,
        n_classes: usize,
        cfg: &LearnerConfig,
        warm: Option<&LogReg>,
        prior: FitPrior<'_>,
    ) -> LogReg {
        assert!(set.labels.len() == set.rows.len() && set.weights.len() == set.rows.len());
        let dim = x.cols();
        let mut class_weight = vec![0.0f64; n_classes];
        for (&y, &w) in set.labels.iter().zip(&set.weights) {
            assert!(y < n_classes, "label {y} out of range");
            class_weight[y] += w.max(0.0);
        }
        let classes_present = class_weight.iter().filter(|&&w| w > 0.0).count();
        // The unit each training row teaches: its class, or the class's concept the FM rates
        // highest on that row.
        let (units, unit_class) = match prior.concepts {
            None => (n_classes, None),
            Some(cn) => {
                assert!(cn.class_of.iter().all(|&c| c < n_classes));
                (cn.class_of.len(), Some(cn.class_of.to_vec()))
            }
        };
        let unit_of = |row: usize, y: usize| match prior.concepts {
            None => y,
            Some(cn) => cn.unit_of(row, y),
        };
        let mut unit_weight = vec![0.0f64; units];
        for ((&r, &y), &w) in set.rows.iter().zip(&set.labels).zip(&set.weights) {
            unit_weight[unit_of(r, y)] += w.max(0.0);
        }
        let present: Vec<usize> = (0..units).filter(|&u| unit_weight[u] > 0.0).collect();
        let p = present.len();
        let mut model = LogReg {
            n_classes,
            dim,
            present: present.clone(),
            unit_class,
            w: vec![0.0; p * dim],
            bias: vec![0.0; p],
            iterations: 0,
        };
        if p < 2 {
            return model;
        }
        let mut w0 = Vec::new();
        if let Some(r) = prior.centre {
            assert!(r.dim == dim && r.w.len() == units * dim && r.b.len() == units);
            for (k, &u) in present.iter().enumerate() {
                w0.extend_from_slice(&r.w[u * dim..(u + 1) * dim]);
                model.w[k * dim..(k + 1) * dim].copy_from_slice(&r.w[u * dim..(u + 1) * dim]);
                model.bias[k] = r.b[u];
            }
        }
        if let Some(old) = warm.filter(|m| {
            m.dim == dim && m.n_classes == n_classes && m.unit_class == model.unit_class
        }) {
            for (k, &u) in present.iter().enumerate() {
                if let Some(j) = old.present.iter().position(|&ou| ou == u) {
                    model.w[k * dim..(k + 1) * dim].copy_from_slice(&old.w[j * dim..(j + 1) * dim]);
                    model.bias[k] = old.bias[j];
                }
            }
        }
        let total: f64 = class_weight.iter().sum();
        // A heavier penalty is the same optimum as a lighter data term; dividing `c_reg` keeps
        // the objective's scale, and with it the solver's tolerances, as they are.
        let c_reg = match prior.centre {
            Some(_) => {
                assert!(
                    prior.weight.is_finite() && prior.weight > 0.0,
                    "prior weight {} is not a positive finite number",
                    prior.weight
                );
                cfg.c_reg / prior.weight
            }
            None => cfg.c_reg,
        };
        let mut slot = vec![usize::MAX; units];
        for (k, &u) in present.iter().enumerate() {
            slot[u] = k;
        }
        let mut xs = Vec::with_capacity(set.len() * dim);
        let mut ys = Vec::with_capacity(set.len());
        let mut ss = Vec::with_capacity(set.len());
        for ((&r, &y), &w) in set.rows.iter().zip(&set.labels).zip(&set.weights) {
            if w <= 0.0 {
                continue;
            }
            xs.extend(x.row(r).iter().map(|&v| v as f64));
            ys.push(slot[unit_of(r, y)]);
            // Class weights stay per class: balanced accuracy weighs classes, not concepts.
            ss.push(c_reg * w * total / (classes_present as f64 * class_weight[y]));
        }
        let scale = ss.iter().sum::<f64>();
        let objective = Objective {
            x: xs,
            y: ys,
            s: ss,
            p,
            d: dim,
            w0,
            inv_scale: 1.0 / scale,
            cache: RefCell::new(None),
        };
        let mut theta = model.w.clone();
        theta.extend_from_slice(&model.bias);
        let (theta, iters) = objective.minimise(theta, cfg);
        model.w.copy_from_slice(&theta[..p * dim]);
        model.bias.copy_from_slice(&theta[p * dim..]);
        model.iterations = iters;
        model
    }

    /// Number of classes of the label space.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Classes that had training rows (units, see [`LogReg::unit_classes`], for a model with
    /// one unit per FM concept).
    pub fn present_classes(&self) -> &[usize] {
        &self.present
    }

    /// The class of each unit for a model with one unit per FM concept ([`Concepts`]); `None`
    /// for the plain model, whose units are the classes.
    pub fn unit_classes(&self) -> Option<&[usize]> {
        self.unit_class.as_deref()
    }

    /// L-BFGS iterations of the last fit.
    pub fn iterations(&self) -> u64 {
        self.iterations
    }

    /// Weights of the fitted classes (`present_classes().len() x dim`, row-major), for strategies
    /// that need the decision boundaries themselves (BASE's distance to a class boundary).
    ///
    /// ```
    /// use coselect_sim::{LearnerConfig, LogReg, Matrix, TrainSet};
    /// let x = Matrix::new(4, 1, vec![-2.0, -1.0, 1.0, 2.0]);
    /// let set = TrainSet::human(&[0, 1, 2, 3], &[0, 0, 1, 1]);
    /// let m = LogReg::fit(&x, &set, 2, &LearnerConfig::default(), None);
    /// assert_eq!((m.weights().len(), m.biases().len()), (2, 2));
    /// // The boundary -(b0 - b1) / (w0 - w1) of this symmetric problem sits at 0.
    /// let xstar = -(m.biases()[0] - m.biases()[1]) / (m.weights()[0] - m.weights()[1]);
    /// assert!(xstar.abs() < 1e-3);
    /// ```
    pub fn weights(&self) -> &[f64] {
        &self.w
    }

    /// Biases of the fitted classes, in `present_classes()` order (example: [`LogReg::weights`]).
    pub fn biases(&self) -> &[f64] {
        &self.bias
    }

    /// Log-probabilities of every row of `x` (rows x classes).
    pub fn log_proba(&self, x: &Matrix) -> Matrix {
        assert_eq!(
            x.cols(),
            self.dim,
            "embedding dimension differs from the model's"
        );
        let n = x.rows();
        let p = self.present.len();
        let c = self.n_classes;
        let mut out = Matrix::zeros(n, c);
        let class_of = |u: usize| self.unit_class.as_ref().map_or(u, |m| m[u]);
        let mut class_present = vec![false; c];
        for &u in &self.present {
            class_present[class_of(u)] = true;
        }
        let absent = class_present.iter().filter(|&&b| !b).count();
        let log_absent = ABSENT_PROB.ln() as f32;
        let log_mass = (1.0 - ABSENT_PROB * absent as f64).ln();
        if p < 2 {
            let v = if p == 1 {
                log_mass as f32
            } else {
                -(c as f32).ln()
            };
            for i in 0..n {
                for (k, o) in out.row_mut(i).iter_mut().enumerate() {
                    *o = if p == 0 || class_of(self.present[0]) == k {
                        v
                    } else {
                        log_absent
                    };
                }
            }
            return out;
        }
        let wf: Vec<f32> = self.w.iter().map(|&v| v as f32).collect();
        let mut z = vec![0.0f32; n * p];
        // SAFETY: the shapes and strides below describe the three buffers exactly.
        unsafe {
            matrixmultiply::sgemm(
                n,
                self.dim,
                p,
                1.0,
                x.data().as_ptr(),
                self.dim as isize,
                1,
                wf.as_ptr(),
                1,
                self.dim as isize,
                0.0,
                z.as_mut_ptr(),
                p as isize,
                1,
            );
        }
        let mut mass = vec![0.0f64; c];
        for i in 0..n {
            let zi = &mut z[i * p..(i + 1) * p];
            let mut m = f64::NEG_INFINITY;
            for (k, v) in zi.iter_mut().enumerate() {
                *v += self.bias[k] as f32;
                m = m.max(*v as f64);
            }
            let s: f64 = zi.iter().map(|&v| (v as f64 - m).exp()).sum();
            let lse = m + s.ln();
            let row = out.row_mut(i);
            row.fill(log_absent);
            match &self.unit_class {
                None => {
                    for (k, &cls) in self.present.iter().enumerate() {
                        row[cls] = (zi[k] as f64 - lse + log_mass) as f32;
                    }
                }
                Some(unit_class) => {
                    mass.fill(0.0);
                    for (k, &u) in self.present.iter().enumerate() {
                        mass[unit_class[u]] += (zi[k] as f64 - lse).exp();
                    }
                    for (cls, &m) in mass.iter().enumerate() {
                        if class_present[cls] {
                            row[cls] = (m.ln() + log_mass) as f32;
                        }
                    }
                }
            }
        }
        out
    }

    /// Log-probabilities of the given rows of `x`.
    pub fn log_proba_rows(&self, x: &Matrix, rows: &[usize]) -> Matrix {
        self.log_proba(&x.select_rows(rows))
    }

    /// Objective value and gradient at the model's parameters on `set`, for checks.
    /// The parameter layout is `W` (fitted classes x dim, row-major) then the biases; `centre`
    /// (classes x dim, as [`Readout`]) centres the weight penalty as [`LogReg::fit_with`] does.
    pub fn objective_at(
        x: &Matrix,
        set: &TrainSet,
        n_classes: usize,
        cfg: &LearnerConfig,
        theta: &[f64],
        centre: Option<&Readout>,
    ) -> (f64, Vec<f64>) {
        let dim = x.cols();
        let mut class_weight = vec![0.0f64; n_classes];
        for (&y, &w) in set.labels.iter().zip(&set.weights) {
            class_weight[y] += w.max(0.0);
        }
        let present: Vec<usize> = (0..n_classes).filter(|&c| class_weight[c] > 0.0).collect();
        let p = present.len();
        let total: f64 = class_weight.iter().sum();
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        let mut ss = Vec::new();
        for ((&r, &y), &w) in set.rows.iter().zip(&set.labels).zip(&set.weights) {
            if w > 0.0 {
                xs.extend(x.row(r).iter().map(|&v| v as f64));
                ys.push(present.iter().position(|&c| c == y).unwrap_or(0));
                ss.push(cfg.c_reg * w * total / (p as f64 * class_weight[y]));
            }
        }
        let w0 = centre.map_or_else(Vec::new, |r| {
            present
                .iter()
                .flat_map(|&c| r.w[c * dim..(c + 1) * dim].to_vec())
                .collect()
        });
        let o = Objective {
            x: xs,
            y: ys,
            s: ss,
            p,
            d: dim,
            w0,
            inv_scale: 1.0,
            cache: RefCell::new(None),
        };
        o.eval(theta)
    }
}

/// A parameter vector with its objective value and gradient.
type Evaluated = (Vec<f64>, f64, Vec<f64>);

/// The penalised, weighted cross-entropy, divided by the total data weight so that the solver's
/// absolute tolerances mean the same at 10 and at 10,000 training rows.
struct Objective {
    x: Vec<f64>,
    y: Vec<usize>,
    s: Vec<f64>,
    p: usize,
    d: usize,
    /// Centre of the weight penalty (`p x d`), empty for the origin.
    w0: Vec<f64>,
    inv_scale: f64,
    /// The line search asks for the cost and then the gradient at the same point: compute both once.
    cache: RefCell<Option<Evaluated>>,
}

impl Objective {
    fn eval(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let (p, d) = (self.p, self.d);
        let n = self.y.len();
        let w = &theta[..p * d];
        let b = &theta[p * d..];
        let mut z = vec![0.0f64; n * p];
        // SAFETY: X is n x d (row-major), W^T is read as d x p from the p x d buffer, Z is n x p.
        unsafe {
            matrixmultiply::dgemm(
                n,
                d,
                p,
                1.0,
                self.x.as_ptr(),
                d as isize,
                1,
                w.as_ptr(),
                1,
                d as isize,
                0.0,
                z.as_mut_ptr(),
                p as isize,
                1,
            );
        }
        let mut grad = w.to_vec();
        if !self.w0.is_empty() {
            for (g, &c) in grad.iter_mut().zip(&self.w0) {
                *g -= c;
            }
        }
        let mut cost = 0.5 * grad.iter().map(|v| v * v).sum::<f64>();
        let mut grad_b = vec![0.0f64; p];
        for i in 0..n {
            let zi = &mut z[i * p..(i + 1) * p];
            let mut m = f64::NEG_INFINITY;
            for (k, v) in zi.iter_mut().enumerate() {
                *v += b[k];
                m = m.max(*v);
            }
            let mut s = 0.0;
            for v in zi.iter_mut() {
                *v = (*v - m).exp();
                s += *v;
            }
            let yi = self.y[i];
            // zi now holds exp(z - m); the loss is lse - z_y = ln(s) - ln(zi[y]).
            cost += self.s[i] * (s.ln() - zi[yi].ln());
            for (k, v) in zi.iter_mut().enumerate() {
                let g = self.s[i] * (*v / s - if k == yi { 1.0 } else { 0.0 });
                *v = g;
                grad_b[k] += g;
            }
        }
        // SAFETY: G^T is read as p x n from the n x p buffer, X is n x d, the gradient is p x d.
        unsafe {
            matrixmultiply::dgemm(
                p,
                n,
                d,
                1.0,
                z.as_ptr(),
                1,
                p as isize,
                self.x.as_ptr(),
                d as isize,
                1,
                1.0,
                grad.as_mut_ptr(),
                d as isize,
                1,
            );
        }
        grad.extend_from_slice(&grad_b);
        for g in grad.iter_mut() {
            *g *= self.inv_scale;
        }
        (cost * self.inv_scale, grad)
    }

    fn cached(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        if let Some((t, c, g)) = self.cache.borrow().as_ref() {
            if t.as_slice() == theta {
                return (*c, g.clone());
            }
        }
        let (c, g) = self.eval(theta);
        *self.cache.borrow_mut() = Some((theta.to_vec(), c, g.clone()));
        (c, g)
    }

    fn minimise(self, theta0: Vec<f64>, cfg: &LearnerConfig) -> (Vec<f64>, u64) {
        let run = || -> Result<(Vec<f64>, u64), ArgminError> {
            let solver = LBFGS::new(MoreThuenteLineSearch::new(), cfg.history.max(1))
                .with_tolerance_grad(cfg.tol_grad)?
                .with_tolerance_cost(cfg.tol_cost)?;
            let res = Executor::new(&self, solver)
                .configure(|s| s.param(theta0.clone()).max_iters(cfg.max_iters))
                .run()?;
            let state = res.state();
            let best = state
                .get_best_param()
                .or(state.get_param())
                .cloned()
                .unwrap_or_else(|| theta0.clone());
            Ok((best, state.get_iter()))
        };
        // A line search that cannot improve (already at the optimum from a warm start) is an error
        // in argmin; the warm start is then the answer.
        run().unwrap_or_else(|_| (theta0.clone(), 0))
    }
}

impl CostFunction for &Objective {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, theta: &Self::Param) -> Result<f64, ArgminError> {
        Ok(self.cached(theta).0)
    }
}

impl Gradient for &Objective {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, theta: &Self::Param) -> Result<Vec<f64>, ArgminError> {
        Ok(self.cached(theta).1)
    }
}

/// Out-of-sample log-probabilities of each row of `set` by `folds`-fold cross-fitting.
///
/// Rows are split into folds stratified by label with a seeded shuffle; each fold is predicted by
/// a model fitted on the other folds (with the set's weights). Returns `set.len() x n_classes`, in
/// the order of `set.rows`. With fewer than two rows every row gets the uniform distribution.
/// `warm` (e.g. the model fitted on all rows) warm-starts every fold, which saves most iterations.
///
/// ```
/// use coselect_sim::{cross_fit, LearnerConfig, Matrix, TrainSet};
/// let x = Matrix::new(6, 1, vec![-3.0, -2.0, -1.0, 1.0, 2.0, 3.0]);
/// let set = TrainSet::human(&[0, 1, 2, 3, 4, 5], &[0, 0, 0, 1, 1, 1]);
/// let lp = cross_fit(&x, &set, 2, &LearnerConfig::default(), 3, 42, None);
/// assert_eq!(lp.rows(), 6);
/// assert_eq!(lp.argmax_row(0), 0);
/// assert_eq!(lp.argmax_row(5), 1);
/// ```
pub fn cross_fit(
    x: &Matrix,
    set: &TrainSet,
    n_classes: usize,
    cfg: &LearnerConfig,
    folds: usize,
    seed: u64,
    warm: Option<&LogReg>,
) -> Matrix {
    use rand::seq::SliceRandom;
    let n = set.len();
    let mut out = Matrix::new(n, n_classes, vec![-(n_classes as f32).ln(); n * n_classes]);
    let folds = folds.max(2).min(n);
    if n < 2 {
        return out;
    }
    let mut rng = crate::seed::rng_for(seed, "cross-fit", n as u64);
    let mut fold_of = vec![0usize; n];
    let mut next = 0usize;
    for c in 0..n_classes {
        let mut members: Vec<usize> = (0..n).filter(|&i| set.labels[i] == c).collect();
        members.shuffle(&mut rng);
        for i in members {
            // Continue the round-robin across classes so that small classes do not all land in fold 0.
            fold_of[i] = next % folds;
            next += 1;
        }
    }
    for f in 0..folds {
        let mut train = TrainSet::default();
        let mut held = Vec::new();
        for (i, &fold) in fold_of.iter().enumerate() {
            if fold == f {
                held.push(i);
            } else {
                train.push(set.rows[i], set.labels[i], set.weights[i]);
            }
        }
        if held.is_empty() {
            continue;
        }
        let model = LogReg::fit(x, &train, n_classes, cfg, warm);
        let rows: Vec<usize> = held.iter().map(|&i| set.rows[i]).collect();
        let lp = model.log_proba_rows(x, &rows);
        for (k, &i) in held.iter().enumerate() {
            out.row_mut(i).copy_from_slice(lp.row(k));
        }
    }
    out
}
