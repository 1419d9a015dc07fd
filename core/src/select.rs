//! The streaming, mergeable query selector.
//!
//! One pass over the unlabeled pool pushes each row's per-class scores; each
//! class keeps its best `k` rows in a bounded heap. `finish` then splits the
//! budget by water-filling and runs the round-robin: classes take turns, the
//! class with the fewest labels first (then the lower class index), each
//! taking its best row not already taken.
//!
//! Why capacity `k` per class is exact: a class never needs more than `k`
//! rows, and when it looks for its next row fewer than `k` rows are taken in
//! total, so among its best `k` one is always free. Merging keeps the best
//! `k` of the union under a total order, so any split of the pool, in any
//! merge order, selects the same rows as one pass.

use heapless::Vec;
use serde::{Deserialize, Serialize, Serializer};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::quota::water_fill;
use crate::score::{class_mode, Reason, Scorer};
use crate::topk::{BoundedTopK, Entry};

/// Version written in front of a serialized [`Selector`].
pub const SELECTOR_VERSION: u16 = 1;

/// One selected sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Pick {
    /// The caller's row index.
    pub index: u64,
    /// The class whose turn picked it.
    pub class: u32,
    /// Its score for that class.
    pub score: f32,
    /// Seed (FM prior) or boundary (small model).
    pub reason: Reason,
}

impl Default for Pick {
    fn default() -> Self {
        Pick {
            index: 0,
            class: 0,
            score: 0.0,
            reason: Reason::Seed,
        }
    }
}

/// Selector state for at most `C` classes and budget at most `K`.
///
/// ```
/// use coselect_core::{Config, Pick, Selector};
/// let cfg = Config::new(2, 2)?;
/// let mut sel = Selector::<2, 2>::new(&cfg, &[5, 5])?;
/// // Per-class scores of four pool rows.
/// for (i, s) in [[-0.1f32, -0.1], [-2.0, -2.0], [-0.5, -0.5], [-0.05, -3.0]].iter().enumerate() {
///     sel.push(i as u64, s)?;
/// }
/// let mut out = [Pick::default(); 2];
/// let n = sel.finish(&mut out)?;
/// assert_eq!((n, out[0].index, out[1].index), (2, 3, 0));
/// # Ok::<(), coselect_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "Wire<C, K>")]
pub struct Selector<const C: usize, const K: usize> {
    k: u32,
    seed_min: u32,
    counts: Vec<u32, C>,
    heaps: Vec<BoundedTopK<K>, C>,
    pushed: u64,
}

impl<const C: usize, const K: usize> Selector<C, K> {
    /// An empty selector for a round with trusted label counts `counts`.
    pub fn new(config: &Config, counts: &[u32]) -> Result<Self> {
        config.classes_within(C)?;
        config.check_classes(counts.len())?;
        let mut heaps = Vec::new();
        let mut cs = Vec::new();
        for &n in counts {
            let _ = heaps.push(BoundedTopK::new(config.k as usize)?);
            let _ = cs.push(n);
        }
        Ok(Selector {
            k: config.k,
            seed_min: config.seed_min,
            counts: cs,
            heaps,
            pushed: 0,
        })
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.counts.len()
    }

    /// Rows pushed so far (over all merged parts).
    pub fn pushed(&self) -> u64 {
        self.pushed
    }

    /// Offers one unlabeled row with its per-class scores (from a
    /// [`Scorer`]). Non-finite scores are refused.
    #[inline]
    pub fn push(&mut self, index: u64, scores: &[f32]) -> Result<()> {
        crate::math::check_finite(index, scores, self.counts.len())?;
        self.push_unchecked(index, scores);
        Ok(())
    }

    /// [`Selector::push`] for scores known finite and of the right length
    /// (the output of [`Scorer::score_row`]); a shorter row only fills the
    /// classes it has.
    #[inline]
    pub fn push_unchecked(&mut self, index: u64, scores: &[f32]) {
        for (h, &s) in self.heaps.iter_mut().zip(scores) {
            h.push(Entry::new(s, index));
        }
        self.pushed += 1;
    }

