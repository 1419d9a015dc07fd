//! One labeling round over a pool: calibration, prior, scoring, selection
//! and co-decided pseudo-labels.
//!
//! Passes over the pool, each parallel over chunks:
//! 1. EM of the pool prior, one pass per iteration, only when some class is
//!    in seed mode (boundary mode does not use the prior, so a round where
//!    every class has `seed_min` labels skips it);
//! 2. one pass that scores every unlabeled row ([`Scorer`]), keeps the best
//!    `k` per class, and, with a small model and human labels, collects the
//!    co-decision candidates ([`coselect_core::candidacy_unchecked`]).
//!
//! The scoring pass takes the unlabeled rows in blocks of [`LANES`], laid
//! out class by class ([`coselect_core::block`]), so the per-row formulas
//! run across rows in vector registers; the core's block functions give
//! each row the bits its row function would.
//!
//! Every row is validated on the first pass that reads it, so a NaN is
//! reported with its file, row and column before anything is selected.

use coselect_core::block::{self, Lanes, LANES};
use coselect_core::math::NORMALIZATION_TOLERANCE;
use coselect_core::{flexmatch_thresholds, Config, Entry, Pick, PseudoLabel, Reason, Scorer};

use crate::calibration::Calibration;
use crate::error::{Error, Result};
use crate::heaps::{check_budget, BestList, ClassHeaps, MAX_CLASSES};
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
    /// The small model's decision bias for balanced accuracy
    /// ([`crate::decision_bias`]); `None` from [`run_round`], filled by a
    /// caller that asks for it (`coselect select --decision-bias`).
    pub decision_bias: Option<Vec<f32>>,
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
    check_budget(config.k as usize)?;
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
        let (queries, pseudo_labels) = pass.run(&workers)?;
        Ok(RoundResult {
            queries,
            pseudo_labels,
            calibration: plan.calibration,
            prior: plan.prior,
            rows: pool.fm.rows(),
            unlabeled,
            classes: pool.fm.cols(),
            decision_bias: None,
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
    if pool.sm.is_none() {
        crate::plan::check_no_boundary_class(pool.labels.counts(), config.seed_min)?;
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
}

/// A worker's co-decision state: what [`coselect_core::CoDecider`] keeps,
/// in lists that grow, so any cap fits.
pub(crate) struct CoState {
    pub(crate) sigma: Vec<u64>,
    pub(crate) unlabeled: u64,
    pub(crate) kept: Vec<BestList>,
    /// Per class, a score below which no entry can enter `kept[c]`: its
    /// [`BestList::floor`], `-inf` before the first selection (and after a
    /// restore or a merge, which only makes it lower than it could be). Most
    /// candidates of a large pool are settled by this compare, without a
    /// call into the list.
    floor: Vec<f32>,
    /// Classes whose `floor` is below the pass's `co_confidence` (all of
    /// them at first; the floors only rise).
    below_conf: usize,
    /// Rows that may reach the floor, waiting for their FM softmax.
    pending: Pending,
}

/// Up to [`LANES`] co-decision candidates in block form.
struct Pending {
    fm: Vec<Lanes>,
    index: [u64; LANES],
    class: [u32; LANES],
    /// The small model's probability of the agreed class.
    ps: Lanes,
    len: usize,
}

impl CoState {
    pub(crate) fn new(classes: usize, cap: usize) -> Self {
        CoState {
            sigma: vec![0; classes],
            unlabeled: 0,
            kept: (0..classes).map(|_| BestList::new(cap)).collect(),
            floor: vec![f32::NEG_INFINITY; classes],
            below_conf: classes,
            pending: Pending {
                fm: vec![[0.0; LANES]; classes],
                index: [0; LANES],
                class: [0; LANES],
                ps: [0.0; LANES],
                len: 0,
            },
        }
    }

    /// Moves the rows of a block that can reach the floor to the pending
    /// block, deciding it whenever it fills: `class` and `ps` are the core's
    /// [`block::agreement`] of the block `fm`, `index` its first
    /// `index.len()` lanes' indices (later lanes are stale and ignored).
    #[inline(always)]
    fn gather(
        &mut self,
        fm: &[Lanes],
        (class, ps): (&[u32; LANES], &Lanes),
        index: &[u64],
        temperature: f32,
        (co_conf, co_floor): (f32, f32),
    ) {
        // The confidence is `min(p_f, p_s) <= p_s`, and a row changes the
        // state only if its confidence reaches `co_floor` and either
        // `co_conf` (it is counted) or its class's list floor (it may be
        // kept; a lower score is never better than the worst kept entry).
        // So only a row whose models agree with `p_s >= co_floor` needs the
        // FM softmax, and once every class's floor has reached `co_conf`
        // only one with `p_s >= co_conf`: 12% of the rows of the 1M x 10
        // bench pool instead of 39%, far fewer at 100 classes, where the
        // softmax of a whole block cost twice the time of the whole pass.
        // The rows are taken from a bit mask, so the others cost no
        // mispredicted branch.
        let gate = match self.below_conf {
            0 => co_conf,
            _ => co_floor,
        };
        let mut live = live_lanes(class, ps, gate, index.len());
        while live != 0 {
            let j = live.trailing_zeros() as usize;
            live &= live - 1;
            let p = &mut self.pending;
            let k = p.len;
            for (t, f) in p.fm.iter_mut().zip(fm) {
                t[k] = f[j];
            }
            p.index[k] = index[j];
            p.class[k] = class[j];
            p.ps[k] = ps[j];
            p.len += 1;
            if p.len == LANES {
                self.decide(temperature, co_conf, co_floor);
            }
        }
    }

    /// Confidence `min(p_f, p_s)` of the pending rows (the core's
    /// [`block::candidacy`] in two halves), counted and kept as
    /// [`coselect_core::CoDecider`] does; empties the pending block.
    #[inline(always)]
    fn decide(&mut self, temperature: f32, co_conf: f32, co_floor: f32) {
        let p = &mut self.pending;
        if p.len == 0 {
            return;
        }
        let pf = block::fm_confidence(&p.fm, temperature);
        let mut conf = [0.0f32; LANES];
        for j in 0..LANES {
            conf[j] = pf[j].min(p.ps[j]);
        }
        let n = std::mem::take(&mut p.len);
        let (class, index) = (p.class, p.index);
        self.decide_block(&class, &conf, &index[..n], co_conf, co_floor);
    }

    /// Adds another worker's counts and kept candidates.
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

    /// Counts and keeps the candidates of a block as
    /// [`coselect_core::CoDecider`] does: `class` and `conf` are the core's
    /// [`block::candidacy`] of its rows, `index` the first `index.len()`
    /// lanes' indices (later lanes are ignored).
    #[inline(always)]
    fn decide_block(
        &mut self,
        class: &[u32; LANES],
        conf: &Lanes,
        index: &[u64],
        co_conf: f32,
        co_floor: f32,
    ) {
        // Only lanes with `conf >= co_floor` are counted or kept (`co_conf
        // >= co_floor`, checked by the config): they are taken from a bit
        // mask, so the half of the rows that are no candidate cost no
        // mispredicted branch.
        let mut live = live_lanes(class, conf, co_floor, index.len());
        while live != 0 {
            let j = live.trailing_zeros() as usize;
            live &= live - 1;
            let (c, conf) = (class[j] as usize, conf[j]);
            self.sigma[c] += (conf >= co_conf) as u64;
            if conf >= self.floor[c] && self.kept[c].offer(Entry::new(conf, index[j])) {
                let was_below = self.floor[c] < co_conf;
                self.floor[c] = self.kept[c].floor();
                self.below_conf -= (was_below && self.floor[c] >= co_conf) as usize;
            }
        }
    }
}

/// The mergeable state of a scoring pass over some of the pool's rows: the
/// best `k` per class and the co-decision candidates.
/// Between calls of [`ScoringPass::score_rows`] nothing is pending, so a
/// state can be merged, serialised or finished at any time.
pub(crate) struct PartialState {
    pub(crate) heaps: ClassHeaps,
    pub(crate) co: Option<CoState>,
}

impl PartialState {
    /// An empty state; the budget was checked by the caller
    /// ([`check_budget`]).
    pub(crate) fn new(plan: &RoundPlan) -> Self {
        let classes = plan.classes();
        let co = match plan.codecides() {
            true => Some(CoState::new(classes, plan.pseudo_cap())),
            false => None,
        };
        PartialState {
            heaps: ClassHeaps::new(classes, plan.config.k as usize),
            co,
        }
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

/// A block of up to [`LANES`] unlabeled rows in the core's
/// structure-of-arrays form, and the scores' buffer.
pub(crate) struct Block {
    fm: Vec<Lanes>,
    sm: Vec<Lanes>,
    scores: Vec<Lanes>,
    /// The row of each lane in the matrices read (errors name it).
    rows: [usize; LANES],
    /// The index each lane is selected under: its pool row, or the
    /// caller's id.
    index: [u64; LANES],
    /// Lanes filled.
    len: usize,
    /// Widening buffers for f16/bf16 rows.
    fb: Vec<f32>,
    sb: Vec<f32>,
}

impl Block {
    pub(crate) fn new(classes: usize) -> Self {
        let lanes = || vec![[0.0f32; LANES]; classes];
        Block {
            fm: lanes(),
            sm: lanes(),
            scores: lanes(),
            rows: [0; LANES],
            index: [0; LANES],
            len: 0,
            fb: vec![0.0; classes],
            sb: vec![0.0; classes],
        }
    }

    /// Copies row `i` of the matrices into the next lane.
    #[inline(always)]
    fn load(&mut self, fm: &Matrix<'_>, sm: Option<&Matrix<'_>>, i: usize, index: u64) {
        let j = self.len;
        for (t, &v) in self.fm.iter_mut().zip(fm.row(i, &mut self.fb)) {
            t[j] = v;
        }
        if let Some(m) = sm {
            for (t, &v) in self.sm.iter_mut().zip(m.row(i, &mut self.sb)) {
                t[j] = v;
            }
        }
        self.rows[j] = i;
        self.index[j] = index;
        self.len += 1;
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
        })
    }

    fn run(&self, workers: &Workers) -> Result<(Vec<Pick>, Vec<PseudoLabel>)> {
        let classes = self.fm.cols();
        let init = || Ok((PartialState::new(self.plan), Block::new(classes)));
        let states = workers.pass(self.fm.rows(), init, |(st, block), range| {
            self.score_rows(st, block, range)
        })?;
        let mut states = states.into_iter();
        let mut acc = match states.next() {
            Some((s, _)) => s,
            None => PartialState::new(self.plan),
        };
        for (s, _) in states {
            acc.merge(&s);
        }
        acc.finish(self.plan)
    }

    /// Scores `range` (rows of the pass's matrices) into `st`, in blocks;
    /// returns with nothing pending.
    ///
    /// On x86-64 with AVX2 the same loop runs compiled for 8-wide vectors:
    /// a baseline build vectorises the block functions 4 wide (SSE2), and
    /// `target-cpu` cannot be raised for a portable binary. The core's block
    /// functions are `#[inline(always)]`, so they are compiled into that
    /// copy; lane by lane they do the same operations in the same order, so
    /// both copies select the same rows bit for bit (no fused multiply-add
    /// is ever asked for, and LLVM does not contract without fast-math).
    pub(crate) fn score_rows(
        &self,
        st: &mut PartialState,
        block: &mut Block,
        range: std::ops::Range<usize>,
    ) -> Result<()> {
        #[cfg(target_arch = "x86_64")]
        #[allow(unsafe_code)] // calling the AVX2 copy, after the check
        if avx2_enabled() {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { self.score_rows_avx2(st, block, range) };
        }
        self.score_rows_inline(st, block, range, false)
    }

    /// [`Self::score_rows`] compiled with AVX2 enabled.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    #[allow(unsafe_code)] // a target-feature function is unsafe to call
    unsafe fn score_rows_avx2(
        &self,
        st: &mut PartialState,
        block: &mut Block,
        range: std::ops::Range<usize>,
    ) -> Result<()> {
        self.score_rows_inline(st, block, range, true)
    }

    /// The body of [`Self::score_rows`], inlined into each of its copies;
    /// `avx2` is true in the AVX2 copy (its block copy then uses AVX2
    /// shuffles, which only that copy may call).
    #[inline(always)]
    fn score_rows_inline(
        &self,
        st: &mut PartialState,
        block: &mut Block,
        range: std::ops::Range<usize>,
        avx2: bool,
    ) -> Result<()> {
        let (fm_rows, sm_rows) = (self.fm.f32_rows(), self.sm.map(|m| m.f32_rows()));
        let mut i = range.start;
        while i < range.end {
            // The common case, a whole block of unlabeled f32 rows, is
            // copied in one go: no per-row label test, dtype match or lane
            // count, and the copy loop has fixed bounds.
            if block.len == 0 && range.end - i >= LANES {
                let free = match self.rows {
                    Rows::Pool(labels) => labels.none_labeled(i, LANES),
                    Rows::Ids(_) => true,
                };
                if let (true, Some(fm), Some(sm)) = (free, fm_rows, sm_rows.unwrap_or(fm_rows)) {
                    fm.transpose_block(i, &mut block.fm, avx2);
                    if self.sm.is_some() {
                        sm.transpose_block(i, &mut block.sm, avx2);
                    }
                    for j in 0..LANES {
                        block.rows[j] = i + j;
                        block.index[j] = match self.rows {
                            Rows::Pool(_) => (i + j) as u64,
                            Rows::Ids(ids) => ids[i + j],
                        };
                    }
                    block.len = LANES;
                    self.score_block(st, block)?;
                    i += LANES;
                    continue;
                }
            }
            let index = match self.rows {
                Rows::Pool(labels) if labels.is_labeled(i) => {
                    i += 1;
                    continue;
                }
                Rows::Pool(_) => i as u64,
                Rows::Ids(ids) => ids[i],
            };
            block.load(self.fm, self.sm, i, index);
            i += 1;
            if block.len == LANES {
                self.score_block(st, block)?;
            }
        }
        if block.len > 0 {
            self.score_block(st, block)?;
        }
        if let Some(co) = st.co.as_mut() {
            let c = &self.plan.config;
            co.decide(
                self.plan.calibration.temperature,
                c.co_confidence,
                c.co_floor,
            );
        }
        Ok(())
    }

    /// Validates, scores, selects and co-decides the rows of the block,
    /// then empties it. Lanes past `len` hold stale rows and are ignored.
    #[inline(always)]
    fn score_block(&self, st: &mut PartialState, b: &mut Block) -> Result<()> {
        let (co_conf, co_floor) = (self.plan.config.co_confidence, self.plan.config.co_floor);
        let temperature = self.plan.calibration.temperature;
        let n = b.len;
        b.len = 0;
        let sm = self.sm.map(|_| &b.sm[..]);
        if self.validate {
            let mut ok = block::finite(&b.fm);
            if let Some(sm) = sm {
                // The coarse sum settles the rows far from the tolerance
                // (every row a softmax wrote); the others get the exact
                // check below.
                let finite = block::finite(sm);
                let sure = block::surely_normalized(sm, NORMALIZATION_TOLERANCE);
                for j in 0..LANES {
                    ok[j] &= finite[j] & sure[j];
                }
            }
            // A lane not known good is checked again row by row, exactly:
            // that finds the same fault and names its column (or passes a
            // row the coarse sum could not settle); lanes are in row order,
            // so the first error is the lowest row.
            let mut bad = lane_bits(&ok.map(|g| !g), n);
            while bad != 0 {
                let j = bad.trailing_zeros() as usize;
                bad &= bad - 1;
                let i = b.rows[j];
                self.fm.check_finite(i, self.fm.row(i, &mut b.fb))?;
                if let Some(m) = self.sm {
                    m.check_log_probabilities(i, m.row(i, &mut b.sb))?;
                }
            }
        }
        // The small model's top two of each row, taken once for the
        // boundary scores and the co-decision agreement.
        let mut sm_top = None;
        match sm {
            // Once every class's list is full almost no block has a row
            // that enters one: the top two of each row tell, before any
            // score is written.
            Some(sm) if self.all_boundary => {
                let top = sm_top.insert(block::top_two(sm));
                let floor = st.heaps.min_floor();
                match block::boundary_scores_reaching(sm, top, floor, &mut b.scores) {
                    true => st.heaps.push_block(&b.index[..n], &b.scores),
                    false => st.heaps.skip_block(n),
                }
            }
            _ => {
                self.scorer.score_block_unchecked(&b.fm, sm, &mut b.scores);
                st.heaps.push_block(&b.index[..n], &b.scores);
            }
        }
        if let (Some(co), Some(sm), true) = (st.co.as_mut(), sm, self.codecide) {
            co.unlabeled += n as u64;
            let (class, ps) = match &sm_top {
                Some(top) => block::agreement_given(&b.fm, top, temperature),
                None => block::agreement(&b.fm, sm, temperature),
            };
            let limits = (co_conf, co_floor);
            co.gather(&b.fm, (&class, &ps), &b.index[..n], temperature, limits);
        }
        Ok(())
    }
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

/// Whether the AVX2 copy of the scoring loop runs: the CPU has AVX2 and the environment variable
/// `COSELECT_NO_AVX2` is unset. The variable exists for tools that cannot decode every AVX2
/// instruction (valgrind 3.19 stops at a VEX-encoded `vmovq`), and to compare the two copies;
/// both select the same rows. Read once per process.
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx2_enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| {
        std::is_x86_feature_detected!("avx2") && std::env::var_os("COSELECT_NO_AVX2").is_none()
    })
}

/// Bit `j` set for each of the first `n` lanes whose row has an agreed class and `v[j] >=
/// floor`: the rows a co-decision step must look at, as a mask so the others cost no branch.
#[inline(always)]
fn live_lanes(class: &[u32; LANES], v: &Lanes, floor: f32, n: usize) -> u32 {
    // `&`, not `&&`: every lane the same operations, so the compare is one
    // vector instruction and nothing peels lane 0 (which had the whole
    // vector reload the stored block at an offset, a store-forwarding stall).
    let take = std::array::from_fn(|j| (class[j] != block::NO_CLASS) & (v[j] >= floor));
    lane_bits(&take, n)
}

/// Bit `j` set where `take[j]`, for the `n` lanes that hold rows (the
/// lanes past them hold stale values of an earlier block).
#[inline(always)]
pub(crate) fn lane_bits(take: &[bool; LANES], n: usize) -> u32 {
    let mut bits = 0u32;
    for (j, &t) in take.iter().enumerate() {
        bits |= (t as u32) << j;
    }
    bits & ((1u64 << n) - 1) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scoring loop has a baseline copy and, on x86-64, an AVX2 copy
    /// (the one `score_rows` picks on a machine that has AVX2, and so the
    /// one the parity tests check against the core). Both must select the
    /// same rows: run each over the same pool and compare.
    #[test]
    fn both_copies_of_the_scoring_loop_agree() {
        let mut s = 0x2545_f491_4f6c_dd1du64;
        let mut noise = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 * 8.0 - 4.0
        };
        for classes in [3, 10, 19] {
            let rows = 1003;
            let fm: Vec<f32> = (0..rows * classes).map(|_| noise()).collect();
            let mut sm: Vec<f32> = fm.iter().map(|&f| f + 0.5 * noise()).collect();
            for row in sm.chunks_mut(classes) {
                let lse = coselect_core::math::log_sum_exp(row, 1.0);
                row.iter_mut().for_each(|v| *v -= lse);
            }
            // Labeled rows here and there (block boundaries move), labeled
            // as the FM says so that co-decision finds candidates; with
            // few labels some classes stay in seed mode.
            let labels = (0..rows).map(|i| match i % 23 {
                0 => coselect_core::math::argmax(&fm[i * classes..(i + 1) * classes]) as i64,
                _ => -1,
            });
            let labels = Labels::new("labels", labels, classes as u32).unwrap();
            let pool = Pool::new(
                Matrix::f32("fm", &fm, rows, classes).unwrap(),
                Some(Matrix::f32("sm", &sm, rows, classes).unwrap()),
                Some(labels),
            )
            .unwrap();
            let config = Config::new(classes as u32, 40).unwrap();
            let p = Parallelism {
                threads: 1,
                ..Parallelism::default()
            };
            let workers = Workers::new(p).unwrap();
            let plan = RoundPlan::fit_on(&pool, &config, &workers, 0).unwrap();
            assert!(plan.codecides());
            let rows_of = Rows::Pool(&pool.labels);
            let pass = ScoringPass::new(&plan, &pool.fm, pool.sm.as_ref(), rows_of).unwrap();
            let run = |wide: bool| {
                let mut st = PartialState::new(&plan);
                let mut block = Block::new(classes);
                for start in (0..rows).step_by(300) {
                    let range = start..(start + 300).min(rows);
                    match wide {
                        true => pass.score_rows(&mut st, &mut block, range),
                        false => pass.score_rows_inline(&mut st, &mut block, range, false),
                    }
                    .unwrap();
                }
                st.finish(&plan).unwrap()
            };
            let (picks, pseudo) = run(false);
            assert_eq!(picks.len(), 40);
            assert!(!pseudo.is_empty());
            assert_eq!(run(true), (picks, pseudo), "{classes} classes");
        }
    }
}
