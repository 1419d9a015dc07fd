//! Pool class-prior estimation by EM (Saerens, Latinne, Decaestecker 2002).
//!
//! A classifier's posteriors `p_i` were calibrated for a training prior
//! `pi_0` (uniform here: the FM is zero-shot and the small model is trained
//! with balancing class weights). On a pool with another prior `pi`, the
//! adjusted posteriors are `q_i ~ p_i * pi / pi_0`, and `pi` is the mean of
//! the `q_i`: iterate to a fixed point.
//!
//! Each iteration is one pass over the pool, fed row by row so a pool can
//! arrive in chunks. The per-pass sums are kept in fixed point (`u128` of
//! `q * 2^52`): integer addition is associative, so the estimate is
//! bit-identical for any chunking, thread count or shard merge order.

use heapless::Vec;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::math::check_probabilities;

const FIXED_SCALE: f64 = (1u64 << 52) as f64;

/// Rows whose fixed-point terms [`PriorEm::push_rows`] sums in a `u64`:
/// each term is at most 2^52, so 2^11 of them stay below 2^63.
const PARTIAL_ROWS: usize = 2048;

/// The fixed-point term of one class of a row: `q = p pi / z` in `[0, 1]`
/// times 2^52, truncated. At most 2^52 and not negative, so the signed cast
/// (one instruction on x86-64) truncates as a direct cast to u128 would (a
/// library call, which took a third of an EM pass), and as a cast to u64
/// (a compare and two conversions there).
#[inline(always)]
fn fixed(p: f32, pi: f64, z: f64) -> u64 {
    let q = (p as f64 * pi / z).clamp(0.0, 1.0);
    (q * FIXED_SCALE) as i64 as u64
}

/// Version of [`PriorEm::to_bytes`]' format.
pub const PRIOR_VERSION: u16 = 1;

/// EM state for at most `C` classes.
///
/// ```
/// use coselect_core::{Config, PriorEm};
/// // A pool where the classifier says "class 0" three times out of four.
/// let rows = [[0.9f32, 0.1], [0.9, 0.1], [0.9, 0.1], [0.1, 0.9]];
/// let cfg = Config::new(2, 1)?;
/// let mut em = PriorEm::<2>::new(&cfg)?;
/// while !em.is_done() {
///     for (i, r) in rows.iter().enumerate() {
///         em.push(i as u64, r)?;
///     }
///     em.end_pass()?;
/// }
/// assert!(em.prior()[0] > 0.75);
/// # Ok::<(), coselect_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PriorEm<const C: usize> {
    prior: Vec<f64, C>,
    sums: Vec<u128, C>,
    rows: u64,
    iterations: u32,
    last_change: f64,
    done: bool,
    tolerance: f64,
    max_iterations: u32,
    floor: f64,
}

impl<const C: usize> PriorEm<C> {
    /// Starts from the uniform prior.
    pub fn new(config: &Config) -> Result<Self> {
        let classes = config.classes_within(C)?;
        let mut prior = Vec::new();
        let mut sums = Vec::new();
        for _ in 0..classes {
            let _ = prior.push(1.0 / classes as f64);
            let _ = sums.push(0u128);
        }
        Ok(PriorEm {
            prior,
            sums,
            rows: 0,
            iterations: 0,
            last_change: f64::INFINITY,
            done: false,
            tolerance: config.em_tolerance as f64,
            max_iterations: config.em_max_iterations,
            floor: config.em_floor as f64,
        })
    }

    /// The current estimate of the pool prior (sums to 1).
    pub fn prior(&self) -> &[f64] {
        &self.prior
    }

    /// Writes `log pi` as f32, the form the seed-mode scorer takes.
    pub fn log_prior(&self, out: &mut [f32]) -> Result<()> {
        if out.len() != self.prior.len() {
            return Err(Error::LengthMismatch {
                expected: self.prior.len(),
                found: out.len(),
            });
        }
        for (o, &p) in out.iter_mut().zip(self.prior.iter()) {
            *o = libm::log(p) as f32;
        }
        Ok(())
    }

