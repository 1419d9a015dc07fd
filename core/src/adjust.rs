//! The deployed small model's decision for balanced accuracy: a post-hoc
//! logit adjustment by the model's own class marginal on the pool.
//!
//! A model trained on a class-imbalanced pool leans toward the classes the
//! pool is full of, even with class-weighted training when a prior holds its
//! weights near the FM's readout. Balanced accuracy (the mean per-class
//! recall) asks for `argmax_c p(c | x) / pi_c`, with `pi` the prior the model
//! learnt (Menon et al., "Long-tail learning via logit adjustment", 2021).
//! Here `pi` is the model's mean posterior over the pool, which is the first
//! EM step of [`crate::PriorEm`] from the uniform prior on the model's
//! posteriors, and the adjustment is tempered: the decision is
//! `argmax_c log p(c | x) - tau log pi_c`.
//!
//! Only the decision moves; the posterior that selection, co-decision and
//! calibration read is the model's own (docs/method.md, session 9: on long
//! tail 50 clean at 600 labels, 0.617 balanced accuracy without the
//! adjustment, 0.629 with it on the decision alone, 0.618 when the queries
//! also read the adjusted posterior).
//!
//! ```
//! use coselect_core::{logit_adjustment, math, Config, PriorEm};
//! // A pool the model sees as 90% class 0.
//! let rows = [0.95f32, 0.05, 0.9, 0.1, 0.85, 0.15, 0.2, 0.8];
//! let cfg = Config::new(2, 1)?;
//! let mut em = PriorEm::<2>::new(&cfg)?;
//! em.push_rows(0, &rows)?;
//! em.end_pass()?; // one pass: the model's mean posterior
//! let mut bias = [0.0f32; 2];
//! logit_adjustment(em.prior(), 0.5, &mut bias)?;
//! assert!(bias[1] > bias[0]); // the class the pool has less of gains
//! // A row the model gives 0.55 / 0.45 now decides for class 1.
//! let lp = [0.55f32.ln() + bias[0], 0.45f32.ln() + bias[1]];
//! assert_eq!(math::argmax(&lp), 1);
//! # Ok::<(), coselect_core::Error>(())
//! ```

use crate::error::{Error, Result};

/// The strength `tau` measured best for the simulator's deployed model
/// (docs/method.md, session 9): 0.5, between no adjustment (0) and the full
/// prior correction (1), which over-corrects a model trained with class
/// weights.
pub const DEFAULT_LOGIT_ADJUSTMENT: f32 = 0.5;

/// Writes the per-class decision bias `-tau ln(prior[c])`: add it to a row's
/// log-probabilities (or logits) and take the argmax. `prior` is the model's
/// class marginal on the pool (each entry positive and finite; they need not
/// sum to one, a constant shift changes no argmax). `tau = 0` gives zeros.
///
/// Errors: `tau` negative or not finite ([`Error::InvalidConfig`]), `out`
/// not as long as `prior`, fewer than two classes, a negative entry
/// ([`Error::NegativeProbability`]) or one that is zero or not finite
/// ([`Error::NonFinite`], row 0 and the class as column).
///
/// ```
/// use coselect_core::{logit_adjustment, Error};
/// let mut b = [0.0f32; 2];
/// logit_adjustment(&[0.5, 0.5], 1.0, &mut b)?;
/// assert!((b[0] - 0.5f32.ln().abs()).abs() < 1e-6 && b[0] == b[1]);
/// assert!(logit_adjustment(&[0.5, 0.0], 1.0, &mut b).is_err());
/// assert!(logit_adjustment(&[0.5, 0.5], f32::NAN, &mut b).is_err());
/// # Ok::<(), Error>(())
/// ```
pub fn logit_adjustment(prior: &[f64], tau: f32, out: &mut [f32]) -> Result<()> {
    if !(tau.is_finite() && tau >= 0.0) {
        return Err(Error::InvalidConfig {
            field: "logit_adjustment",
        });
    }
    if out.len() != prior.len() {
        return Err(Error::LengthMismatch {
            expected: prior.len(),
            found: out.len(),
        });
    }
    if prior.len() < 2 {
        return Err(Error::InvalidClassCount {
            classes: prior.len() as u32,
        });
    }
    for (c, &p) in prior.iter().enumerate() {
        let col = c as u32;
        if p < 0.0 {
            return Err(Error::NegativeProbability { row: 0, col });
        }
        // A zero has no finite logarithm: its bias would be infinite.
        if !(p.is_finite() && p > 0.0) {
            return Err(Error::NonFinite { row: 0, col });
        }
    }
    for (o, &p) in out.iter_mut().zip(prior) {
        // `+ 0.0` keeps tau = 0 at +0.0 rather than -0.0 for p > 1.
        *o = (-(tau as f64) * libm::log(p)) as f32 + 0.0;
    }
    Ok(())
}
