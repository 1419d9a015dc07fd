//! Per-class bounded "best N" lists on the heap, in capacity tiers.
//!
//! The core's [`BoundedTopK<N>`] has a compile-time capacity and is built by
//! value, so a host cannot make one large enough for any budget without a
//! huge stack temporary. The host keeps one boxed list per class instead,
//! with `N` the smallest tier that covers the budget (or the pseudo-label
//! cap), and finishes through the core's own [`round_robin`], so the
//! selection rule exists once.

use coselect_core::block::Lanes;
use coselect_core::{round_robin, BoundedTopK, Entry, Pick};

use crate::error::{Error, Result};

/// Classes this host accepts (the capacity of the core structures it
/// instantiates: a scorer, an EM state and the round-robin's stack arrays).
pub const MAX_CLASSES: usize = 4096;

/// Per-class list capacities for the query budget k. The budget picks the
/// smallest tier that holds it.
pub const BUDGET_TIERS: [usize; 3] = [256, 4096, 16_384];

/// Per-class list capacities for the pseudo-label cap. A larger cap (it
/// grows with the human labels: 20 times the smallest class's count by
/// default) gets a list that grows with the candidates offered instead.
pub const CAP_TIERS: [usize; 5] = [256, 1024, 4096, 16_384, 65_536];

/// The smallest tier holding `n`.
pub(crate) fn tier(tiers: &[usize], n: usize, what: &'static str) -> Result<usize> {
    tiers
        .iter()
        .copied()
        .find(|&t| t >= n)
        .ok_or(Error::TooLarge {
            what,
            value: n,
            max: tiers[tiers.len() - 1],
        })
}

/// The query selector's partial state: the best `k` rows of each class,
/// with `K` the tier of `k`. The hot path is generic over `K` so the push
/// inlines.
pub(crate) struct ClassHeaps<const K: usize> {
    heaps: Vec<Box<BoundedTopK<K>>>,
    /// Per class, the score of the worst kept entry once the list is full
    /// (`-inf` before): a score below it cannot enter, which most rows of a
    /// large pool learn from one compare on contiguous memory instead of a
    /// visit to each class's boxed list.
    floor: Vec<f32>,
    /// The lowest of `floor`: a block whose scores are all below it enters
    /// no list, which the boundary pass learns before it scores the block.
    min_floor: f32,
    pushed: u64,
}

impl<const K: usize> ClassHeaps<K> {
    pub(crate) fn new(classes: usize, k: usize) -> Result<Self> {
        let mut heaps = Vec::with_capacity(classes);
        for _ in 0..classes {
            let h = BoundedTopK::<K>::new(k).map_err(Error::core("selector"))?;
            heaps.push(Box::new(h));
        }
        Ok(ClassHeaps {
            heaps,
            floor: vec![f32::NEG_INFINITY; classes],
            min_floor: f32::NEG_INFINITY,
            pushed: 0,
        })
    }

