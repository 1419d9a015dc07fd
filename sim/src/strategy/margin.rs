//! Margin sampling (LabelBench `strategy_impl/margin_sampling.py`): the rows with the smallest gap
//! between the two most probable classes.

use super::{per_row, top_k, SelectContext, Strategy};
use crate::error::Result;

/// Smallest-margin sampling on the deployed small model.
///
/// ```
/// let s = coselect_sim::strategy::build("margin", &Default::default()).unwrap();
/// assert_eq!(s.name(), "margin");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Margin;

/// Top-1 minus top-2 probability.
pub(crate) fn margin(p: &[f64]) -> f64 {
    let (mut a, mut b) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    for &v in p {
        if v > a {
            b = a;
            a = v;
        } else if v > b {
            b = v;
        }
    }
    a - b
}

impl Strategy for Margin {
    fn name(&self) -> &str {
        "margin"
    }

    fn select(&mut self, ctx: &mut SelectContext<'_>) -> Result<Vec<usize>> {
        let lp = ctx.require_model(self.name())?;
        let score = per_row(lp, |p| -margin(p));
        Ok(top_k(&score, ctx.is_labeled, ctx.batch))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn margin_of_hand_worked_rows() {
        assert!((super::margin(&[0.5, 0.3, 0.2]) - 0.2).abs() < 1e-12);
        assert!((super::margin(&[0.1, 0.45, 0.45])).abs() < 1e-12);
    }
}