    /// Scores one row with `scorer` and pushes it.
    pub fn push_row(
        &mut self,
        scorer: &Scorer<C>,
        index: u64,
        fm: &[f32],
        sm: Option<&[f32]>,
    ) -> Result<()> {
        let mut buf = [0.0f32; C];
        let scores = &mut buf[..self.counts.len()];
        scorer.score_row(index, fm, sm, scores)?;
        self.push_unchecked(index, scores);
        Ok(())
    }

    /// Merges another partial state built for the same round.
    pub fn merge(&mut self, other: &Self) -> Result<()> {
        if self.k != other.k || self.seed_min != other.seed_min || self.counts != other.counts {
            return Err(Error::StateMismatch);
        }
        for (h, o) in self.heaps.iter_mut().zip(other.heaps.iter()) {
            h.merge(o);
        }
        self.pushed += other.pushed;
        Ok(())
    }

    /// The budget split of this round (water-filling on the label counts).
    pub fn quotas(&self, out: &mut [u32]) -> Result<()> {
        water_fill(&self.counts, self.k, out)
    }

    /// Selects `k` rows into `out[..k]` in pick order and returns `k`.
    ///
    /// The state stays valid (its heaps end up sorted, which is still a
    /// heap), so a host may keep pushing and finish again.
    pub fn finish(&mut self, out: &mut [Pick]) -> Result<usize> {
        let k = self.k as usize;
        if self.pushed == 0 {
            return Err(Error::EmptyPool);
        }
        if self.pushed < k as u64 {
            return Err(Error::BudgetExceedsPool {
                k: k as u64,
                pool: self.pushed,
            });
        }
        for h in self.heaps.iter_mut() {
            h.sort_best_last();
        }
        let heaps = &self.heaps;
        round_robin::<C>(
            &self.counts,
            self.k,
            self.seed_min,
            |c| heaps[c].as_slice(),
            out,
        )
    }

    /// Writes the state as postcard bytes (version first) into `buf`.
    ///
    /// ```
    /// use coselect_core::{Config, Selector};
    /// let cfg = Config::new(2, 2)?;
    /// let mut sel = Selector::<2, 2>::new(&cfg, &[0, 4])?;
    /// sel.push(9, &[0.5, -1.0])?;
    /// let mut buf = [0u8; 256];
    /// let bytes = sel.to_bytes(&mut buf)?;
    /// assert_eq!(Selector::<2, 2>::from_bytes(bytes)?, sel);
    /// # Ok::<(), coselect_core::Error>(())
    /// ```
    pub fn to_bytes<'a>(&self, buf: &'a mut [u8]) -> Result<&'a mut [u8]> {
        postcard::to_slice(self, buf).map_err(|_| Error::BufferTooSmall)
    }

    /// Reads a state written by [`Selector::to_bytes`]; corrupt, truncated or
    /// inconsistent bytes give an error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        crate::codec::decode::<Wire<C, K>, Self>(bytes, SELECTOR_VERSION)
    }

    /// Upper bound of the serialized size in bytes, for sizing `buf`.
    pub fn max_serialized_len(&self) -> usize {
        // Varints: u16 3, u32 5, u64 10; an entry is 4 + 10 bytes.
        let per_heap = 5 + 10 + 14 * K;
        3 + 5 + 5 + 10 + 10 + 5 * self.counts.len() + 10 + per_heap * self.counts.len()
    }
}

