//! One labeling round over a pool: calibration, prior, scoring, selection
//! and co-decided pseudo-labels.
//!
//! Passes over the pool, each parallel over chunks:
//! 1. EM of the pool prior, one pass per iteration, only when some class is
//!    in seed mode (boundary mode does not use the prior, so a round where
//!    every class has `seed_min` labels skips it);
//! 2. one pass that scores every unlabeled row ([`Scorer`]), keeps the best
//!    `k` per class, and, with a small model and human labels, collects the
//!    co-decision candidates ([`candidacy_unchecked`]).
//!
//! Every row is validated on the first pass that reads it, so a NaN is
//! reported with its file, row and column before anything is selected.

use coselect_core::math::{argmax, boundary_scores};
use coselect_core::{
    candidacy_unchecked, flexmatch_thresholds, Config, Entry, Pick, PseudoLabel, Reason, Scorer,
};

use crate::calibration::Calibration;
use crate::error::{Error, Result};
use crate::heaps::{tier, top_list, ClassHeaps, TopList, BUDGET_TIERS, MAX_CLASSES};
use crate::parallel::{Parallelism, Workers};
use crate::plan::RoundPlan;
use crate::prior::PriorEstimate;
use crate::{Labels, Matrix};

/// The inputs of a round: FM scores, optional small-model
/// log-probabilities of the same shape, and the human labels.
///
/// ```
/// use coselect_cpu::{Labels, Matrix, Pool};
/// let fm = [2.0f32, 0.0, 0.0, 2.0, 1.0, 1.0];
/// let pool = Pool::new(Matrix::f32("fm", &fm, 3, 2)?, None, None)?;
/// assert_eq!(pool.labels().unlabeled(), 3);
/// # Ok::<(), coselect_cpu::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Pool<'a> {
    pub(crate) fm: Matrix<'a>,
    pub(crate) sm: Option<Matrix<'a>>,
    pub(crate) labels: Labels,
}

impl<'a> Pool<'a> {
    /// Checks that the shapes agree. Without labels every row is unlabeled.
    pub fn new(fm: Matrix<'a>, sm: Option<Matrix<'a>>, labels: Option<Labels>) -> Result<Self> {
        if let Some(s) = &sm {
            if (s.rows(), s.cols()) != (fm.rows(), fm.cols()) {
                return Err(Error::ShapeMismatch {
                    input: s.name().to_string(),
                    shape: s.shape_text(),
                    other: fm.name().to_string(),
                    other_shape: fm.shape_text(),
                });
            }
        }
        let classes = fm.cols();
        if classes < 2 {
            return Err(Error::core("pool")(
                coselect_core::Error::InvalidClassCount {
                    classes: classes as u32,
                },
            ));
        }
        if classes > MAX_CLASSES {
            return Err(Error::TooLarge {
                what: "the number of classes (columns)",
                value: classes,
                max: MAX_CLASSES,
            });
        }
        let labels = match labels {
            Some(l) => {
                if l.rows() != fm.rows() || l.counts().len() != classes {
                    return Err(Error::ShapeMismatch {
                        input: l.name().to_string(),
                        shape: format!("{} rows of {} classes", l.rows(), l.counts().len()),
                        other: fm.name().to_string(),
                        other_shape: fm.shape_text(),
                    });
                }
                l
            }
            None => Labels::none(fm.rows(), classes as u32),
        };
        Ok(Pool { fm, sm, labels })
    }

    /// The FM scores.
    pub fn fm(&self) -> &Matrix<'a> {
        &self.fm
    }

    /// The small model's log-probabilities, if given.
    pub fn sm(&self) -> Option<&Matrix<'a>> {
        self.sm.as_ref()
    }

    /// The human labels (all unlabeled when none were given).
    pub fn labels(&self) -> &Labels {
        &self.labels
    }

    /// Bytes of score input (FM plus small model), for throughput figures.
    pub fn input_bytes(&self) -> usize {
        self.fm.byte_len() + self.sm.as_ref().map_or(0, |m| m.byte_len())
    }

    /// Validates one row read from both matrices.
    #[inline]
    pub(crate) fn check_row(&self, i: usize, fm: &[f32], sm: Option<&[f32]>) -> Result<()> {
        self.fm.check_finite(i, fm)?;
        if let (Some(m), Some(r)) = (&self.sm, sm) {
            m.check_log_probabilities(i, r)?;
        }
        Ok(())
    }
}

