//! Per-class "best N" lists for the CPU host.
//!
//! The query selector keeps the best `k` rows of each class and the
//! co-decision the most confident candidates of each class. The core keeps
//! them in [`coselect_core::BoundedTopK`], a binary heap of fixed capacity:
//! right for a microcontroller, but on a large pool every entry that gets in
//! replaces the root and walks down a heap larger than L1 through dependent
//! loads (about 70 ns each, 31,652 of them in a 1M x 10 round). The host
//! appends instead: an entry that can still make the best `limit` is pushed
//! to a vector, and when `2 * limit` are held a selection keeps the best
//! `limit` and the worst of them becomes the threshold (constant amortised
//! time per entry, memory that grows with the entries kept). The order is
//! the core's total order ([`Entry::is_better_than`]), so the set kept is the
//! same whatever the order of offering, as with the heap; the selection
//! finishes through the core's own [`round_robin`], so the rule exists once.

use coselect_core::block::{Lanes, LANES};
use coselect_core::{round_robin, Entry, Pick};

use crate::error::{Error, Result};
use crate::round::lane_bits;

/// Classes this host accepts (the capacity of the core structures it
/// instantiates: a scorer, an EM state and the round-robin's stack arrays).
pub const MAX_CLASSES: usize = 4096;

/// The largest query budget k this host accepts: each worker may hold up to
/// `2 k` entries of 16 bytes per class.
pub const MAX_BUDGET: usize = 16_384;

/// Refuses a budget past [`MAX_BUDGET`].
pub(crate) fn check_budget(k: usize) -> Result<()> {
    match k <= MAX_BUDGET {
        true => Ok(()),
        false => Err(Error::TooLarge {
            what: "the budget k",
            value: k,
            max: MAX_BUDGET,
        }),
    }
}

/// The query selector's partial state: the best `k` rows of each class.
pub(crate) struct ClassHeaps {
    heaps: Vec<BestList>,
    /// Per class, the list's [`BestList::floor`]: a score below it cannot
    /// enter, which most rows of a large pool learn from one compare on
    /// contiguous memory instead of a visit to each class's list.
    floor: Vec<f32>,
    /// The lowest of `floor`: a block whose scores are all below it enters
    /// no list, which the boundary pass learns before it scores the block.
    min_floor: f32,
    pushed: u64,
}

impl ClassHeaps {
    /// Empty lists of `k` per class; the budget was checked by the caller
    /// ([`check_budget`]).
    pub(crate) fn new(classes: usize, k: usize) -> Self {
        ClassHeaps {
            heaps: (0..classes).map(|_| BestList::new(k)).collect(),
            floor: vec![f32::NEG_INFINITY; classes],
            min_floor: f32::NEG_INFINITY,
            pushed: 0,
        }
    }

    /// Offers a block's scores: `scores[c][j]` is class `c` of the row
    /// selected as `rows[j]` (its pool row or the caller's id); lanes past
    /// `rows.len()` are ignored.
    #[inline(always)]
    pub(crate) fn push_block(&mut self, rows: &[u64], scores: &[Lanes]) {
        debug_assert!(rows.len() <= LANES);
        let mut raised = false;
        for ((h, f), lanes) in self.heaps.iter_mut().zip(self.floor.iter_mut()).zip(scores) {
            // The lanes at or above the floor, as a bit mask from one vector
            // compare: once the lists are full most blocks have none, and
            // while they fill, a branch per lane on the compare was
            // mispredicted about half the time (a block that reaches a list
            // cost about 0.9 us against 0.3 us for one that does not).
            let mut enter = lane_bits(&std::array::from_fn(|j| lanes[j] >= *f), rows.len());
            while enter != 0 {
                let j = enter.trailing_zeros() as usize;
                enter &= enter - 1;
                // The mask was taken against the floor before this block;
                // an offer below a floor raised since is refused by `offer`.
                if h.offer(Entry::new(lanes[j], rows[j])) {
                    *f = h.floor();
                    raised = true;
                }
            }
        }
        if raised {
            self.update_min_floor();
        }
        self.pushed += rows.len() as u64;
    }

    /// The lowest class floor: no score below it enters any list.
    #[inline(always)]
    pub(crate) fn min_floor(&self) -> f32 {
        self.min_floor
    }

    /// Counts `n` rows offered whose scores are all below
    /// [`Self::min_floor`] (so none enters a list) without looking at them.
    #[inline(always)]
    pub(crate) fn skip_block(&mut self, n: usize) {
        self.pushed += n as u64;
    }

    fn update_min_floor(&mut self) {
        self.min_floor = self.floor.iter().copied().fold(f32::INFINITY, f32::min);
    }

    /// Rows offered so far.
    pub(crate) fn pushed(&self) -> u64 {
        self.pushed
    }

