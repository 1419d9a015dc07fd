//! A bounded "best N" structure: a min-heap on a fixed-capacity vector.
//!
//! It serves both the query selector (best k rows per class by score) and the
//! pseudo-label cap (most confident rows per class). "Better" is one total
//! order everywhere in coselect: higher score, then lower index. Because the
//! order is total, the *set* a heap holds after any sequence of pushes and
//! merges is the best `limit` of everything offered, whatever the order of
//! offering, which is what makes sharded and threaded selection exact.

use core::cmp::Ordering;

use heapless::Vec;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One candidate: a row index and its score for one class.
///
/// ```
/// use coselect_core::Entry;
/// let a = Entry::new(0.9, 7);
/// let b = Entry::new(0.9, 3);
/// assert!(b.is_better_than(&a)); // same score: lower index wins
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The score; finite, with -0.0 stored as +0.0.
    pub score: f32,
    /// The caller's row index.
    pub index: u64,
}

impl Entry {
    /// An entry; `-0.0` is stored as `+0.0` so equal scores compare equal.
    #[inline]
    pub fn new(score: f32, index: u64) -> Self {
        Entry {
            score: score + 0.0,
            index,
        }
    }

    /// The total order of coselect: `Greater` means better (higher score,
    /// then lower index). Scores are finite, so `total_cmp` agrees with `<`.
    #[inline]
    pub fn rank_cmp(&self, other: &Entry) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.index.cmp(&self.index))
    }

    /// Whether `self` ranks strictly before `other`.
    #[inline]
    pub fn is_better_than(&self, other: &Entry) -> bool {
        self.rank_cmp(other) == Ordering::Greater
    }
}

/// The best `limit` entries offered, `limit <= N`.
///
/// ```
/// use coselect_core::{BoundedTopK, Entry};
/// let mut top = BoundedTopK::<4>::new(2)?;
/// for (i, s) in [0.1, 0.9, 0.5, 0.9].iter().enumerate() {
///     top.push(Entry::new(*s, i as u64));
/// }
/// let mut best = top.clone();
/// let sorted = best.sort_best_last();
/// assert_eq!(sorted.iter().map(|e| e.index).collect::<heapless::Vec<u64, 4>>(), [3, 1]);
/// # Ok::<(), coselect_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoundedTopK<const N: usize> {
    limit: u32,
    // Min-heap by `rank_cmp`: the root is the worst kept entry.
    items: Vec<Entry, N>,
}

impl<const N: usize> BoundedTopK<N> {
    /// An empty structure keeping at most `limit` entries.
    pub fn new(limit: usize) -> Result<Self> {
        if limit > N || limit > u32::MAX as usize {
            return Err(Error::CapacityExceeded {
                needed: limit,
                capacity: N,
            });
        }
        Ok(BoundedTopK {
            limit: limit as u32,
            items: Vec::new(),
        })
    }

    /// How many entries it keeps at most.
    pub fn limit(&self) -> usize {
        self.limit as usize
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The held entries in heap order (unspecified).
    pub fn as_slice(&self) -> &[Entry] {
        &self.items
    }

    /// Offers an entry; it is kept if it is among the best `limit` so far.
    /// Returns whether it was kept.
    #[inline]
    pub fn push(&mut self, e: Entry) -> bool {
        if self.items.len() < self.limit as usize {
            // Cannot fail: len < limit <= N.
            let _ = self.items.push(e);
            let last = self.items.len() - 1;
            self.sift_up(last);
            true
        } else if !self.items.is_empty() && e.is_better_than(&self.items[0]) {
            self.items[0] = e;
            self.sift_down(0);
            true
        } else {
            false
        }
    }

    /// Offers every entry of `other` (the union's best `limit` remain).
    pub fn merge(&mut self, other: &Self) {
        for &e in other.items.iter() {
            self.push(e);
        }
    }

    /// Sorts the held entries worst first, best last, and returns them. A
    /// slice sorted that way is itself a valid min-heap, so the structure
    /// stays usable (push, merge) afterwards.
    pub fn sort_best_last(&mut self) -> &[Entry] {
        self.items.sort_unstable_by(|a, b| a.rank_cmp(b));
        &self.items
    }

    /// Checks the invariants of a decoded value: within limit, finite scores,
    /// no -0.0, the heap property, no row twice.
    pub(crate) fn check(&self) -> Result<()> {
        if self.limit as usize > N || self.items.len() > self.limit as usize {
            return Err(Error::Corrupt);
        }
        for (i, e) in self.items.iter().enumerate() {
            if !e.score.is_finite() || e.score.to_bits() == (-0.0f32).to_bits() {
                return Err(Error::Corrupt);
            }
            if i > 0 && self.items[(i - 1) / 2].is_better_than(e) {
                return Err(Error::Corrupt);
            }
            // A row held twice leaves fewer distinct rows than the selector's
            // exactness argument counts on, and its finish then fails (found
            // by fuzz/decode). Quadratic, without a copy or an allocator:
            // decoding is rare and its heaps hold at most k entries.
            if self.items[..i].iter().any(|o| o.index == e.index) {
                return Err(Error::Corrupt);
            }
        }
        Ok(())
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if self.items[parent].is_better_than(&self.items[i]) {
                self.items.swap(parent, i);
                i = parent;
            } else {
                break;
            }
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.items.len();
        loop {
            let l = 2 * i + 1;
            if l >= n {
                break;
            }
            let r = l + 1;
            let mut worst = l;
            if r < n && self.items[l].is_better_than(&self.items[r]) {
                worst = r;
            }
            if self.items[i].is_better_than(&self.items[worst]) {
                self.items.swap(i, worst);
                i = worst;
            } else {
                break;
            }
        }
    }
}
