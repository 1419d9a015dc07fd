//! Per-row query scores, one per class.
//!
//! Each class orders the unlabeled pool in one of two modes:
//! - seed mode (a class with fewer than `seed_min` trusted labels): by the
//!   balanced FM-informed posterior `p_bal = softmax(z - log pi)`, where `z`
//!   is the fused logit row and `pi` the EM estimate of the pool prior.
//!   Dividing out the prior lifts rare classes, so their members are found
//!   first;
//! - boundary mode: by closeness to the small model's boundary of the class,
//!   `-|L[c] - max_{c' != c} L[c']|` (BASE). The FM is deliberately not mixed
//!   in here: the prototype measured that it makes the queries worse.

use heapless::Vec;
use serde::{Deserialize, Serialize};

use crate::block::{self, Lanes, LANES};
use crate::calibrate::Fusion;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::math::{
    boundary_score, check_finite, check_log_probabilities, exp_shifted_in_place, fused_logits,
    top_two,
};

/// Why a sample was picked for its class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reason {
    /// The class had too few labels: the FM prior found a likely member.
    Seed,
    /// The sample is close to the small model's boundary of the class.
    Boundary,
}

/// The mode of each class, from its trusted label count.
///
/// ```
/// use coselect_core::{class_mode, Reason};
/// assert_eq!(class_mode(2, 3), Reason::Seed);
/// assert_eq!(class_mode(3, 3), Reason::Boundary);
/// ```
pub fn class_mode(labeled: u32, seed_min: u32) -> Reason {
    if labeled < seed_min {
        Reason::Seed
    } else {
        Reason::Boundary
    }
}

/// Computes the per-class query scores of pool rows for one round.
///
/// ```
/// use coselect_core::{Config, Fusion, Scorer};
/// let cfg = Config::new(2, 1)?;
/// // Round 0: no labels, every class in seed mode, FM only.
/// let scorer = Scorer::<2>::new(&cfg, &[0, 0], Fusion::default(), &[0.5f32.ln(); 2])?;
/// let mut s = [0.0; 2];
/// scorer.score_row(0, &[3.0, 0.0], None, &mut s)?;
/// assert!(s[0] > 0.9);
/// # Ok::<(), coselect_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Scorer<const C: usize> {
    fusion: Fusion,
    log_prior: Vec<f32, C>,
    modes: Vec<Reason, C>,
    any_boundary: bool,
}

impl<const C: usize> Scorer<C> {
    /// A scorer for labeled counts `counts` (trusted labels per class), the
    /// fusion weights (with no small model, only `a` is used) and `log pi`.
    pub fn new(config: &Config, counts: &[u32], fusion: Fusion, log_prior: &[f32]) -> Result<Self> {
        let classes = config.classes_within(C)?;
        for v in [counts.len(), log_prior.len()] {
            if v != classes {
                return Err(Error::ClassCountMismatch {
                    expected: classes as u32,
                    found: v as u32,
                });
            }
        }
        check_finite(0, log_prior, classes)?;
        if !(fusion.a.is_finite() && fusion.b.is_finite() && fusion.a >= 0.0 && fusion.b >= 0.0) {
            return Err(Error::InvalidConfig { field: "fusion" });
        }
        let mut modes = Vec::new();
        let mut lp = Vec::new();
        for c in 0..classes {
            let _ = modes.push(class_mode(counts[c], config.seed_min));
            let _ = lp.push(log_prior[c]);
        }
        let any_boundary = modes.contains(&Reason::Boundary);
        Ok(Scorer {
            fusion,
            log_prior: lp,
            modes,
            any_boundary,
        })
    }

    /// The mode of class `c`.
    pub fn mode(&self, c: usize) -> Reason {
        self.modes[c]
    }

    /// Whether any class needs small-model rows.
    pub fn needs_small_model(&self) -> bool {
        self.any_boundary
    }

    /// Writes the scores of one row (FM logits `fm`, small-model
    /// log-probabilities `sm`) into `out`. `row` only labels errors.
    pub fn score_row(
        &self,
        row: u64,
        fm: &[f32],
        sm: Option<&[f32]>,
        out: &mut [f32],
    ) -> Result<()> {
        let classes = self.modes.len();
        check_finite(row, fm, classes)?;
        if let Some(sm) = sm {
            check_log_probabilities(row, sm, classes)?;
        } else if self.any_boundary {
            return Err(Error::MissingSmallModel);
        }
        if out.len() != classes {
            return Err(Error::LengthMismatch {
                expected: classes,
                found: out.len(),
            });
        }
        self.score_row_unchecked(fm, sm, out);
        Ok(())
    }

