//! A round's selection state over part of a pool: scored here, shipped as
//! bytes, merged anywhere.
//!
//! A pool sharded over machines is selected in three steps: every shard
//! scores its rows into a [`PartialRound`] under the same [`RoundPlan`],
//! serialises it ([`PartialRound::to_bytes`], `O(classes x k)` bytes, not
//! `O(rows)`), and one process merges the states and finishes. The state
//! keeps the best `k` rows of every class and the co-decision candidates,
//! the same structures a [`crate::run_round`] worker keeps, so the merged
//! selection is the one a single machine makes on the whole pool. Rows are
//! known by the caller's ids, which break ties as positions do (lower id
//! first).

use coselect_core::{Config, Entry, Fusion, Pick, PseudoLabel};
use serde::{Deserialize, Serialize};

use crate::calibration::Calibration;
use crate::error::{Error, Result};
use crate::heaps::check_budget;
use crate::plan::{check_batch, RoundPlan};
use crate::round::{PartialState, Rows, ScoringPass};
use crate::Matrix;

/// Version of [`PartialRound::to_bytes`]' format.
pub const PARTIAL_VERSION: u16 = 1;

/// The selection a round has made so far over the rows pushed into it.
///
/// ```
/// use coselect_core::Config;
/// use coselect_cpu::{Calibration, Matrix, PartialRound, RoundPlan};
/// let cal = Calibration { temperature: 1.0, fusion: None };
/// let plan = RoundPlan::new(&Config::new(2, 2)?, &[0, 0], cal, Some(&[0.5f32.ln(); 2]))?;
/// // Two shards, scored apart, rows known by the caller's ids.
/// let mut a = PartialRound::new(&plan)?;
/// a.push(&Matrix::f32("fm", &[3.0, 0.0, 1.0, 1.0], 2, 2)?, None, &[10, 11])?;
/// let mut b = PartialRound::new(&plan)?;
/// b.push(&Matrix::f32("fm", &[0.0, 3.0], 1, 2)?, None, &[20])?;
/// // Shipped as bytes and merged.
/// let mut merged = PartialRound::from_bytes(&a.to_bytes())?;
/// merged.merge(&PartialRound::from_bytes(&b.to_bytes())?)?;
/// let (queries, _) = merged.finish()?;
/// let mut ids: Vec<u64> = queries.iter().map(|p| p.index).collect();
/// ids.sort();
/// assert_eq!(ids, [10, 20]); // the clearest member of each class
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PartialRound {
    plan: RoundPlan,
    state: PartialState,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    version: u16,
    config: Vec<u8>,
    counts: Vec<u32>,
    temperature: f32,
    fusion: Option<(f32, f32)>,
    log_prior: Option<Vec<f32>>,
    pushed: u64,
    heaps: Vec<Vec<(f32, u64)>>,
    co: Option<WireCo>,
}

#[derive(Serialize, Deserialize)]
struct WireCo {
    sigma: Vec<u64>,
    unlabeled: u64,
    kept: Vec<Vec<(f32, u64)>>,
}

fn corrupt() -> Error {
    Error::core("selection state")(coselect_core::Error::Corrupt)
}

fn entries(list: &[(f32, u64)]) -> Vec<Entry> {
    list.iter().map(|&(s, i)| Entry::new(s, i)).collect()
}

/// A decoded list is at most `limit` long, of finite scores within
/// `range`, with no row twice.
fn check_list(list: &[(f32, u64)], limit: usize, lo: f32, hi: f32) -> Result<()> {
    if list.len() > limit || list.iter().any(|&(s, _)| !(s >= lo && s <= hi)) {
        return Err(corrupt());
    }
    let mut ids: Vec<u64> = list.iter().map(|e| e.1).collect();
    ids.sort_unstable();
    if ids.windows(2).any(|w| w[0] == w[1]) {
        return Err(corrupt());
    }
    Ok(())
}

impl PartialRound {
    /// An empty state under `plan`.
    pub fn new(plan: &RoundPlan) -> Result<PartialRound> {
        check_budget(plan.config.k as usize)?;
        Ok(PartialRound {
            plan: plan.clone(),
            state: PartialState::new(plan),
        })
    }

    /// The plan the rows are scored under.
    pub fn plan(&self) -> &RoundPlan {
        &self.plan
    }

    /// Rows pushed so far (over every merged state).
    pub fn rows(&self) -> u64 {
        self.state.heaps.pushed()
    }

    /// Scores a batch of unlabeled rows: FM scores, the small model's
    /// log-probabilities (exactly when the plan has fusion weights), and one
    /// id per row. The batch is validated before any row enters the state,
    /// so a refused batch leaves the state as it was; errors name the row
    /// by its position in the batch.
    pub fn push(&mut self, fm: &Matrix<'_>, sm: Option<&Matrix<'_>>, ids: &[u64]) -> Result<()> {
        let classes = self.plan.classes();
        if ids.len() != fm.rows() {
            return Err(Error::ShapeMismatch {
                input: "ids".to_string(),
                shape: format!("{} rows", ids.len()),
                other: fm.name().to_string(),
                other_shape: fm.shape_text(),
            });
        }
        check_batch("batch", classes, self.plan.calibration, fm, sm)?;
        let mut pass = ScoringPass::new(&self.plan, fm, sm, Rows::Ids(ids))?;
        pass.validate = false;
        let mut block = crate::round::Block::new(classes);
        pass.score_rows(&mut self.state, &mut block, 0..fm.rows())
    }

