//! # coselect-core
//!
//! The `no_std`, allocation-free core of coselect: every per-row and
//! per-class formula of active learning with foundation-model priors under
//! class imbalance.
//!
//! A labeling round, as a host drives it:
//! 1. **Prior labeling.** Estimate the pool's class prior with [`PriorEm`]
//!    (row by row, in as many chunks as the pool arrives in), and calibrate
//!    the FM's temperature on the trusted labels with [`fit_temperature`].
//! 2. **Co-decision.** Once a small model exists, [`CoDecider`] accepts the
//!    rows where the FM and the small model agree confidently, as
//!    pseudo-labels that need no human; [`fit_fusion`] weighs the two
//!    models; [`judge_label`] flags human labels both models contradict.
//! 3. **Query selection.** [`Scorer`] gives each unlabeled row one score per
//!    class (the FM-informed seed score for classes with too few labels, the
//!    small model's boundary score otherwise); [`Selector`] keeps the best
//!    `k` per class in bounded heaps, merges partial states exactly, and
//!    `finish`es with water-filled quotas and a round-robin.
//! 4. **Deployment.** The refit small model decides for balanced accuracy
//!    with [`logit_adjustment`]: its log-probabilities plus a per-class bias
//!    from its own class marginal on the pool (one [`PriorEm`] pass).
//!
//! Every structure has a const-generic capacity (`C` classes, `K` budget,
//! `N` pseudo-labels per class) and lives wherever the caller puts it: on an
//! MCU's stack, in a static, or boxed by a host. Nothing panics on bad input:
//! each call returns [`Error`].
//!
//! ```
//! use coselect_core::{Config, Fusion, Pick, PriorEm, Scorer, Selector};
//! // Round 0 of a 3-class pool of 5 rows: FM logits only.
//! let fm = [4.0f32, 0.0, 0.0, 0.0, 4.0, 0.0, 3.5, 0.5, 0.0, 0.0, 0.0, 4.0, 3.0, 1.0, 0.0];
//! let cfg = Config::new(3, 3)?;
//! let mut em = PriorEm::<3>::new(&cfg)?;
//! let mut p = [0.0f32; 3];
//! while !em.is_done() {
//!     for (i, row) in fm.chunks(3).enumerate() {
//!         coselect_core::math::fused_softmax(row, None, 1.0, 0.0, &mut p);
//!         em.push(i as u64, &p)?;
//!     }
//!     em.end_pass()?;
//! }
//! let mut log_pi = [0.0f32; 3];
//! em.log_prior(&mut log_pi)?;
//! let counts = [0, 0, 0];
//! let scorer = Scorer::<3>::new(&cfg, &counts, Fusion::default(), &log_pi)?;
//! let mut sel = Selector::<3, 3>::new(&cfg, &counts)?;
//! for (i, row) in fm.chunks(3).enumerate() {
//!     sel.push_row(&scorer, i as u64, row, None)?;
//! }
//! let mut picks = [Pick::default(); 3];
//! sel.finish(&mut picks)?;
//! let mut classes: Vec<u32> = picks.iter().map(|p| p.class).collect();
//! classes.sort();
//! assert_eq!(classes, [0, 1, 2]); // one seed per class
//! # Ok::<(), coselect_core::Error>(())
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod adjust;
pub mod block;
mod calibrate;
mod codec;
mod codecide;
mod config;
mod error;
pub mod math;
mod prior;
pub mod quota;
mod score;
mod select;
mod topk;
mod trust;

pub use adjust::{logit_adjustment, DEFAULT_LOGIT_ADJUSTMENT};
pub use calibrate::{fit_fusion, fit_temperature, CalibrationRows, Fusion};
pub use codecide::{candidacy, candidacy_unchecked, flexmatch_thresholds, CoDecider, PseudoLabel};
pub use config::{Config, CONFIG_VERSION, MAX_CLASSES};
pub use error::{Error, Result};
pub use prior::{PriorEm, PRIOR_VERSION};
pub use score::{class_mode, Reason, Scorer};
pub use select::{round_robin, Pick, Selector, SELECTOR_VERSION};
pub use topk::{BoundedTopK, Entry};
pub use trust::{judge_label, Verdict};
