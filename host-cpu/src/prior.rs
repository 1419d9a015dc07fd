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

use crate::error::{Error, Result};
use crate::heaps::MAX_CLASSES;
use crate::parallel::Workers;
use crate::Pool;

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
                    for (i, p) in range.zip(cached.chunks_exact(classes)) {
                        em.push(i as u64, p).map_err(Error::core("EM prior"))?;
                    }
                    return Ok(());
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
