//! The deployed small model's decision bias for balanced accuracy, over a
//! pool of any size.
//!
//! The core's [`coselect_core::logit_adjustment`] needs the model's class
//! marginal on the pool: the mean of `exp(L)` over every row (labeled rows
//! too), which is one pass of the core's [`PriorEm`] from the uniform prior.
//! Each worker sums its chunks into a clone; the fixed-point sums make the
//! bias bit-identical for any thread count and chunk size.

use coselect_core::math::exp;
use coselect_core::{logit_adjustment, Config, PriorEm};

use crate::error::{Error, Result};
use crate::heaps::MAX_CLASSES;
use crate::parallel::{Parallelism, Workers};
use crate::Matrix;

/// The per-class bias `-tau ln pi_c` that the small model whose pool
/// log-probabilities are `sm` should add to a row's log-probabilities
/// before its argmax, to decide for balanced accuracy (`pi` its mean
/// posterior over the pool; [`coselect_core::DEFAULT_LOGIT_ADJUSTMENT`] is
/// the strength measured best, docs/method.md session 9). Every row is
/// checked as log-probabilities; an error names the input, row and column.
///
/// ```
/// use coselect_cpu::{decision_bias, Matrix, Parallelism};
/// // Three rows the model gives to class 0, one to class 1.
/// let lp: Vec<f32> = [0.9f32, 0.1, 0.8, 0.2, 0.9, 0.1, 0.3, 0.7].iter().map(|p| p.ln()).collect();
/// let sm = Matrix::f32("sm", &lp, 4, 2)?;
/// let bias = decision_bias(&sm, 0.5, Parallelism::default())?;
/// assert!(bias[1] > bias[0]);
/// let one = Parallelism { threads: 1, chunk_rows: 1, ..Default::default() };
/// assert_eq!(decision_bias(&sm, 0.5, one)?, bias);
/// assert!(decision_bias(&sm, -1.0, one).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decision_bias(sm: &Matrix<'_>, tau: f32, parallelism: Parallelism) -> Result<Vec<f32>> {
    let what = "decision bias";
    // Refused before the pass, with the core's error.
    if !(tau.is_finite() && tau >= 0.0) {
        return Err(Error::core(what)(coselect_core::Error::InvalidConfig {
            field: "logit_adjustment",
        }));
    }
    let classes = sm.cols();
    let config = Config::new(classes as u32, 1).map_err(Error::core(what))?;
    let workers = Workers::new(parallelism)?;
    workers.install(|| {
        let start = PriorEm::<MAX_CLASSES>::new(&config).map_err(Error::core(what))?;
        let states = workers.pass(
            sm.rows(),
            || Ok((start.clone(), vec![0.0f32; 2 * classes])),
            |(em, bufs), range| {
                let (buf, p) = bufs.split_at_mut(classes);
                for i in range {
                    let row = sm.row(i, buf);
                    sm.check_log_probabilities(i, row)?;
                    for (q, &l) in p.iter_mut().zip(row) {
                        *q = exp(l);
                    }
                    em.push(i as u64, p).map_err(Error::core(what))?;
                }
                Ok(())
            },
        )?;
        let mut master = start;
        for (em, _) in &states {
            master.merge(em).map_err(Error::core(what))?;
        }
        master.end_pass().map_err(Error::core(what))?;
        let mut bias = vec![0.0f32; classes];
        logit_adjustment(master.prior(), tau, &mut bias).map_err(Error::core(what))?;
        Ok(bias)
    })
}
