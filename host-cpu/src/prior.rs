//! The pool class prior by EM, one parallel pass per EM iteration.
//!
//! Each worker accumulates a clone of the core's [`PriorEm`] over its
//! chunks; the clones merge into the master state, whose fixed-point sums
//! make the estimate bit-identical for any thread count and chunk size.
//! The posterior rows of the first pass are kept (per chunk) when they fit
//! in `cache_bytes`, and the later passes read them instead of recomputing
//! the softmax: the same f32 values, so the same bits, at a fraction of the
//! cost. A pool too large for the budget recomputes them every pass, so
//! memory stays at the size of the input.

use std::sync::OnceLock;

use coselect_core::math::fused_softmax;
use coselect_core::{Config, Fusion, PriorEm};

use crate::calibration::Calibration;
use crate::error::{Error, Result};
use crate::heaps::MAX_CLASSES;
use crate::parallel::Workers;
use crate::{Matrix, Pool};

/// The estimated prior and how EM got there.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorEstimate {
    /// `pi`, summing to 1.
    pub prior: Vec<f64>,
    /// `log pi` as f32, the form the seed-mode scorer takes.
    pub log_prior: Vec<f32>,
    /// EM passes over the pool.
    pub iterations: u32,
}

/// Runs EM over every row of the pool (labeled rows too: they are part of
/// the pool whose prior is estimated) on `softmax(a * S + b * L)`.
/// `validate` checks each row on the first pass.
pub(crate) fn estimate_prior(
    pool: &Pool<'_>,
    config: &Config,
    weights: Fusion,
    workers: &Workers,
    validate: bool,
    cache_bytes: usize,
) -> Result<PriorEstimate> {
    let classes = pool.fm.cols();
    let rows = pool.fm.rows();
    let chunk = workers.chunk_rows();
    let use_cache = rows
        .checked_mul(classes * 4)
        .is_some_and(|b| b <= cache_bytes);
    let cache: Vec<OnceLock<Vec<f32>>> = match use_cache {
        true => (0..rows.div_ceil(chunk)).map(|_| OnceLock::new()).collect(),
        false => Vec::new(),
    };
    let mut master = PriorEm::<MAX_CLASSES>::new(config).map_err(Error::core("EM prior"))?;
    let mut first = true;
    while !master.is_done() {
        let check = validate && first;
        let states = workers.pass(
            pool.fm.rows(),
            || Ok((master.clone(), vec![0.0f32; 3 * classes])),
            |(em, bufs), range| {
                let slot = cache.get(range.start / chunk);
                if let Some(cached) = slot.and_then(|s| s.get()) {
                    return em
                        .push_rows(range.start as u64, cached)
                        .map_err(Error::core("EM prior"));
                }
                let mut store = match slot {
                    Some(_) => Vec::with_capacity(range.len() * classes),
                    None => Vec::new(),
                };
                let (fb, rest) = bufs.split_at_mut(classes);
                let (sb, p) = rest.split_at_mut(classes);
                for i in range {
                    let fm = pool.fm.row(i, fb);
                    let sm = pool.sm.as_ref().map(|m| m.row(i, sb));
                    if check {
                        pool.check_row(i, fm, sm)?;
                    }
                    fused_softmax(fm, sm, weights.a, weights.b, p);
                    em.push(i as u64, p).map_err(Error::core("EM prior"))?;
                    if slot.is_some() {
                        store.extend_from_slice(p);
                    }
                }
                if let Some(s) = slot {
                    // Each chunk is claimed by one worker per pass, so the
                    // slot is empty here.
                    let _ = s.set(store);
                }
                Ok(())
            },
        )?;
        for (em, _) in &states {
            master.merge(em).map_err(Error::core("EM prior"))?;
        }
        master.end_pass().map_err(Error::core("EM prior"))?;
        first = false;
    }
    let mut log_prior = vec![0.0f32; classes];
    master
        .log_prior(&mut log_prior)
        .map_err(Error::core("EM prior"))?;
    Ok(PriorEstimate {
        prior: master.prior().to_vec(),
        log_prior,
        iterations: master.iterations(),
    })
}

/// Version of [`PriorShard::to_bytes`]' format.
pub const PRIOR_SHARD_VERSION: u16 = 1;