    /// [`Scorer::score_row`] without the input checks, for hosts that have
    /// validated a whole block already. Same arithmetic, same bits.
    #[inline]
    pub fn score_row_unchecked(&self, fm: &[f32], sm: Option<&[f32]>, out: &mut [f32]) {
        // Seed scores for every class: softmax(z - log pi).
        fused_logits(fm, sm, self.fusion.a, self.fusion.b, out);
        let mut m = f32::NEG_INFINITY;
        for (o, &lp) in out.iter_mut().zip(self.log_prior.iter()) {
            *o -= lp;
            m = m.max(*o);
        }
        let s = exp_shifted_in_place(out, m);
        let inv = 1.0 / s;
        for o in out.iter_mut() {
            *o *= inv;
        }
        if let (true, Some(sm)) = (self.any_boundary, sm) {
            let top = top_two(sm);
            for (c, o) in out.iter_mut().enumerate() {
                if self.modes[c] == Reason::Boundary {
                    *o = boundary_score(sm, c, top);
                }
            }
        }
    }
}

impl<const C: usize> Scorer<C> {
    /// [`Scorer::score_row_unchecked`] for a block of rows in
    /// structure-of-arrays form (see [`crate::block`]): `fm[c][j]` is class
    /// `c` of row `j`, and so are `sm` and `out`. Every lane gets the bits
    /// its row would.
    ///
    /// ```
    /// use coselect_core::block::{Lanes, LANES};
    /// use coselect_core::{Config, Fusion, Scorer};
    /// let cfg = Config::new(2, 1)?;
    /// let scorer = Scorer::<2>::new(&cfg, &[0, 0], Fusion::default(), &[0.5f32.ln(); 2])?;
    /// let fm: [Lanes; 2] = [[3.0; LANES], [0.0; LANES]];
    /// let mut out = [[0.0; LANES]; 2];
    /// scorer.score_block_unchecked(&fm, None, &mut out);
    /// let mut row = [0.0; 2];
    /// scorer.score_row_unchecked(&[3.0, 0.0], None, &mut row);
    /// assert_eq!([out[0][7], out[1][7]], row);
    /// # Ok::<(), coselect_core::Error>(())
    /// ```
    #[inline(always)]
    pub fn score_block_unchecked(&self, fm: &[Lanes], sm: Option<&[Lanes]>, out: &mut [Lanes]) {
        let classes = self.modes.len();
        let out = &mut out[..classes];
        let (a, b) = (self.fusion.a, self.fusion.b);
        for (c, (o, x)) in out.iter_mut().zip(fm).enumerate() {
            let lp = self.log_prior[c];
            match sm {
                Some(sm) => {
                    let y = &sm[c];
                    for j in 0..LANES {
                        o[j] = a * x[j] + b * y[j] - lp;
                    }
                }
                None => {
                    for j in 0..LANES {
                        o[j] = a * x[j] - lp;
                    }
                }
            }
        }
        let m = block::max(out);
        let s = block::exp_shifted(out, &m);
        let inv = s.map(|s| 1.0 / s);
        for o in out.iter_mut() {
            for j in 0..LANES {
                o[j] *= inv[j];
            }
        }
        if let (true, Some(sm)) = (self.any_boundary, sm) {
            let top = block::top_two(&sm[..classes]);
            for (c, (o, row)) in out.iter_mut().zip(sm).enumerate() {
                if self.modes[c] == Reason::Boundary {
                    block::boundary_class(row, c, &top, o);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_boundary_matches_math() {
        let cfg = Config::new(3, 1).unwrap();
        let sm = [-0.3f32, -1.7, -2.9];
        let lse = crate::math::log_sum_exp(&sm, 1.0);
        let sm = sm.map(|v| v - lse);
        let sc = Scorer::<3>::new(&cfg, &[5, 5, 5], Fusion::default(), &[0.0; 3]).unwrap();
        let mut a = [0.0; 3];
        let mut b = [0.0; 3];
        sc.score_row(0, &[0.0; 3], Some(&sm), &mut a).unwrap();
        crate::math::boundary_scores(&sm, &mut b);
        assert_eq!(a, b);
    }
}
