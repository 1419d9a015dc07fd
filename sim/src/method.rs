//! Our method, driven through `coselect-core`'s public API exactly as a user would call it.
//!
//! Nothing here re-derives a formula: calibration, EM, co-decision, trust and the query
//! selection are the core's. What lives here is what DESIGN.md gives the host: training the small
//! model, cross-fitting it for label trust, and handing rows to the core.

use coselect_core::{
    fit_fusion, fit_temperature, judge_label, logit_adjustment, math, CalibrationRows, CoDecider,
    Config, Fusion, Pick, PriorEm, Scorer, Selector,
};

use crate::error::{Result, SimError};
use crate::matrix::Matrix;

/// Most classes a dataset may have for our method in the simulator (the core's const capacity).
pub const MAX_CLASSES: usize = 64;
/// Largest batch our method selects in one round.
pub const MAX_BATCH: usize = 512;
/// Most pseudo-labels per class (20 x the smallest trusted class count must stay below it).
pub const MAX_PSEUDO_PER_CLASS: usize = 16384;

/// Turns a core error into the simulator's, naming what was being done.
pub(crate) fn core_err(what: &str) -> impl Fn(coselect_core::Error) -> SimError + '_ {
    move |e| SimError::Config(format!("coselect-core, {what}: {e}"))
}

/// The core configuration for a round of `batch` labels over `n_classes`.
pub fn core_config(n_classes: usize, batch: usize) -> Result<Config> {
    if n_classes > MAX_CLASSES || batch > MAX_BATCH {
        return Err(SimError::Config(format!(
            "our method in the simulator supports at most {MAX_CLASSES} classes and batches of {MAX_BATCH}; got {n_classes} classes, batch {batch}"
        )));
    }
    Config::new(n_classes as u32, batch.max(1) as u32).map_err(core_err("config"))
}

/// Trusted human labels per class: every labeled row except the suspects.
pub fn trusted(
    labeled: &[usize],
    labels: &[usize],
    suspects: &[usize],
    n_classes: usize,
) -> (Vec<usize>, Vec<u32>, Vec<u32>) {
    let mut rows = Vec::new();
    let mut ys = Vec::new();
    let mut counts = vec![0u32; n_classes];
    for (&r, &y) in labeled.iter().zip(labels) {
        if !suspects.contains(&r) {
            rows.push(r);
            ys.push(y as u32);
            counts[y] += 1;
        }
    }
    (rows, ys, counts)
}

/// Gathers the FM rows and (optionally) small-model rows of `rows` into owned calibration buffers.
fn gather(fm: &Matrix, sm: Option<&Matrix>, rows: &[usize]) -> (Vec<f32>, Option<Vec<f32>>) {
    let f: Vec<f32> = rows
        .iter()
        .flat_map(|&r| fm.row(r).iter().copied())
        .collect();
    let s = sm.map(|m| {
        rows.iter()
            .flat_map(|&r| m.row(r).iter().copied())
            .collect()
    });
    (f, s)
}

/// The FM temperature multiplier fitted on the trusted human labels (1 without labels).
pub fn temperature(cfg: &Config, fm: &Matrix, rows: &[usize], ys: &[u32]) -> Result<f32> {
    let (f, _) = gather(fm, None, rows);
    let cal =
        CalibrationRows::new(&f, None, ys, fm.cols()).map_err(core_err("calibration rows"))?;
    fit_temperature(&cal, cfg).map_err(core_err("temperature fit"))
}

/// The fusion weights fitted on rows with labels `ys` and small-model rows `sm`.
pub fn fusion(
    cfg: &Config,
    fm: &Matrix,
    sm: &Matrix,
    rows: &[usize],
    ys: &[u32],
) -> Result<Fusion> {
    let (f, s) = gather(fm, Some(sm), rows);
    let cal = CalibrationRows::new(&f, s.as_deref(), ys, fm.cols())
        .map_err(core_err("calibration rows"))?;
    fit_fusion(&cal, cfg).map_err(core_err("fusion fit"))
}

/// Label trust: which human labels both the FM and the cross-fitted small model contradict.
/// `oos` holds the out-of-sample log-probabilities of each labeled row, in `labeled` order.
pub fn suspects(
    cfg: &Config,
    fm: &Matrix,
    oos: &Matrix,
    labeled: &[usize],
    labels: &[usize],
) -> Result<Vec<usize>> {
    let ys: Vec<u32> = labels.iter().map(|&y| y as u32).collect();
    let f: Vec<f32> = labeled
        .iter()
        .flat_map(|&r| fm.row(r).iter().copied())
        .collect();
    // The out-of-sample rows are the honest calibration set for fusing them with the FM.
    let cal = CalibrationRows::new(&f, Some(oos.data()), &ys, fm.cols())
        .map_err(core_err("trust calibration"))?;
    let fus = fit_fusion(&cal, cfg).map_err(core_err("trust fusion"))?;
    let mut scratch = vec![0.0f32; fm.cols()];
    let mut out = Vec::new();
    for (j, &r) in labeled.iter().enumerate() {
        let v = judge_label(
            r as u64,
            fm.row(r),
            oos.row(j),
            ys[j],
            fus,
            cfg,
            &mut scratch,
        )
        .map_err(core_err("label trust"))?;
        if v.suspect {
            out.push(r);
        }
    }
    Ok(out)
}