/// Everything a round decides.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundResult {
    /// The query batch in pick order.
    pub queries: Vec<Pick>,
    /// Co-decided pseudo-labels (class by class, most confident first);
    /// empty without a small model or without human labels.
    pub pseudo_labels: Vec<PseudoLabel>,
    /// The calibration fitted on the labeled rows.
    pub calibration: Calibration,
    /// The EM prior; `None` when no class was in seed mode (unused then).
    pub prior: Option<PriorEstimate>,
    /// Rows in the pool.
    pub rows: usize,
    /// Unlabeled rows scored.
    pub unlabeled: usize,
    /// Classes.
    pub classes: usize,
}

/// Runs one round over `pool` with `config` (its `classes` must match the
/// pool's columns) on `parallelism` worker threads. The selection equals the
/// core's single-threaded [`coselect_core::Selector`] for any thread count
/// and chunk size.
///
/// ```
/// use coselect_cpu::{run_round, Labels, Matrix, Parallelism, Pool};
/// use coselect_core::Config;
/// // Round 0 of a 3-class pool: the FM alone seeds one row per class.
/// let fm = [4.0f32, 0.0, 0.0, 0.0, 4.0, 0.0, 3.5, 0.5, 0.0, 0.0, 0.0, 4.0, 3.0, 1.0, 0.0];
/// let pool = Pool::new(Matrix::f32("fm", &fm, 5, 3)?, None, None)?;
/// let r = run_round(&pool, &Config::new(3, 3)?, Parallelism::default())?;
/// let mut classes: Vec<u32> = r.queries.iter().map(|p| p.class).collect();
/// classes.sort();
/// assert_eq!(classes, [0, 1, 2]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run_round(
    pool: &Pool<'_>,
    config: &Config,
    parallelism: Parallelism,
) -> Result<RoundResult> {
    check_round(pool, config)?;
    let unlabeled = pool.labels.unlabeled();
    if unlabeled < config.k as usize {
        let e = if unlabeled == 0 {
            coselect_core::Error::EmptyPool
        } else {
            coselect_core::Error::BudgetExceedsPool {
                k: config.k as u64,
                pool: unlabeled as u64,
            }
        };
        return Err(Error::core("selection")(e));
    }
    let k_tier = tier(&BUDGET_TIERS, config.k as usize, "the budget k")?;
    let workers = Workers::new(parallelism)?;
    // On a worker thread: the core structures are built by value before
    // they are boxed, and worker stacks are sized for that.
    workers.install(|| {
        let plan = RoundPlan::fit_on(pool, config, &workers, parallelism.em_cache_bytes)?;
        let pass = ScoringPass::new(&plan, &pool.fm, pool.sm.as_ref(), Rows::Pool(&pool.labels))?;
        // Rows were validated by the EM pass when there was one.
        let pass = ScoringPass {
            validate: plan.prior.is_none(),
            ..pass
        };
        let (queries, pseudo_labels) = match k_tier {
            256 => pass.run::<256>(&workers)?,
            4096 => pass.run::<4096>(&workers)?,
            _ => pass.run::<16_384>(&workers)?,
        };
        Ok(RoundResult {
            queries,
            pseudo_labels,
            calibration: plan.calibration,
            prior: plan.prior,
            rows: pool.fm.rows(),
            unlabeled,
            classes: pool.fm.cols(),
        })
    })
}

/// The checks of a round's inputs that need no pass over the pool.
pub(crate) fn check_round(pool: &Pool<'_>, config: &Config) -> Result<()> {
    config.validate().map_err(Error::core("config"))?;
    let classes = pool.fm.cols();
    if config.classes as usize != classes {
        return Err(Error::core("config")(
            coselect_core::Error::ClassCountMismatch {
                expected: config.classes,
                found: classes as u32,
            },
        ));
    }
    let counts = pool.labels.counts();
    if pool.sm.is_none() {
        if let Some(c) = counts.iter().position(|&n| n >= config.seed_min) {
            return Err(Error::MissingSmallModel {
                class: c as u32,
                labels: counts[c],
                seed_min: config.seed_min,
            });
        }
    }
    Ok(())
}

