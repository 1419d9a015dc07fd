//! Host side of the batched radix select (kernels/select.cu): buffers, the
//! six digit passes, and decoding the per-class lists for the core's
//! round-robin.

use std::ffi::c_void;

use coselect_core::Entry;
use cudarc::driver::sys::CUstream;

use crate::device::{download, launch, Kernels, Scratch};
use crate::error::{Error, Result};

const BUCKETS: usize = 2048;
const PASSES: u32 = 6;
const BLOCK: u32 = 256;

/// Mirror of `ClassState` in select.cu.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ClassState {
    prefix: u64,
    remaining: u64,
    bucket: u64,
    pub(crate) out_count: u64,
    cand_count: [u64; 2],
    source: u32,
    take_bucket: u32,
    done: u32,
    pad: u32,
}

/// Mirror of `SelectParams` in select.cu.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct SelectParams {
    keys: u64,
    items: u64,
    seg_start: u64,
    seg_len: u64,
    cand: [u64; 2],
    out: u64,
    hist: u64,
    state: u64,
    rows: u64,
    k: u64,
    cand_cap: u64,
    classes: u32,
    segmented: u32,
}

/// The elements of each ordering: dense class-major score keys, or
/// composite keys grouped by class.
pub(crate) enum Orderings {
    Dense {
        keys: u64,
        rows: u64,
    },
    Segmented {
        items: u64,
        start: u64,
        len: u64,
        rows: u64,
    },
}

/// The best `k` of each of `classes` orderings, left on the device until
/// [`Picked::fetch`].
pub(crate) struct Picked {
    out: Scratch,
    state: Scratch,
    classes: usize,
    k: usize,
}

/// Slots per ordering in each candidate buffer. A bucket larger than this
/// is read from the full ordering again (filtered by its prefix) instead,
/// which costs time, not correctness. Dense orderings get a quarter of their
/// length, so both buffers together take the dense keys' size; segmented
/// ones (pseudo-label candidates, about rows / C per class) a share of that.
fn candidate_capacity(src: &Orderings, rows: u64, classes: u32) -> u64 {
    let per = match src {
        Orderings::Dense { .. } => rows / 4,
        Orderings::Segmented { .. } => rows / (2 * classes as u64),
    };
    per.max(65_536).min(rows).max(1)
}

/// Launches the select on `stream` (asynchronously).
pub(crate) fn select_top_k(
    kern: &Kernels,
    stream: CUstream,
    src: &Orderings,
    classes: u32,
    k: u64,
) -> Result<Picked> {
    let rows = match src {
        Orderings::Dense { rows, .. } | Orderings::Segmented { rows, .. } => *rows,
    };
    let c = classes as usize;
    let cand_cap = candidate_capacity(src, rows, classes);
    let cand0 = Scratch::new(c * cand_cap as usize * 8, stream)?;
    let cand1 = Scratch::new(c * cand_cap as usize * 8, stream)?;
    let out = Scratch::new(c * k as usize * 8, stream)?;
    let hist = Scratch::filled(PASSES as usize * c * BUCKETS * 4, 0, stream)?;
    let state = Scratch::new(c * std::mem::size_of::<ClassState>(), stream)?;
    let (keys, items, seg_start, seg_len, segmented) = match *src {
        Orderings::Dense { keys, .. } => (keys, 0, 0, 0, 0),
        Orderings::Segmented {
            items, start, len, ..
        } => (0, items, start, len, 1),
    };
    let mut p = SelectParams {
        keys,
        items,
        seg_start,
        seg_len,
        cand: [cand0.ptr, cand1.ptr],
        out: out.ptr,
        hist: hist.ptr,
        state: state.ptr,
        rows,
        k,
        cand_cap,
        classes,
        segmented,
    };
    // Enough blocks per ordering to fill the card about eight times over.
    let want = kern.multiprocessors as u64 * 8;
    let per_class = want
        .div_ceil(classes as u64)
        .clamp(1, rows.div_ceil(BLOCK as u64).max(1));
    let wide = (per_class as u32, classes);
    let pp = &mut p as *mut SelectParams as *mut c_void;
    launch(&kern.init_state, (classes, 1), 1, 0, stream, &mut [pp])?;
    let mut first = 0u32;
    let fp = &mut first as *mut u32 as *mut c_void;
    launch(&kern.histogram, wide, BLOCK, 0, stream, &mut [pp, fp])?;
    // Pass p's filter builds pass p + 1's histogram; pass p + 1's choice
    // first moves each ordering on to its bucket (or finishes it). Orderings
    // done early return at once, so the launches stay fixed and no pass
    // waits for the host.
    for pass in 0..PASSES {
        let mut pass_v = pass;
        let pv = &mut pass_v as *mut u32 as *mut c_void;
        launch(&kern.choose, (classes, 1), BLOCK, 0, stream, &mut [pp, pv])?;
        launch(&kern.filter, wide, BLOCK, 0, stream, &mut [pp, pv])?;
    }
    // The candidate and histogram buffers are freed in stream order after
    // the last pass; out and state live until fetched.
    drop((cand0, cand1, hist));
    Ok(Picked {
        out,
        state,
        classes: c,
        k: k as usize,
    })
}