/// The round-robin of the selection over per-class candidate lists, each
/// sorted worst first, best last (as [`BoundedTopK::sort_best_last`] leaves
/// them). `C` bounds the classes. Budget split by water-filling on `counts`;
/// turns go to the class with the fewest labels first, then the lower index;
/// each turn takes the class's best row not yet taken. Writes `out[..k]` and
/// returns `k`.
///
/// This is the one implementation of the rule: [`Selector::finish`] calls it,
/// and hosts that keep their per-class lists elsewhere (boxed, on a GPU) call
/// it too, so every backend selects the same rows.
///
/// ```
/// use coselect_core::{round_robin, Entry, Pick};
/// let a = [Entry::new(0.1, 5), Entry::new(0.9, 2)]; // class 0, best last
/// let b = [Entry::new(0.3, 7), Entry::new(0.8, 2)]; // class 1
/// let mut out = [Pick::default(); 2];
/// let lists = [&a[..], &b[..]];
/// round_robin::<2>(&[4, 4], 2, 3, |c| lists[c], &mut out)?;
/// assert_eq!((out[0].index, out[1].index), (2, 7)); // row 2 is class 0's
/// # Ok::<(), coselect_core::Error>(())
/// ```
pub fn round_robin<'a, const C: usize>(
    counts: &[u32],
    k: u32,
    seed_min: u32,
    lists: impl Fn(usize) -> &'a [Entry],
    out: &mut [Pick],
) -> Result<usize> {
    let classes = counts.len();
    if classes > C {
        return Err(Error::CapacityExceeded {
            needed: classes,
            capacity: C,
        });
    }
    let k_usize = k as usize;
    if out.len() < k_usize {
        return Err(Error::BufferTooSmall);
    }
    let mut quotas = [0u32; C];
    water_fill(counts, k, &mut quotas[..classes])?;
    let mut order = [0usize; C];
    for (c, o) in order.iter_mut().enumerate().take(classes) {
        *o = c;
    }
    order[..classes].sort_unstable_by_key(|&c| (counts[c], c));
    // Cursor into each class's list, counted from the best end.
    let mut cursor = [0usize; C];
    let mut filled = 0usize;
    while filled < k_usize {
        let mut progressed = false;
        for &c in order[..classes].iter() {
            if filled == k_usize {
                break;
            }
            if quotas[c] == 0 {
                continue;
            }
            let list = lists(c);
            while cursor[c] < list.len() {
                let e = list[list.len() - 1 - cursor[c]];
                cursor[c] += 1;
                if !out[..filled].iter().any(|p| p.index == e.index) {
                    out[filled] = Pick {
                        index: e.index,
                        class: c as u32,
                        score: e.score,
                        reason: class_mode(counts[c], seed_min),
                    };
                    filled += 1;
                    quotas[c] -= 1;
                    progressed = true;
                    break;
                }
            }
        }
        if !progressed {
            // Lists shorter than min(k, pool) per class: a caller bug or a
            // corrupt state (decoding refuses those).
            return Err(Error::Corrupt);
        }
    }
    Ok(filled)
}

impl<const C: usize, const K: usize> Serialize for Selector<C, K> {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        WireRef {
            version: SELECTOR_VERSION,
            k: self.k,
            seed_min: self.seed_min,
            pushed: self.pushed,
            counts: &self.counts,
            heaps: &self.heaps,
        }
        .serialize(s)
    }
}

#[derive(Serialize)]
struct WireRef<'a, const C: usize, const K: usize> {
    version: u16,
    k: u32,
    seed_min: u32,
    pushed: u64,
    counts: &'a Vec<u32, C>,
    heaps: &'a Vec<BoundedTopK<K>, C>,
}

#[derive(Deserialize)]
struct Wire<const C: usize, const K: usize> {
    version: u16,
    k: u32,
    seed_min: u32,
    pushed: u64,
    counts: Vec<u32, C>,
    heaps: Vec<BoundedTopK<K>, C>,
}

impl<const C: usize, const K: usize> TryFrom<Wire<C, K>> for Selector<C, K> {
    type Error = Error;
    fn try_from(w: Wire<C, K>) -> Result<Self> {
        if w.version != SELECTOR_VERSION {
            return Err(Error::UnsupportedVersion {
                found: w.version,
                supported: SELECTOR_VERSION,
            });
        }
        let classes = w.counts.len();
        if classes < 2 || w.heaps.len() != classes || w.k == 0 || w.k as usize > K {
            return Err(Error::Corrupt);
        }
        let expect = (w.k as u64).min(w.pushed) as usize;
        for h in w.heaps.iter() {
            h.check()?;
            if h.limit() != w.k as usize || h.len() != expect {
                return Err(Error::Corrupt);
            }
        }
        Ok(Selector {
            k: w.k,
            seed_min: w.seed_min,
            counts: w.counts,
            heaps: w.heaps,
            pushed: w.pushed,
        })
    }
}