/// One EM pass over part of a pool, for pools sharded over processes: the
/// driver's state goes out as bytes, every shard pushes its rows (labeled
/// rows too, as [`crate::run_round`] does) into a copy, the copies come
/// back and merge, and the driver ends the pass. The fixed-point sums make
/// the prior bit-identical to one machine's for any sharding.
///
/// ```
/// use coselect_core::Config;
/// use coselect_cpu::{Calibration, Matrix, PriorShard};
/// let cal = Calibration { temperature: 1.0, fusion: None };
/// let mut driver = PriorShard::new(&Config::new(2, 1)?, cal)?;
/// while !driver.is_done() {
///     let start = driver.to_bytes();
///     let mut a = PriorShard::from_bytes(&start)?;
///     a.push(&Matrix::f32("fm", &[3.0, 0.0, 2.0, 0.0], 2, 2)?, None)?;
///     let mut b = PriorShard::from_bytes(&start)?;
///     b.push(&Matrix::f32("fm", &[0.0, 3.0], 1, 2)?, None)?;
///     driver.merge(&PriorShard::from_bytes(&a.to_bytes())?)?;
///     driver.merge(&PriorShard::from_bytes(&b.to_bytes())?)?;
///     driver.end_pass()?;
/// }
/// assert!(driver.prior()[0] > 0.6); // two of three rows look like class 0
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PriorShard {
    config: Config,
    calibration: Calibration,
    em: Box<PriorEm<MAX_CLASSES>>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ShardWire {
    version: u16,
    config: Vec<u8>,
    temperature: f32,
    fusion: Option<(f32, f32)>,
    em: Vec<u8>,
}

impl PriorShard {
    /// The state before the first pass: the uniform prior.
    pub fn new(config: &Config, calibration: Calibration) -> Result<PriorShard> {
        crate::plan::check_settings(config, calibration)?;
        let em = PriorEm::<MAX_CLASSES>::new(config).map_err(Error::core("EM prior"))?;
        Ok(PriorShard {
            config: *config,
            calibration,
            em: Box::new(em),
        })
    }

    /// Accumulates a batch of rows: FM scores and, exactly when the
    /// calibration has fusion weights, the small model's log-probabilities.
    /// The batch is validated first, so a refused batch changes nothing;
    /// errors name rows by their position in the batch.
    pub fn push(&mut self, fm: &Matrix<'_>, sm: Option<&Matrix<'_>>) -> Result<()> {
        let classes = self.config.classes as usize;
        crate::plan::check_batch("EM prior", classes, self.calibration, fm, sm)?;
        let mut bufs = vec![0.0f32; 3 * classes];
        let (fb, rest) = bufs.split_at_mut(classes);
        let (sb, p) = rest.split_at_mut(classes);
        let w = self.calibration.posterior_weights();
        let mut em = self.em.clone();
        for i in 0..fm.rows() {
            let f = fm.row(i, fb);
            let s = sm.map(|m| m.row(i, sb));
            fused_softmax(f, s, w.a, w.b, p);
            em.push(i as u64, p).map_err(Error::core("EM prior"))?;
        }
        self.em = em;
        Ok(())
    }

    /// Adds the sums of a shard that started from the same state.
    pub fn merge(&mut self, other: &PriorShard) -> Result<()> {
        if self.config != other.config || self.calibration != other.calibration {
            return Err(Error::core("EM prior")(coselect_core::Error::StateMismatch));
        }
        self.em.merge(&other.em).map_err(Error::core("EM prior"))
    }

    /// Ends the pass: the new prior; `true` when EM is done.
    pub fn end_pass(&mut self) -> Result<bool> {
        self.em.end_pass().map_err(Error::core("EM prior"))
    }

    /// Whether EM has converged or hit its pass limit.
    pub fn is_done(&self) -> bool {
        self.em.is_done()
    }

    /// Passes completed.
    pub fn iterations(&self) -> u32 {
        self.em.iterations()
    }

    /// The current estimate of `pi`.
    pub fn prior(&self) -> &[f64] {
        self.em.prior()
    }

    /// `log pi` as f32, the form a [`crate::RoundPlan`] takes.
    pub fn log_prior(&self) -> Vec<f32> {
        let mut out = vec![0.0f32; self.config.classes as usize];
        self.em
            .log_prior(&mut out)
            .expect("the buffer has one value per class");
        out
    }

    /// The state as bytes (config, calibration, EM state; checksummed).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut cfg = [0u8; 128];
        let mut em = vec![0u8; self.em.max_serialized_len()];
        let wire = ShardWire {
            version: PRIOR_SHARD_VERSION,
            config: self
                .config
                .to_bytes(&mut cfg)
                .expect("a config fits 96 bytes")
                .to_vec(),
            temperature: self.calibration.temperature,
            fusion: self.calibration.fusion.map(|f| (f.a, f.b)),
            em: self
                .em
                .to_bytes(&mut em)
                .expect("sized by max_serialized_len")
                .to_vec(),
        };
        crate::wire::seal(postcard::to_allocvec(&wire).expect("serialising to memory cannot fail"))
    }

    /// Reads a state written by [`PriorShard::to_bytes`]; truncated, corrupt
    /// or inconsistent bytes are an error.
    pub fn from_bytes(bytes: &[u8]) -> Result<PriorShard> {
        let corrupt = || Error::core("EM prior state")(coselect_core::Error::Corrupt);
        let body = crate::wire::open(bytes, "EM prior state")?;
        let (w, rest) = postcard::take_from_bytes::<ShardWire>(body).map_err(|_| corrupt())?;
        if !rest.is_empty() {
            return Err(corrupt());
        }
        if w.version != PRIOR_SHARD_VERSION {
            return Err(Error::core("EM prior state")(
                coselect_core::Error::UnsupportedVersion {
                    found: w.version,
                    supported: PRIOR_SHARD_VERSION,
                },
            ));
        }
        let config = Config::from_bytes(&w.config).map_err(Error::core("EM prior state"))?;
        let calibration = Calibration {
            temperature: w.temperature,
            fusion: w.fusion.map(|(a, b)| Fusion { a, b }),
        };
        let mut shard = PriorShard::new(&config, calibration)?;
        let em =
            PriorEm::<MAX_CLASSES>::from_bytes(&w.em).map_err(Error::core("EM prior state"))?;
        if em.prior().len() != config.classes as usize {
            return Err(corrupt());
        }
        shard.em = Box::new(em);
        Ok(shard)
    }
}

impl std::fmt::Debug for PriorShard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PriorShard")
            .field("prior", &self.prior())
            .field("iterations", &self.iterations())
            .finish()
    }
}
