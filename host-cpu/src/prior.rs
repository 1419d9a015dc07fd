//! The pool class prior by EM, one parallel pass per EM iteration.
//!
//! Each worker accumulates a clone of the core's [`PriorEm`] over its
//! chunks; the clones merge into the master state, whose fixed-point sums
//! make the estimate bit-identical for any thread count and chunk size.
//! The posterior of each row is recomputed every pass (`fused_softmax`)
//! rather than cached, so memory stays at the size of the input.

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
) -> Result<PriorEstimate> {
    let classes = pool.fm.cols();
    let mut master = PriorEm::<MAX_CLASSES>::new(config).map_err(Error::core("EM prior"))?;
    let mut first = true;
    while !master.is_done() {
        let check = validate && first;
        let states = workers.pass(
            pool.fm.rows(),
            || Ok((master.clone(), vec![0.0f32; 3 * classes])),
            |(em, bufs), range| {
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