    /// Whether EM has converged or hit its iteration limit.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Passes completed.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// L1 change of the prior in the last pass.
    pub fn last_change(&self) -> f64 {
        self.last_change
    }

    /// Accumulates one pool row of posterior probabilities under the current
    /// prior. `row_index` only labels errors.
    pub fn push(&mut self, row_index: u64, probs: &[f32]) -> Result<()> {
        let z = self.mass(row_index, probs)?;
        for ((s, &p), &pi) in self.sums.iter_mut().zip(probs).zip(self.prior.iter()) {
            *s += fixed(p, pi, z) as u128;
        }
        self.rows += 1;
        Ok(())
    }

    /// [`Self::push`] for consecutive rows: `probs` holds whole rows of
    /// `classes` values, the first known as `first_row`. The state and any
    /// error are exactly those of pushing the rows one by one (an error
    /// names the first bad row; the rows before it are counted); the
    /// per-class sums stay in integers on the stack for up to 2048 rows at
    /// a time (2048 terms of at most 2^52 fit a `u64`), instead of a `u128`
    /// read and written in the state for every value.
    ///
    /// ```
    /// use coselect_core::{Config, PriorEm};
    /// let rows = [0.9f32, 0.1, 0.9, 0.1, 0.2, 0.8];
    /// let cfg = Config::new(2, 1)?;
    /// let (mut a, mut b) = (PriorEm::<2>::new(&cfg)?, PriorEm::<2>::new(&cfg)?);
    /// a.push_rows(0, &rows)?;
    /// for (i, r) in rows.chunks(2).enumerate() {
    ///     b.push(i as u64, r)?;
    /// }
    /// assert_eq!(a, b);
    /// assert!(a.push_rows(0, &rows[..3]).is_err()); // not whole rows
    /// # Ok::<(), coselect_core::Error>(())
    /// ```
    pub fn push_rows(&mut self, first_row: u64, probs: &[f32]) -> Result<()> {
        let classes = self.prior.len();
        if probs.len() % classes != 0 {
            return Err(Error::LengthMismatch {
                expected: (probs.len() / classes + 1) * classes,
                found: probs.len(),
            });
        }
        let mut partial = [0u64; C];
        let partial = &mut partial[..classes];
        let mut result = Ok(());
        for (block, rows) in probs.chunks(PARTIAL_ROWS * classes).enumerate() {
            let first = first_row + (block * PARTIAL_ROWS) as u64;
            for (j, row) in rows.chunks_exact(classes).enumerate() {
                let z = match self.mass(first + j as u64, row) {
                    Ok(z) => z,
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                };
                for ((s, &p), &pi) in partial.iter_mut().zip(row).zip(self.prior.iter()) {
                    *s += fixed(p, pi, z);
                }
                self.rows += 1;
            }
            for (s, p) in self.sums.iter_mut().zip(partial.iter_mut()) {
                *s += *p as u128;
                *p = 0;
            }
            if result.is_err() {
                break;
            }
        }
        result
    }

    /// Checks a row and returns its mass `z = sum_c p_c pi_c` under the
    /// current prior (positive).
    #[inline]
    fn mass(&self, row_index: u64, probs: &[f32]) -> Result<f64> {
        check_probabilities(row_index, probs, self.prior.len())?;
        // q ~ p * pi / pi_0 with pi_0 uniform: the constant cancels.
        let mut z = 0.0f64;
        for (&p, &pi) in probs.iter().zip(self.prior.iter()) {
            z += p as f64 * pi;
        }
        if z <= 0.0 {
            // All mass on classes the floor keeps at ~0 cannot happen with a
            // positive floor; refuse rather than divide by zero.
            return Err(Error::NotNormalized {
                row: row_index,
                sum: 0.0,
            });
        }
        Ok(z)
    }

