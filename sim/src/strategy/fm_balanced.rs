//! FM-balanced sampling, in the manner of PCB (pseudo-label class balance): class-balanced random
//! sampling over the FM's zero-shot pseudo-labels, from round 0 on.

use rand::seq::SliceRandom;

use super::{SelectContext, Strategy};
use crate::error::Result;

/// Round-robin over classes, each class taking a random unlabeled row the FM assigns to it;
/// classes the FM assigns no row left are skipped.
///
/// ```
/// let s = coselect_sim::strategy::build("fm-balanced", &Default::default()).unwrap();
/// assert!(s.cold_start());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct FmBalanced;

impl Strategy for FmBalanced {
    fn name(&self) -> &str {
        "fm-balanced"
    }

    fn cold_start(&self) -> bool {
        true
    }

    fn select(&mut self, ctx: &mut SelectContext<'_>) -> Result<Vec<usize>> {
        let c = ctx.n_classes;
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); c];
        for i in ctx.unlabeled() {
            by_class[ctx.fm_log_probs.argmax_row(i)].push(i);
        }
        for members in by_class.iter_mut() {
            members.shuffle(ctx.rng);
        }
        // Start the round-robin at the class with the fewest labels so far, so that the remainder
        // of a batch that does not divide by C goes to the rarest classes across rounds.
        let mut have = vec![0usize; c];
        for &y in ctx.labels {
            have[y] += 1;
        }
        let mut order: Vec<usize> = (0..c).collect();
        order.sort_by_key(|&k| (have[k], k));
        let mut picked = Vec::with_capacity(ctx.batch);
        let mut cursor = vec![0usize; c];
        while picked.len() < ctx.batch {
            let mut progressed = false;
            for &k in &order {
                if picked.len() == ctx.batch {
                    break;
                }
                if cursor[k] < by_class[k].len() {
                    picked.push(by_class[k][cursor[k]]);
                    cursor[k] += 1;
                    progressed = true;
                }
            }
            if !progressed {
                break;
            }
        }
        Ok(picked)
    }
}
