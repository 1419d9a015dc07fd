//! The host's end of a round: the device's answers become the query batch
//! (the core's round-robin) and the pseudo-labels (the core's FlexMatch
//! thresholds), and a bad value found on the device becomes its error.

use coselect_core::{flexmatch_thresholds, round_robin, Pick, PseudoLabel};

use crate::checks::{Plan, MAX_CLASSES};
use crate::error::{core, Error, Result};
use crate::inputs::{RoundParams, Selection};
use crate::radix::Fetched;

/// The device's answers, copied to the host.
pub(crate) struct Collected {
    pub(crate) queries: Fetched,
    pub(crate) pseudo: Option<Fetched>,
    // Heap buffers: the asynchronous copies write to their addresses, which
    // must not move with the struct.
    pub(crate) sigma: Vec<u64>,
    pub(crate) unlabeled: Vec<u64>,
    pub(crate) bad: Vec<u64>,
}

impl Collected {
    pub(crate) fn finish(self, params: &RoundParams, plan: &Plan) -> Result<Selection> {
        if self.bad[0] != u64::MAX {
            let code = self.bad[0];
            let (row, kind, col) = (code >> 14, (code >> 12) & 3, (code & 0xFFF) as u32);
            return Err(match kind {
                0 => Error::BadValue {
                    input: "fm",
                    row,
                    col,
                    problem: "not finite",
                },
                1 => Error::BadValue {
                    input: "sm",
                    row,
                    col,
                    problem: "not finite",
                },
                _ => Error::BadValue {
                    input: "sm",
                    row,
                    col: 0,
                    problem: "exp of the row does not sum to 1 within 1e-3 (not log-probabilities)",
                },
            });
        }
        let unlabeled = self.unlabeled[0];
        let cfg = &params.config;
        if unlabeled < cfg.k as u64 {
            return Err(core("selection")(if unlabeled == 0 {
                coselect_core::Error::EmptyPool
            } else {
                coselect_core::Error::BudgetExceedsPool {
                    k: cfg.k as u64,
                    pool: unlabeled,
                }
            }));
        }
        let want = (cfg.k as u64).min(plan.rows as u64);
        let lists = self.queries.lists(|_| Some(want))?;
        let mut picks = vec![Pick::default(); cfg.k as usize];
        let n = round_robin::<MAX_CLASSES>(
            &params.counts,
            cfg.k,
            cfg.seed_min,
            |c| lists[c].as_slice(),
            &mut picks,
        )
        .map_err(core("selection"))?;
        picks.truncate(n);
        let mut pseudo_labels = Vec::new();
        if let Some(f) = &self.pseudo {
            let mut th = vec![0.0f32; plan.classes];
            flexmatch_thresholds(
                &self.sigma,
                unlabeled,
                cfg.co_confidence,
                cfg.co_floor,
                &mut th,
            )
            .map_err(core("pseudo-labels"))?;
            for (c, l) in f.lists(|_| None)?.iter().enumerate() {
                for e in l.iter().rev() {
                    if e.score < th[c] {
                        break;
                    }
                    pseudo_labels.push(PseudoLabel {
                        index: e.index,
                        class: c as u32,
                        confidence: e.score,
                    });
                }
            }
        }
        Ok(Selection {
            queries: picks,
            pseudo_labels,
            unlabeled,
        })
    }
}