/// What [`Picked::fetch`] enqueues; readable after the stream synchronises.
pub(crate) struct Fetched {
    keys: Vec<u64>,
    state: Vec<ClassState>,
    k: usize,
}

impl Picked {
    /// Enqueues the copies to the host.
    pub(crate) fn fetch(&self, stream: CUstream) -> Result<Fetched> {
        let mut f = Fetched {
            keys: vec![0u64; self.classes * self.k],
            state: vec![ClassState::default(); self.classes],
            k: self.k,
        };
        download(&mut f.keys, self.out.ptr, stream)?;
        download(&mut f.state, self.state.ptr, stream)?;
        Ok(f)
    }
}

impl Fetched {
    /// Per ordering, its selected entries sorted worst first, best last (as
    /// `BoundedTopK::sort_best_last` leaves them). `expect(c)` is how many
    /// ordering `c` must hold, when known.
    pub(crate) fn lists(&self, expect: impl Fn(usize) -> Option<u64>) -> Result<Vec<Vec<Entry>>> {
        let mut lists = Vec::with_capacity(self.state.len());
        for (c, st) in self.state.iter().enumerate() {
            let n = st.out_count;
            if n > self.k as u64 || expect(c).is_some_and(|e| e != n) {
                return Err(Error::Driver {
                    call: "radix select",
                    message: format!(
                        "ordering {c} selected {n} elements, expected {:?} (at most {})",
                        expect(c),
                        self.k
                    ),
                });
            }
            let mut l: Vec<Entry> = self.keys[c * self.k..c * self.k + n as usize]
                .iter()
                .map(|&key| decode(key))
                .collect();
            l.sort_unstable_by(|a, b| a.rank_cmp(b));
            lists.push(l);
        }
        Ok(lists)
    }
}

