//! Entropy sampling (LabelBench `strategy_impl/entropy_sampling.py`): the rows whose predicted
//! distribution has the highest entropy.

use super::{per_row, top_k, SelectContext, Strategy};
use crate::error::Result;

/// Maximum-entropy sampling on the deployed small model.
///
/// ```
/// let s = coselect_sim::strategy::build("entropy", &Default::default()).unwrap();
/// assert_eq!(s.name(), "entropy");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Entropy;

impl Strategy for Entropy {
    fn name(&self) -> &str {
        "entropy"
    }

    fn select(&mut self, ctx: &mut SelectContext<'_>) -> Result<Vec<usize>> {
        let lp = ctx.require_model(self.name())?;
        let score = per_row(lp, |p| {
            -p.iter()
                .filter(|&&v| v > 0.0)
                .map(|&v| v * v.ln())
                .sum::<f64>()
        });
        Ok(top_k(&score, ctx.is_labeled, ctx.batch))
    }
}