    /// Each class's best `k` entries, best first.
    pub(crate) fn lists(&self) -> impl Iterator<Item = Vec<Entry>> + '_ {
        self.heaps.iter().map(|h| h.best())
    }

    /// Rebuilds a state from its lists, as a decoder does; the caller has
    /// checked that each list holds at most `k` entries, so none is lost.
    pub(crate) fn restore<'e>(&mut self, lists: impl Iterator<Item = &'e [Entry]>, pushed: u64) {
        for ((h, f), list) in self.heaps.iter_mut().zip(self.floor.iter_mut()).zip(lists) {
            for &e in list {
                h.offer(e);
            }
            *f = h.floor();
        }
        self.update_min_floor();
        self.pushed = pushed;
    }

    pub(crate) fn merge(&mut self, other: &Self) {
        for ((h, f), o) in self
            .heaps
            .iter_mut()
            .zip(self.floor.iter_mut())
            .zip(&other.heaps)
        {
            for &e in o.entries() {
                h.offer(e);
            }
            *f = h.floor();
        }
        self.update_min_floor();
        self.pushed += other.pushed;
    }

    /// Quotas and round-robin, by the core's rule.
    pub(crate) fn finish(mut self, counts: &[u32], k: u32, seed_min: u32) -> Result<Vec<Pick>> {
        if self.pushed == 0 {
            return Err(Error::core("selection")(coselect_core::Error::EmptyPool));
        }
        if self.pushed < k as u64 {
            return Err(Error::core("selection")(
                coselect_core::Error::BudgetExceedsPool {
                    k: k as u64,
                    pool: self.pushed,
                },
            ));
        }
        for h in self.heaps.iter_mut() {
            h.best_last();
        }
        let heaps = &self.heaps;
        let mut out = vec![Pick::default(); k as usize];
        let n = round_robin::<MAX_CLASSES>(counts, k, seed_min, |c| heaps[c].entries(), &mut out)
            .map_err(Error::core("selection"))?;
        out.truncate(n);
        Ok(out)
    }
}

/// The best `limit` entries of everything offered (see the module's
/// documentation): entries that can still make the best `limit` are
/// appended; when `2 * limit` are held, a selection keeps the best `limit`
/// and the worst of them becomes the threshold.
pub(crate) struct BestList {
    limit: usize,
    items: Vec<Entry>,
    /// The worst of the best `limit` at the last selection: nothing that is
    /// not better can be among the best `limit` of all offered.
    threshold: Option<Entry>,
}

impl BestList {
    pub(crate) fn new(limit: usize) -> Self {
        BestList {
            limit,
            items: Vec::new(),
            threshold: None,
        }
    }

    /// Offers `e`; true when it made a selection, after which
    /// [`Self::floor`] may be higher.
    #[inline(always)]
    pub(crate) fn offer(&mut self, e: Entry) -> bool {
        if self.limit == 0 || self.threshold.is_some_and(|t| !e.is_better_than(&t)) {
            return false;
        }
        self.items.push(e);
        if self.items.len() < 2 * self.limit {
            return false;
        }
        self.select();
        true
    }

    /// The entries held, in no order: the best `limit` of those offered
    /// and possibly more (fewer than `2 * limit`).
    pub(crate) fn entries(&self) -> &[Entry] {
        &self.items
    }

    /// The best `limit` entries, best first: the same list whatever the
    /// order they were offered in.
    pub(crate) fn best(&self) -> Vec<Entry> {
        let mut out = self.items.clone();
        keep_best(&mut out, self.limit);
        out.sort_unstable_by(|a, b| b.rank_cmp(a));
        out
    }

    /// Keeps only the best `limit`, sorted best last.
    pub(crate) fn best_last(&mut self) -> &[Entry] {
        self.select();
        self.items.sort_unstable_by(|a, b| a.rank_cmp(b));
        &self.items
    }

    /// The worst kept score once a selection has been made (a score below
    /// it cannot enter), `-inf` before. It only rises.
    #[inline(always)]
    pub(crate) fn floor(&self) -> f32 {
        self.threshold.map_or(f32::NEG_INFINITY, |t| t.score)
    }

    /// Keeps the best `limit` of the held entries.
    fn select(&mut self) {
        if let Some(worst) = keep_best(&mut self.items, self.limit) {
            self.threshold = Some(worst);
        }
    }
}

/// Keeps the best `limit` of `items` (in no order) and returns the worst
/// of them, when there were more than `limit` and `limit > 0`.
fn keep_best(items: &mut Vec<Entry>, limit: usize) -> Option<Entry> {
    if items.len() <= limit {
        return None;
    }
    let worst = match limit {
        0 => None,
        _ => Some(
            *items
                .select_nth_unstable_by(limit - 1, |a, b| b.rank_cmp(a))
                .1,
        ),
    };
    items.truncate(limit);
    worst
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_past_the_largest_are_refused() {
        assert!(check_budget(MAX_BUDGET).is_ok());
        let e = check_budget(16_385).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the budget k is 16385, this host supports at most 16384"
        );
    }

    /// A list keeps exactly what a full sort keeps, for any order of
    /// offering and any number of selections on the way (ties of score
    /// broken by the lower index), and reports each selection.
    #[test]
    fn lists_keep_the_best() {
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for (limit, n) in [(1usize, 50u64), (7, 1000), (100, 10_000), (70_000, 200_000)] {
            let entries: Vec<Entry> = (0..n)
                .map(|i| Entry::new((next() % 500) as f32 / 7.0, i))
                .collect();
            let mut want = entries.clone();
            want.sort_unstable_by(|a, b| b.rank_cmp(a));
            want.truncate(limit);
            want.reverse();
            let mut shuffled = entries;
            for i in (1..shuffled.len()).rev() {
                shuffled.swap(i, (next() % (i as u64 + 1)) as usize);
            }
            let mut t = BestList::new(limit);
            let mut floors = vec![t.floor()];
            for e in shuffled {
                let before = t.floor();
                if !t.offer(e) {
                    assert_eq!(t.floor().to_bits(), before.to_bits());
                }
                floors.push(t.floor());
            }
            assert!(
                floors.windows(2).all(|w| w[0] <= w[1]),
                "the floor only rises"
            );
            let best_first: Vec<Entry> = want.iter().rev().copied().collect();
            assert_eq!(t.best(), best_first, "limit {limit}");
            assert_eq!(t.best_last(), &want[..], "limit {limit}");
        }
        let mut empty = BestList::new(0);
        assert!(!empty.offer(Entry::new(1.0, 0)));
        assert!(empty.best_last().is_empty());
    }
}