/// The inverse of the kernels' composite key `(score_key << 32) | (2^32 - 1 - row)`.
pub(crate) fn decode(key: u64) -> Entry {
    let sk = (key >> 32) as u32;
    let bits = if sk & 0x8000_0000 != 0 {
        sk & 0x7FFF_FFFF
    } else {
        !sk
    };
    let row = 0xFFFF_FFFFu64 - (key & 0xFFFF_FFFF);
    Entry::new(f32::from_bits(bits), row)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// score.cu's score_key.
    fn score_key(s: f32) -> u32 {
        let b = (s + 0.0).to_bits();
        if b & 0x8000_0000 != 0 {
            !b
        } else {
            b | 0x8000_0000
        }
    }

    #[test]
    fn keys_order_like_the_core() {
        let scores = [-3.5f32, -1e-30, -0.0, 0.0, 1e-30, 0.25, 0.5, 7.0];
        for w in scores.windows(2) {
            assert!(score_key(w[0]) <= score_key(w[1]), "{w:?}");
        }
        for (i, &s) in scores.iter().enumerate() {
            let key = ((score_key(s) as u64) << 32) | (0xFFFF_FFFF - i as u64);
            let e = decode(key);
            assert_eq!(
                (e.score.to_bits(), e.index),
                ((s + 0.0).to_bits(), i as u64)
            );
        }
        // Same score: the lower row has the larger composite key.
        let a = ((score_key(1.0) as u64) << 32) | (0xFFFF_FFFF - 3);
        let b = ((score_key(1.0) as u64) << 32) | (0xFFFF_FFFF - 9);
        assert!(a > b && decode(a).is_better_than(&decode(b)));
    }

    /// select.cu's passes, run sequentially on the host: the state machine
    /// of init_state, radix_histogram (pass 0), choose_bucket (which first
    /// applies the previous pass's move) and radix_filter (which builds the
    /// next pass's histogram from the bucket's elements), for one ordering.
    fn emulate(keys: &[u64], k: u64, cand_cap: usize) -> Vec<u64> {
        const SHIFT: [u32; 6] = [53, 42, 32, 21, 10, 0];
        const WIDTH: [u32; 6] = [11, 11, 10, 11, 11, 10];
        let mut remaining = k.min(keys.len() as u64);
        let mut done = remaining == 0;
        let (mut prefix, mut source) = (0u64, 0usize);
        let mut cands: [Vec<u64>; 2] = [Vec::new(), Vec::new()];
        let mut out = Vec::new();
        for pass in 0..6 {
            if done {
                break;
            }
            let src: Vec<u64> = if source == 0 {
                keys.to_vec()
            } else {
                cands[source - 1].clone()
            };
            let in_prefix = |key: u64| pass == 0 || key >> (SHIFT[pass] + WIDTH[pass]) == prefix;
            let digit = |key: u64| ((key >> SHIFT[pass]) & ((1 << WIDTH[pass]) - 1)) as usize;
            let mut hist = vec![0u64; 1 << WIDTH[pass]];
            for &key in src.iter().filter(|&&key| in_prefix(key)) {
                hist[digit(key)] += 1;
            }
            let total: u64 = hist.iter().sum();
            let (bucket, take) = if total <= remaining {
                remaining = 0;
                (0, true)
            } else {
                let mut acc = 0;
                let mut b = hist.len() - 1;
                while acc + hist[b] < remaining {
                    acc += hist[b];
                    b -= 1;
                }
                remaining -= acc;
                (b, hist[b] == remaining)
            };
            let next = if source == 1 { 2 } else { 1 };
            cands[next - 1].clear();
            let write = !take && hist[bucket] as usize <= cand_cap;
            for &key in src.iter().filter(|&&key| in_prefix(key)) {
                let d = digit(key);
                if d > bucket || (d == bucket && take) {
                    out.push(key);
                } else if d == bucket && write {
                    cands[next - 1].push(key);
                }
            }
            if take {
                done = true;
            } else {
                source = if hist[bucket] as usize <= cand_cap {
                    next
                } else {
                    0
                };
                prefix = (prefix << WIDTH[pass]) | bucket as u64;
            }
        }
        out
    }

    #[test]
    fn the_passes_select_the_best_k_exactly() {
        let mut s = 0x2545_f491_4f6c_dd1du64;
        let mut rand = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for case in 0..300 {
            let n = [0usize, 1, 5, 300, 5000][case % 5];
            // Few distinct scores: ties resolved by the index digits.
            let distinct = [1u64, 3, 1000, u64::MAX][case % 4];
            let keys: Vec<u64> = (0..n as u64)
                .map(|row| {
                    let score = (rand() % distinct.max(1)) as f32 * 0.001 - 0.5;
                    ((score_key(score) as u64) << 32) | (0xFFFF_FFFF - row)
                })
                .collect();
            let k = [1u64, 7, 256, 6000][case % 4];
            let cap = [1usize, 64, 100_000][case % 3];
            let mut got = emulate(&keys, k, cap);
            let mut want = keys.clone();
            want.sort_unstable_by(|a, b| b.cmp(a));
            want.truncate(k as usize);
            got.sort_unstable_by(|a, b| b.cmp(a));
            assert_eq!(got, want, "case {case}: n {n}, k {k}, cap {cap}");
        }
    }

    #[test]
    fn params_match_the_kernel_layout() {
        assert_eq!(std::mem::size_of::<crate::round::ScoreParams>(), 144);
        assert_eq!(std::mem::size_of::<ClassState>(), 64);
        assert_eq!(std::mem::size_of::<SelectParams>(), 104);
    }
}