/// Which rows a scoring pass reads and the index each is known by.
#[derive(Clone, Copy)]
pub(crate) enum Rows<'p> {
    /// A whole pool: labeled rows are skipped, a row's index is its position.
    Pool(&'p crate::Labels),
    /// A batch of unlabeled rows known by the caller's ids.
    Ids(&'p [u64]),
}

/// The scoring, selection and co-decision pass.
pub(crate) struct ScoringPass<'p, 'a> {
    fm: &'p Matrix<'a>,
    sm: Option<&'p Matrix<'a>>,
    rows: Rows<'p>,
    plan: &'p RoundPlan,
    scorer: Scorer<MAX_CLASSES>,
    pub(crate) validate: bool,
    /// Every class in boundary mode: the scores are the core's
    /// `boundary_scores`, bit for bit what the scorer returns then, without
    /// the seed softmax it would compute and overwrite.
    all_boundary: bool,
    codecide: bool,
    /// `ln(co_floor)`, for [`may_reach_floor`].
    log_floor: f32,
}

/// A worker's co-decision state: what [`coselect_core::CoDecider`] keeps, with boxed
/// per-class lists so any cap fits.
pub(crate) struct CoState {
    pub(crate) sigma: Vec<u64>,
    pub(crate) unlabeled: u64,
    pub(crate) kept: Vec<Box<dyn TopList>>,
}

impl CoState {
    pub(crate) fn new(classes: usize, cap: usize) -> Result<Self> {
        Ok(CoState {
            sigma: vec![0; classes],
            unlabeled: 0,
            kept: (0..classes).map(|_| top_list(cap)).collect::<Result<_>>()?,
        })
    }

    fn merge(&mut self, other: &CoState) {
        for (x, y) in self.sigma.iter_mut().zip(&other.sigma) {
            *x += y;
        }
        self.unlabeled += other.unlabeled;
        for (x, y) in self.kept.iter_mut().zip(&other.kept) {
            for &e in y.entries() {
                x.offer(e);
            }
        }
    }
}

/// The mergeable state of a scoring pass over some of the pool's rows: the
/// best `k` per class (`K` the tier of `k`) and the co-decision candidates.
pub(crate) struct PartialState<const K: usize> {
    pub(crate) heaps: ClassHeaps<K>,
    pub(crate) co: Option<CoState>,
}

impl<const K: usize> PartialState<K> {
    pub(crate) fn new(plan: &RoundPlan) -> Result<Self> {
        let classes = plan.classes();
        let co = match plan.codecides() {
            true => Some(CoState::new(classes, plan.pseudo_cap())?),
            false => None,
        };
        Ok(PartialState {
            heaps: ClassHeaps::<K>::new(classes, plan.config.k as usize)?,
            co,
        })
    }

    pub(crate) fn merge(&mut self, other: &Self) {
        self.heaps.merge(&other.heaps);
        if let (Some(a), Some(b)) = (self.co.as_mut(), other.co.as_ref()) {
            a.merge(b);
        }
    }

    /// The query batch and the pseudo-labels.
    pub(crate) fn finish(self, plan: &RoundPlan) -> Result<(Vec<Pick>, Vec<PseudoLabel>)> {
        let c = &plan.config;
        let picks = self.heaps.finish(&plan.counts, c.k, c.seed_min)?;
        let pseudo = match self.co {
            Some(co) => accept(co, c.co_confidence, c.co_floor)?,
            None => Vec::new(),
        };
        Ok((picks, pseudo))
    }
}

impl<'p, 'a> ScoringPass<'p, 'a> {
    pub(crate) fn new(
        plan: &'p RoundPlan,
        fm: &'p Matrix<'a>,
        sm: Option<&'p Matrix<'a>>,
        rows: Rows<'p>,
    ) -> Result<Self> {
        let scorer = Scorer::<MAX_CLASSES>::new(
            &plan.config,
            &plan.counts,
            plan.calibration.posterior_weights(),
            &plan.log_prior,
        )
        .map_err(Error::core("scorer"))?;
        Ok(ScoringPass {
            fm,
            sm,
            rows,
            plan,
            scorer,
            validate: true,
            all_boundary: !plan.any_seed(),
            codecide: sm.is_some() && plan.codecides(),
            log_floor: plan.config.co_floor.ln(),
        })
    }

    fn run<const K: usize>(&self, workers: &Workers) -> Result<(Vec<Pick>, Vec<PseudoLabel>)> {
        let classes = self.fm.cols();
        let init = || {
            Ok((
                PartialState::<K>::new(self.plan)?,
                vec![0.0f32; 4 * classes],
            ))
        };
        let states = workers.pass(self.fm.rows(), init, |(st, bufs), range| {
            self.score_rows(st, bufs, range)
        })?;
        let mut states = states.into_iter();
        let mut acc = match states.next() {
            Some((s, _)) => s,
            None => init()?.0,
        };
        for (s, _) in states {
            acc.merge(&s);
        }
        acc.finish(self.plan)
    }

    /// Scores `range` into `st`; `bufs` holds `4 * classes` floats.
    pub(crate) fn score_rows<const K: usize>(
        &self,
        st: &mut PartialState<K>,
        bufs: &mut [f32],
        range: std::ops::Range<usize>,
    ) -> Result<()> {
        let classes = self.fm.cols();
        let temperature = self.plan.calibration.temperature;
        let (co_conf, co_floor) = (self.plan.config.co_confidence, self.plan.config.co_floor);
        let (fb, rest) = bufs.split_at_mut(classes);
        let (sb, rest) = rest.split_at_mut(classes);
        let (scores, scratch) = rest.split_at_mut(classes);
        for i in range {
            let index = match self.rows {
                Rows::Pool(labels) if labels.is_labeled(i) => continue,
                Rows::Pool(_) => i as u64,
                Rows::Ids(ids) => ids[i],
            };
            let fm = self.fm.row(i, fb);
            let sm = self.sm.map(|m| m.row(i, sb));
            if self.validate {
                self.fm.check_finite(i, fm)?;
                if let (Some(m), Some(r)) = (self.sm, sm) {
                    m.check_log_probabilities(i, r)?;
                }
            }
            match sm {
                Some(sm) if self.all_boundary => boundary_scores(sm, scores),
                _ => self.scorer.score_row_unchecked(fm, sm, scores),
            }
            st.heaps.push(index, scores);
            if let (Some(co), Some(sm), true) = (st.co.as_mut(), sm, self.codecide) {
                co.unlabeled += 1;
                let cand = match may_reach_floor(fm, sm, temperature, self.log_floor) {
                    true => candidacy_unchecked(fm, sm, temperature, scratch),
                    false => None,
                };
                if let Some((c, conf)) = cand {
                    if conf >= co_conf {
                        co.sigma[c as usize] += 1;
                    }
                    if conf >= co_floor {
                        co.kept[c as usize].offer(Entry::new(conf, index));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Whether a row can be a co-decision candidate with confidence at least
/// `co_floor`; rows that cannot skip the softmax. Only rows reaching the
/// floor affect the result (the counts need `co_confidence >= co_floor`, the
/// kept lists `co_floor`), so skipping the others changes nothing. Two cheap
/// certificates, each with a margin far above rounding:
/// - the FM's logit for the small model's class `cs` is 0.05 below the FM's
///   maximum (as the core computes them, `a * x` and `z - max`): then
///   `expf(z_cs - max) < 0.952 < 1 = expf(0)`, so `p_f[cs] < max p_f`
///   strictly and the models cannot agree on `cs`;
/// - `L[cs] < ln(co_floor) - 0.01`: then `p_s[cs] < co_floor`, and the
///   confidence `min(p_f, p_s)` is below the floor.
#[inline]
fn may_reach_floor(fm: &[f32], sm: &[f32], a: f32, log_floor: f32) -> bool {
    let cs = argmax(sm);
    if sm[cs] < log_floor - 0.01 {
        return false;
    }
    let mut m = f32::NEG_INFINITY;
    for &x in fm {
        m = m.max(a * x);
    }
    a * fm[cs] - m >= -0.05
}

/// The FlexMatch thresholds on the kept candidates, in [`coselect_core::CoDecider`]'s
/// output order: class by class, most confident first.
fn accept(mut co: CoState, co_conf: f32, co_floor: f32) -> Result<Vec<PseudoLabel>> {
    let mut th = vec![0.0f32; co.sigma.len()];
    flexmatch_thresholds(&co.sigma, co.unlabeled, co_conf, co_floor, &mut th)
        .map_err(Error::core("pseudo-labels"))?;
    let mut out = Vec::new();
    for (c, kept) in co.kept.iter_mut().enumerate() {
        for e in kept.best_last().iter().rev() {
            if e.score < th[c] {
                break;
            }
            out.push(PseudoLabel {
                index: e.index,
                class: c as u32,
                confidence: e.score,
            });
        }
    }
    Ok(out)
}

/// The word the output uses for a pick's reason.
pub fn reason_word(r: Reason) -> &'static str {
    match r {
        Reason::Seed => "seed",
        Reason::Boundary => "boundary",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row the filter skips is one the core's candidacy would not
    /// have counted, over rows crowded near both margins.
    #[test]
    fn skipped_rows_never_reach_the_floor() {
        let mut s = 0x1234_5678_9abc_def1u64;
        let mut rand = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32
        };
        let (mut skipped, mut scratch) = (0, [0.0f32; 3]);
        for i in 0..200_000 {
            let a = [0.05f32, 0.7, 1.0, 3.0][i % 4];
            let fm = [rand() * 0.2, rand() * 0.2, rand() * 4.0];
            let mut sm = [rand() * 3.0, rand() * 0.1, rand() * 3.0];
            let lse = coselect_core::math::log_sum_exp(&sm, 1.0);
            sm.iter_mut().for_each(|v| *v -= lse);
            let floor = 0.5f32;
            if !may_reach_floor(&fm, &sm, a, floor.ln()) {
                skipped += 1;
                if let Some((_, conf)) = candidacy_unchecked(&fm, &sm, a, &mut scratch) {
                    assert!(conf < floor, "{fm:?} {sm:?} {a}");
                }
            }
        }
        assert!(skipped > 10_000);
    }
}