/// Co-decided pseudo-labels over the unlabeled rows: FM at temperature `a_t`, small model `sm`
/// trained on the trusted human labels with counts `counts`. Returns (row, class, confidence).
pub fn co_decide(
    cfg: &Config,
    fm: &Matrix,
    sm: &Matrix,
    is_labeled: &[bool],
    counts: &[u32],
    a_t: f32,
) -> Result<Vec<(usize, usize, f32)>> {
    let mut co: Box<CoDecider<MAX_CLASSES, MAX_PSEUDO_PER_CLASS>> =
        Box::new(CoDecider::new(cfg, counts, a_t).map_err(core_err("co-decision"))?);
    for (i, &lab) in is_labeled.iter().enumerate() {
        if !lab {
            co.push(i as u64, fm.row(i), sm.row(i))
                .map_err(core_err("co-decision"))?;
        }
    }
    let cap = CoDecider::<MAX_CLASSES, MAX_PSEUDO_PER_CLASS>::cap(cfg, counts);
    let mut out = vec![coselect_core::PseudoLabel::default(); cap * fm.cols()];
    let n = co.finish(&mut out).map_err(core_err("co-decision"))?;
    Ok(out[..n]
        .iter()
        .map(|p| (p.index as usize, p.class as usize, p.confidence))
        .collect())
}

/// The deployed model's decision bias for balanced accuracy (`coselect_core::logit_adjustment`
/// at strength `tau`): `-tau ln pi_c`, with `pi` the model's mean posterior over the pool
/// `pool_log_probs` (N x C), taken as the first pass of the core's `PriorEm` on the posteriors.
/// Add it to a row's log-probabilities before the argmax.
///
/// ```
/// use coselect_sim::{method::decision_bias, Matrix};
/// // The model sees three rows of class 0 for one of class 1.
/// let p = [[0.9f32, 0.1], [0.8, 0.2], [0.9, 0.1], [0.2, 0.8]];
/// let lp = Matrix::new(4, 2, p.map(|r| r.map(f32::ln)).concat());
/// let b = decision_bias(&lp, 0.5)?;
/// assert!(b[1] > b[0]);
/// assert_eq!(decision_bias(&lp, 0.0)?, vec![0.0, 0.0]);
/// # Ok::<(), coselect_sim::SimError>(())
/// ```
pub fn decision_bias(pool_log_probs: &Matrix, tau: f32) -> Result<Vec<f32>> {
    let c = pool_log_probs.cols();
    let cfg = core_config(c, 1)?;
    let mut em: Box<PriorEm<MAX_CLASSES>> =
        Box::new(PriorEm::new(&cfg).map_err(core_err("decision prior"))?);
    let probs: Vec<f32> = pool_log_probs
        .data()
        .iter()
        .map(|&v| math::exp(v))
        .collect();
    em.push_rows(0, &probs)
        .map_err(core_err("decision prior"))?;
    em.end_pass().map_err(core_err("decision prior"))?;
    let mut bias = vec![0.0f32; c];
    logit_adjustment(em.prior(), tau, &mut bias).map_err(core_err("decision bias"))?;
    Ok(bias)
}

/// One round of query selection: EM prior on the fused posterior of the pool, the core's scorer
/// (seed mode for classes below `seed_min`, boundary mode otherwise) and streaming selector.
/// `counts` sets the modes; `quota_counts` the water-filling (equal to `counts` unless the
/// balance is ablated).
#[allow(clippy::too_many_arguments)]
pub fn select(
    cfg: &Config,
    fm: &Matrix,
    sm: Option<&Matrix>,
    fus: Fusion,
    is_labeled: &[bool],
    counts: &[u32],
    quota_counts: &[u32],
) -> Result<Vec<Pick>> {
    let c = fm.cols();
    // Pool prior by EM on the fused posterior (FM alone in round 0).
    let mut em = PriorEm::<MAX_CLASSES>::new(cfg).map_err(core_err("EM"))?;
    let mut p = vec![0.0f32; c];
    while !em.is_done() {
        for i in 0..fm.rows() {
            math::fused_softmax(fm.row(i), sm.map(|m| m.row(i)), fus.a, fus.b, &mut p);
            em.push(i as u64, &p).map_err(core_err("EM"))?;
        }
        em.end_pass().map_err(core_err("EM"))?;
    }
    let mut log_pi = vec![0.0f32; c];
    em.log_prior(&mut log_pi).map_err(core_err("EM"))?;
    let scorer =
        Scorer::<MAX_CLASSES>::new(cfg, counts, fus, &log_pi).map_err(core_err("scorer"))?;
    let mut sel: Box<Selector<MAX_CLASSES, MAX_BATCH>> =
        Box::new(Selector::new(cfg, quota_counts).map_err(core_err("selector"))?);
    let mut scores = vec![0.0f32; c];
    for (i, &lab) in is_labeled.iter().enumerate() {
        if !lab {
            scorer
                .score_row(i as u64, fm.row(i), sm.map(|m| m.row(i)), &mut scores)
                .map_err(core_err("scoring"))?;
            sel.push(i as u64, &scores).map_err(core_err("selector"))?;
        }
    }
    let mut picks = vec![Pick::default(); cfg.k as usize];
    let n = sel.finish(&mut picks).map_err(core_err("selection"))?;
    picks.truncate(n);
    Ok(picks)
}
