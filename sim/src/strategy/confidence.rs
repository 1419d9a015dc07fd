//! Least confidence (LabelBench `strategy_impl/confidence_sampling.py`): the rows whose top class
//! probability is lowest.

use super::{per_row, top_k, SelectContext, Strategy};
use crate::error::Result;

/// Least-confidence sampling on the deployed small model.
///
/// ```
/// let s = coselect_sim::strategy::build("confidence", &Default::default()).unwrap();
/// assert_eq!(s.name(), "confidence");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Confidence;

impl Strategy for Confidence {
    fn name(&self) -> &str {
        "confidence"
    }

    fn select(&mut self, ctx: &mut SelectContext<'_>) -> Result<Vec<usize>> {
        let lp = ctx.require_model(self.name())?;
        let score = per_row(lp, |p| -p.iter().cloned().fold(f64::NEG_INFINITY, f64::max));
        Ok(top_k(&score, ctx.is_labeled, ctx.batch))
    }
}