    /// Adds the pass sums of another shard that used the same prior.
    pub fn merge(&mut self, other: &Self) -> Result<()> {
        if self.prior != other.prior || self.iterations != other.iterations {
            return Err(Error::StateMismatch);
        }
        for (s, &o) in self.sums.iter_mut().zip(other.sums.iter()) {
            *s += o;
        }
        self.rows += other.rows;
        Ok(())
    }

    /// Ends a pass: updates the prior from the accumulated rows, floors it,
    /// and reports whether EM is done.
    pub fn end_pass(&mut self) -> Result<bool> {
        if self.rows == 0 {
            return Err(Error::EmptyPool);
        }
        let total: u128 = self.sums.iter().sum();
        if total == 0 {
            return Err(Error::EmptyPool);
        }
        let mut next: Vec<f64, C> = Vec::new();
        for &s in self.sums.iter() {
            let _ = next.push((s as f64 / total as f64).max(self.floor));
        }
        let norm: f64 = next.iter().sum();
        let mut change = 0.0;
        for (n, p) in next.iter_mut().zip(self.prior.iter()) {
            *n /= norm;
            change += libm::fabs(*n - *p);
        }
        self.prior = next;
        for s in self.sums.iter_mut() {
            *s = 0;
        }
        self.rows = 0;
        self.iterations += 1;
        self.last_change = change;
        self.done = change < self.tolerance || self.iterations >= self.max_iterations;
        Ok(self.done)
    }

    /// Writes the state as postcard bytes (version first) into `buf`: the
    /// current prior and the pass sums, so EM can run over shards on other
    /// machines (each shard pushes its rows into a copy made from the
    /// driver's bytes; the driver merges the copies and ends the pass).
    ///
    /// ```
    /// use coselect_core::{Config, PriorEm};
    /// let cfg = Config::new(2, 1)?;
    /// let mut driver = PriorEm::<2>::new(&cfg)?;
    /// let mut buf = [0u8; 128];
    /// let start = driver.to_bytes(&mut buf)?.to_vec();
    /// // Two shards, elsewhere.
    /// let mut a = PriorEm::<2>::from_bytes(&start)?;
    /// a.push(0, &[0.9, 0.1])?;
    /// let mut b = PriorEm::<2>::from_bytes(&start)?;
    /// b.push(1, &[0.8, 0.2])?;
    /// driver.merge(&PriorEm::from_bytes(a.to_bytes(&mut buf)?)?)?;
    /// driver.merge(&PriorEm::from_bytes(b.to_bytes(&mut buf)?)?)?;
    /// driver.end_pass()?;
    /// assert!(driver.prior()[0] > 0.8);
    /// # Ok::<(), coselect_core::Error>(())
    /// ```
    pub fn to_bytes<'a>(&self, buf: &'a mut [u8]) -> Result<&'a mut [u8]> {
        let w = PriorWireRef {
            version: PRIOR_VERSION,
            prior: &self.prior,
            sums: &self.sums,
            rows: self.rows,
            iterations: self.iterations,
            last_change: self.last_change,
            done: self.done,
            tolerance: self.tolerance,
            max_iterations: self.max_iterations,
            floor: self.floor,
        };
        postcard::to_slice(&w, buf).map_err(|_| Error::BufferTooSmall)
    }

    /// Reads a state written by [`PriorEm::to_bytes`], checking that it is
    /// one EM could be in: truncated, corrupt or inconsistent bytes give an
    /// error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        crate::codec::decode::<PriorWire<C>, Self>(bytes, PRIOR_VERSION)
    }

    /// Upper bound of the serialized size in bytes, for sizing `buf`.
    pub fn max_serialized_len(&self) -> usize {
        // Varints: u16 3, u32 5, u64 10, u128 19; f64 8; a length 5.
        let n = self.prior.len();
        3 + 5 + 8 * n + 5 + 19 * n + 10 + 5 + 8 + 1 + 8 + 5 + 8
    }

    /// Runs EM to the end over an in-memory pool of `rows x classes`
    /// probabilities (row-major). Returns the number of passes.
    pub fn fit(&mut self, probs: &[f32]) -> Result<u32> {
        let classes = self.prior.len();
        if probs.is_empty() {
            return Err(Error::EmptyPool);
        }
        if probs.len() % classes != 0 {
            return Err(Error::LengthMismatch {
                expected: (probs.len() / classes + 1) * classes,
                found: probs.len(),
            });
        }
        while !self.done {
            for (i, row) in probs.chunks_exact(classes).enumerate() {
                self.push(i as u64, row)?;
            }
            self.end_pass()?;
        }
        Ok(self.iterations)
    }
}