    /// Offers a block's scores: `scores[c][j]` is class `c` of the row
    /// selected as `rows[j]` (its pool row or the caller's id); lanes past
    /// `rows.len()` are ignored.
    #[inline(always)]
    pub(crate) fn push_block(&mut self, rows: &[u64], scores: &[Lanes]) {
        let mut raised = false;
        for ((h, f), lanes) in self.heaps.iter_mut().zip(self.floor.iter_mut()).zip(scores) {
            // Once the lists are full almost no block has a row for a class:
            // one vector compare over the block settles it (stale lanes past
            // `rows` can only cost a look at the rows).
            let mut any = false;
            for &s in lanes {
                any |= s >= *f;
            }
            if !any {
                continue;
            }
            for (&s, &i) in lanes.iter().zip(rows) {
                if s < *f {
                    continue;
                }
                if h.push(Entry::new(s, i)) && h.len() == h.limit() {
                    *f = h.as_slice()[0].score;
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

    /// Each class's kept entries, in heap order.
    pub(crate) fn lists(&self) -> impl Iterator<Item = &[Entry]> {
        self.heaps.iter().map(|h| h.as_slice())
    }

    /// Rebuilds a state from its lists, as a decoder does; the caller has
    /// checked that each list holds at most `k` entries, so none is lost.
    pub(crate) fn restore<'e>(&mut self, lists: impl Iterator<Item = &'e [Entry]>, pushed: u64) {
        for ((h, f), list) in self.heaps.iter_mut().zip(self.floor.iter_mut()).zip(lists) {
            for &e in list {
                h.push(e);
            }
            if h.len() == h.limit() && h.limit() > 0 {
                *f = h.as_slice()[0].score;
            }
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
            h.merge(o);
            if h.len() == h.limit() && h.limit() > 0 {
                *f = h.as_slice()[0].score;
            }
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
            h.sort_best_last();
        }
        let heaps = &self.heaps;
        let mut out = vec![Pick::default(); k as usize];
        let n = round_robin::<MAX_CLASSES>(counts, k, seed_min, |c| heaps[c].as_slice(), &mut out)
            .map_err(Error::core("selection"))?;
        out.truncate(n);
        Ok(out)
    }
}

/// A bounded best list of any capacity tier, behind a pointer: used where a
/// row pushes at most one entry (pseudo-label candidates), so dynamic
/// dispatch costs nothing measurable and one code path serves every tier.
pub(crate) trait TopList: Send {
    fn offer(&mut self, e: Entry);
    /// The entries held: the best `limit` of those offered, and for a
    /// [`GrowingTopList`] possibly more (fewer than `2 * limit`).
    fn entries(&self) -> &[Entry];
    fn best_last(&mut self) -> &[Entry];
    /// The worst kept score once the list is full (an entry scoring less
    /// cannot enter), `-inf` before.
    fn floor(&self) -> f32;
}

impl<const N: usize> TopList for BoundedTopK<N> {
    #[inline]
    fn offer(&mut self, e: Entry) {
        self.push(e);
    }
    fn entries(&self) -> &[Entry] {
        self.as_slice()
    }
    fn best_last(&mut self) -> &[Entry] {
        self.sort_best_last()
    }
    #[inline]
    fn floor(&self) -> f32 {
        match self.len() == self.limit() && self.limit() > 0 {
            true => self.as_slice()[0].score,
            false => f32::NEG_INFINITY,
        }
    }
}

/// A boxed list keeping the best `limit` entries: in the smallest tier, or
/// past the largest one a [`GrowingTopList`].
pub(crate) fn top_list(limit: usize) -> Result<Box<dyn TopList>> {
    fn make<const N: usize>(limit: usize) -> Result<Box<dyn TopList>> {
        let t = BoundedTopK::<N>::new(limit).map_err(Error::core("pseudo-labels"))?;
        Ok(Box::new(t))
    }
    match tier(&CAP_TIERS, limit, "the pseudo-label cap per class") {
        Ok(256) => make::<256>(limit),
        Ok(1024) => make::<1024>(limit),
        Ok(4096) => make::<4096>(limit),
        Ok(16_384) => make::<16_384>(limit),
        Ok(_) => make::<65_536>(limit),
        Err(_) => Ok(Box::new(GrowingTopList::new(limit))),
    }
}

/// The best `limit` of `entries` (all of them when there are no more).
pub(crate) fn best_of(entries: &[Entry], limit: usize) -> Vec<Entry> {
    let mut out = entries.to_vec();
    keep_best(&mut out, limit);
    out
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

/// The best `limit` entries of everything offered, for limits past the
/// largest tier: a pool with many human labels has a pseudo-label cap in the
/// hundreds of thousands per class (20 times 10,000 labels), which no
/// fixed-capacity list should reserve before a row is seen. Entries that can
/// still make the best `limit` are appended; when `2 * limit` are held, a
/// selection keeps the best `limit` and the worst of them becomes the
/// threshold (constant amortised time per entry, memory that grows with the
/// candidates offered). The order is the core's total order
/// ([`Entry::is_better_than`]), so the set kept is the same whatever the
/// order of offering, as with [`BoundedTopK`].
pub(crate) struct GrowingTopList {
    limit: usize,
    items: Vec<Entry>,
    /// The worst of the best `limit` at the last selection: nothing that is
    /// not better can be among the best `limit` of all offered.
    threshold: Option<Entry>,
}

impl GrowingTopList {
    pub(crate) fn new(limit: usize) -> Self {
        GrowingTopList {
            limit,
            items: Vec::new(),
            threshold: None,
        }
    }

    /// Keeps the best `limit` of the held entries.
    fn select(&mut self) {
        if let Some(worst) = keep_best(&mut self.items, self.limit) {
            self.threshold = Some(worst);
        }
    }
}

impl TopList for GrowingTopList {
    fn offer(&mut self, e: Entry) {
        if self.limit == 0 || self.threshold.is_some_and(|t| !e.is_better_than(&t)) {
            return;
        }
        self.items.push(e);
        if self.items.len() >= 2 * self.limit {
            self.select();
        }
    }
    fn entries(&self) -> &[Entry] {
        &self.items
    }
    fn best_last(&mut self) -> &[Entry] {
        self.select();
        self.items.sort_unstable_by(|a, b| a.rank_cmp(b));
        &self.items
    }
    fn floor(&self) -> f32 {
        self.threshold.map_or(f32::NEG_INFINITY, |t| t.score)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_cover_and_refuse() {
        assert_eq!(tier(&BUDGET_TIERS, 1, "k").unwrap(), 256);
        assert_eq!(tier(&BUDGET_TIERS, 257, "k").unwrap(), 4096);
        let e = tier(&BUDGET_TIERS, 16_385, "the budget k").unwrap_err();
        assert_eq!(
            e.to_string(),
            "the budget k is 16385, this host supports at most 16384"
        );
    }

    #[test]
    fn boxed_lists_keep_the_best() {
        for limit in [0, 3, 300, 5000] {
            let mut t = top_list(limit).unwrap();
            for i in 0..6000u64 {
                t.offer(Entry::new((i % 1000) as f32, i));
            }
            let kept = t.best_last();
            assert_eq!(kept.len(), limit);
            if let Some(best) = kept.last() {
                assert_eq!((best.score, best.index), (999.0, 999));
            }
        }
    }

    /// Past the largest tier the growing list keeps exactly what a full
    /// sort keeps, for any order of offering and any number of selections
    /// on the way (ties of score broken by the lower index).
    #[test]
    fn growing_lists_keep_the_best() {
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
            let mut t = GrowingTopList::new(limit);
            let mut floors = Vec::new();
            for e in shuffled {
                t.offer(e);
                floors.push(t.floor());
            }
            assert!(
                floors.windows(2).all(|w| w[0] <= w[1]),
                "the floor only rises"
            );
            assert_eq!(t.best_last(), &want[..], "limit {limit}");
        }
        let mut empty = GrowingTopList::new(0);
        empty.offer(Entry::new(1.0, 0));
        assert!(empty.best_last().is_empty());
        assert!(top_list(70_000).is_ok());
    }
}
