//! Uniform random sampling (LabelBench `strategy_impl/random_sampling.py`).

use rand::seq::SliceRandom;

use super::{SelectContext, Strategy};
use crate::error::Result;

/// Uniformly random unlabeled rows.
///
/// ```
/// let s = coselect_sim::strategy::build("random", &Default::default()).unwrap();
/// assert!(s.is_baseline() && !s.cold_start());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Random;

impl Strategy for Random {
    fn name(&self) -> &str {
        "random"
    }

    fn select(&mut self, ctx: &mut SelectContext<'_>) -> Result<Vec<usize>> {
        let mut pool = ctx.unlabeled();
        pool.shuffle(ctx.rng);
        pool.truncate(ctx.batch);
        Ok(pool)
    }
}