#[derive(Serialize)]
struct PriorWireRef<'a, const C: usize> {
    version: u16,
    prior: &'a Vec<f64, C>,
    sums: &'a Vec<u128, C>,
    rows: u64,
    iterations: u32,
    last_change: f64,
    done: bool,
    tolerance: f64,
    max_iterations: u32,
    floor: f64,
}

#[derive(Deserialize)]
struct PriorWire<const C: usize> {
    version: u16,
    prior: Vec<f64, C>,
    sums: Vec<u128, C>,
    rows: u64,
    iterations: u32,
    last_change: f64,
    done: bool,
    tolerance: f64,
    max_iterations: u32,
    floor: f64,
}

impl<const C: usize> TryFrom<PriorWire<C>> for PriorEm<C> {
    type Error = Error;
    fn try_from(w: PriorWire<C>) -> Result<Self> {
        let n = w.prior.len();
        let total: f64 = w.prior.iter().sum();
        // Each row adds at most 1 (in fixed point) to each class's sum.
        let row_cap = w.rows as u128 * (FIXED_SCALE as u128 + 1);
        let ok = w.version == PRIOR_VERSION
            && n >= 2
            && w.sums.len() == n
            && w.floor.is_finite()
            && w.floor > 0.0
            && w.floor * (n as f64) < 1.0
            && w.prior
                .iter()
                .all(|&p| p.is_finite() && p >= w.floor * 0.5 && p <= 1.0)
            && libm::fabs(total - 1.0) < 1e-9
            && w.sums.iter().all(|&s| s <= row_cap)
            && w.tolerance.is_finite()
            && w.tolerance > 0.0
            && w.max_iterations >= 1
            && w.iterations <= w.max_iterations
            && !w.last_change.is_nan()
            && w.last_change >= 0.0;
        if !ok {
            return Err(Error::Corrupt);
        }
        Ok(PriorEm {
            prior: w.prior,
            sums: w.sums,
            rows: w.rows,
            iterations: w.iterations,
            last_change: w.last_change,
            done: w.done,
            tolerance: w.tolerance,
            max_iterations: w.max_iterations,
            floor: w.floor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::FIXED_SCALE;

    /// The fixed-point sum goes through i64: for every `q` in `[0, 1]` (and
    /// a NaN, which both casts send to 0) that truncates as `as u128` does.
    #[test]
    fn the_i64_cast_truncates_as_the_u128_cast() {
        let edges = [0.0f64, 1.0, 0.5, f64::MIN_POSITIVE, 1e-300, f64::NAN].into_iter();
        let grid = (0..=10_000).map(|i| i as f64 / 10_000.0);
        let below_one = (1..200).map(|k| 1.0 - (k as f64) * f64::EPSILON);
        let halves = (0..53).map(|e| libm::pow(0.5, e as f64) * 0.999_999_9);
        let q = edges.chain(grid).chain(below_one).chain(halves);
        for q in q {
            let x = q.clamp(0.0, 1.0) * FIXED_SCALE;
            assert_eq!(x as i64 as u64 as u128, x as u128, "q = {q}");
        }
    }
}
