//! One pass over the pool, in chunks, on a pool of worker threads.
//!
//! Each worker owns one partial state and claims chunks of consecutive rows
//! from a shared counter until none are left; the caller merges the states.
//! Every state the core offers merges exactly (bounded heaps under a total
//! order, fixed-point EM sums), so the result does not depend on which
//! worker got which chunk.
//!
//! Errors are deterministic too: chunks are claimed in increasing order, so
//! when a worker fails at row r every chunk before it has already been
//! claimed and is finished; the error of the lowest row is reported.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::error::{Error, Result};

/// How a round uses the machine: threads, chunking, and the memory it may
/// add to the input's.
///
/// ```
/// let p = coselect_cpu::Parallelism { threads: 2, ..Default::default() };
/// assert_eq!(p.chunk_rows, 16_384);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parallelism {
    /// Worker threads; 0 means one per available core.
    pub threads: usize,
    /// Rows per chunk (at least 1). Small enough for balance, large enough
    /// that claiming a chunk costs nothing against scoring it.
    pub chunk_rows: usize,
    /// EM keeps the pool's posterior rows (rows x classes f32) between its
    /// passes when they fit in this many bytes, instead of recomputing them
    /// every pass; 0 never keeps them. Default 256 MiB.
    pub em_cache_bytes: usize,
}

impl Default for Parallelism {
    fn default() -> Self {
        Parallelism {
            threads: 0,
            chunk_rows: 16_384,
            em_cache_bytes: 256 << 20,
        }
    }
}

/// The worker threads of one round.
pub(crate) struct Workers {
    pool: rayon::ThreadPool,
    chunk_rows: usize,
}

/// Worker stacks hold fixed-capacity core structures built by value before
/// they are boxed (an EM state and a scorer for up to 4096 classes), so they
/// get more than the default 2 MB.
const STACK_BYTES: usize = 64 << 20;

impl Workers {
    pub(crate) fn new(p: Parallelism) -> Result<Self> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(p.threads)
            .stack_size(STACK_BYTES)
            .thread_name(|i| format!("coselect-{i}"))
            .build()
            .map_err(|e| Error::Threads(e.to_string()))?;
        Ok(Workers {
            pool,
            chunk_rows: p.chunk_rows.max(1),
        })
    }

    /// Rows per chunk; chunk `c` covers rows `c * chunk_rows ..`.
    pub(crate) fn chunk_rows(&self) -> usize {
        self.chunk_rows
    }

    /// Runs `f` on a worker thread (so big stack temporaries are safe).
    pub(crate) fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.pool.install(f)
    }

    /// Runs `body` over rows `0..rows` in chunks; each worker starts from
    /// `init()`. Returns the workers' states (in no particular order).
    pub(crate) fn pass<S: Send>(
        &self,
        rows: usize,
        init: impl Fn() -> Result<S> + Sync,
        body: impl Fn(&mut S, Range<usize>) -> Result<()> + Sync,
    ) -> Result<Vec<S>> {
        let chunk = self.chunk_rows;
        let chunks = rows.div_ceil(chunk);
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let workers = self.pool.current_num_threads().min(chunks).max(1);
        let results: Vec<Result<S>> = self.pool.install(|| {
            (0..workers)
                .into_par_iter()
                .map(|_| {
                    let mut state = init()?;
                    while !stop.load(Ordering::Relaxed) {
                        let c = next.fetch_add(1, Ordering::Relaxed);
                        if c >= chunks {
                            break;
                        }
                        let range = c * chunk..((c + 1) * chunk).min(rows);
                        if let Err(e) = body(&mut state, range) {
                            stop.store(true, Ordering::Relaxed);
                            return Err(e);
                        }
                    }
                    Ok(state)
                })
                .collect()
        });
        let mut states = Vec::with_capacity(results.len());
        let mut first: Option<Error> = None;
        for r in results {
            match r {
                Ok(s) => states.push(s),
                Err(e) => {
                    let row = e.row().unwrap_or(u64::MAX);
                    if first
                        .as_ref()
                        .is_none_or(|f| row < f.row().unwrap_or(u64::MAX))
                    {
                        first = Some(e);
                    }
                }
            }
        }
        match first {
            Some(e) => Err(e),
            None => Ok(states),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_visited_once() {
        for threads in [1, 2, 3] {
            for chunk_rows in [1, 7, 1000] {
                let w = Workers::new(Parallelism {
                    threads,
                    chunk_rows,
                    em_cache_bytes: 0,
                })
                .unwrap();
                let states = w
                    .pass(
                        100,
                        || Ok(vec![0u32; 100]),
                        |s, r| {
                            for i in r {
                                s[i] += 1;
                            }
                            Ok(())
                        },
                    )
                    .unwrap();
                let mut seen = vec![0u32; 100];
                for s in states {
                    for (a, b) in seen.iter_mut().zip(s) {
                        *a += b;
                    }
                }
                assert!(seen.iter().all(|&n| n == 1));
            }
        }
    }

    #[test]
    fn the_lowest_failing_row_is_reported() {
        let w = Workers::new(Parallelism {
            threads: 3,
            chunk_rows: 5,
            em_cache_bytes: 0,
        })
        .unwrap();
        for _ in 0..20 {
            let e = w
                .pass(
                    1000,
                    || Ok(()),
                    |_, r| match r.clone().find(|&i| i % 97 == 42) {
                        Some(i) => Err(Error::LabelOutOfRange {
                            input: "x".into(),
                            row: i as u64,
                            label: -5,
                            classes: 2,
                        }),
                        None => Ok(()),
                    },
                )
                .unwrap_err();
            assert_eq!(e.row(), Some(42));
        }
    }
}