    /// Adds the rows of `other`, a state under the same plan. Shards must
    /// not share ids (a row counted twice would be picked twice).
    pub fn merge(&mut self, other: &PartialRound) -> Result<()> {
        let same = {
            let (a, b) = (&self.plan, &other.plan);
            a.config == b.config
                && a.counts == b.counts
                && a.calibration == b.calibration
                && a.has_prior == b.has_prior
                && a.log_prior
                    .iter()
                    .map(|x| x.to_bits())
                    .eq(b.log_prior.iter().map(|x| x.to_bits()))
        };
        if !same {
            return Err(Error::core("merge")(coselect_core::Error::StateMismatch));
        }
        self.state.merge(&other.state);
        Ok(())
    }

    /// The query batch (in pick order) and the co-decided pseudo-labels
    /// (class by class, most confident first), by the same rule as
    /// [`crate::run_round`].
    pub fn finish(self) -> Result<(Vec<Pick>, Vec<PseudoLabel>)> {
        let plan = self.plan;
        self.state.finish(&plan)
    }

    /// The state as postcard bytes, version first: the plan, then the kept
    /// entries, then a checksum; `O(classes x k)` whatever the rows pushed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let p = &self.plan;
        let mut cfg = [0u8; 128];
        let config = p
            .config
            .to_bytes(&mut cfg)
            .map(|b| b.to_vec())
            .expect("a config fits 96 bytes");
        // A list may hold up to twice its limit between selections; only
        // the best `limit` can matter, and a decoder accepts no more. They
        // are written best first, so the bytes do not depend on the order
        // the rows were pushed in.
        let list = |l: Vec<Entry>| l.iter().map(|e| (e.score, e.index)).collect::<Vec<_>>();
        let s = &self.state;
        let (pushed, heaps) = (s.heaps.pushed(), s.heaps.lists().map(list).collect());
        let co = s.co.as_ref().map(|c| WireCo {
            sigma: c.sigma.clone(),
            unlabeled: c.unlabeled,
            kept: c.kept.iter().map(|k| list(k.best())).collect(),
        });
        let wire = Wire {
            version: PARTIAL_VERSION,
            config,
            counts: p.counts.clone(),
            temperature: p.calibration.temperature,
            fusion: p.calibration.fusion.map(|f| (f.a, f.b)),
            log_prior: p.has_prior.then(|| p.log_prior.clone()),
            pushed,
            heaps,
            co,
        };
        crate::wire::seal(postcard::to_allocvec(&wire).expect("serialising to memory cannot fail"))
    }

    /// Reads a state written by [`PartialRound::to_bytes`], checking every
    /// invariant the selection relies on: truncated, corrupt or
    /// inconsistent bytes are an error, never a wrong selection.
    pub fn from_bytes(bytes: &[u8]) -> Result<PartialRound> {
        let version = bytes.first().map(|&b| b as u16).ok_or_else(corrupt)?;
        if version != PARTIAL_VERSION {
            return Err(Error::core("selection state")(
                coselect_core::Error::UnsupportedVersion {
                    found: version,
                    supported: PARTIAL_VERSION,
                },
            ));
        }
        let body = crate::wire::open(bytes, "selection state")?;
        let (w, rest) = postcard::take_from_bytes::<Wire>(body).map_err(|_| corrupt())?;
        if !rest.is_empty() || w.version != PARTIAL_VERSION {
            return Err(corrupt());
        }
        let config = Config::from_bytes(&w.config).map_err(Error::core("selection state"))?;
        let calibration = Calibration {
            temperature: w.temperature,
            fusion: w.fusion.map(|(a, b)| Fusion { a, b }),
        };
        let plan = RoundPlan::new(&config, &w.counts, calibration, w.log_prior.as_deref())?;
        let mut out = PartialRound::new(&plan)?;
        let (classes, k) = (plan.classes(), config.k as usize);
        if w.heaps.len() != classes {
            return Err(corrupt());
        }
        for l in &w.heaps {
            check_list(l, k, f32::MIN, f32::MAX)?;
            if l.len() as u64 > w.pushed {
                return Err(corrupt());
            }
        }
        let heaps: Vec<Vec<Entry>> = w.heaps.iter().map(|l| entries(l)).collect();
        let co = match (w.co, plan.codecides()) {
            (Some(c), true) => {
                let cap = plan.pseudo_cap();
                let consistent = c.sigma.len() == classes
                    && c.kept.len() == classes
                    && c.unlabeled <= w.pushed
                    && c.sigma.iter().all(|&n| n <= c.unlabeled)
                    && c.sigma
                        .iter()
                        .try_fold(0u64, |a, &n| a.checked_add(n))
                        .is_some_and(|t| t <= c.unlabeled);
                if !consistent {
                    return Err(corrupt());
                }
                for l in &c.kept {
                    check_list(l, cap, 0.0, 1.0)?;
                }
                Some(c)
            }
            (None, false) => None,
            _ => return Err(corrupt()),
        };
        let s = &mut out.state;
        s.heaps.restore(heaps.iter().map(|l| &l[..]), w.pushed);
        if let (Some(dst), Some(src)) = (s.co.as_mut(), co) {
            dst.sigma = src.sigma;
            dst.unlabeled = src.unlabeled;
            for (d, l) in dst.kept.iter_mut().zip(&src.kept) {
                for e in entries(l) {
                    d.offer(e);
                }
            }
        }
        Ok(out)
    }
}

impl std::fmt::Debug for PartialRound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartialRound")
            .field("plan", &self.plan)
            .field("rows", &self.rows())
            .finish()
    }
}
