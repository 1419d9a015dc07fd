//! # coselect-cpu
//!
//! coselect on the CPU: one labeling round over a pool of millions of rows,
//! multi-threaded, from memory or memory-mapped `.npy` files.
//!
//! Every formula is the core's ([`coselect_core`]): this crate reads the
//! inputs, splits the pool into chunks over worker threads, keeps one
//! partial state per worker (bounded per-class lists, EM sums) and merges
//! them. The merges are exact, so the selection is the one the core's
//! single-threaded [`coselect_core::Selector`] makes, for every thread
//! count and chunk size.
//!
//! ```
//! use coselect_core::Config;
//! use coselect_cpu::{run_round, Labels, Matrix, Parallelism, Pool};
//! // 6 rows, 2 classes: FM logits, small-model log-probabilities, labels.
//! let fm = [3.0f32, 0.0, 0.0, 3.0, 2.0, 0.5, 0.4, 0.6, 2.5, 0.0, 0.0, 1.0];
//! let p = |x: f32| [x.ln(), (1.0 - x).ln()];
//! let sm: Vec<f32> = [0.9, 0.2, 0.8, 0.5, 0.95, 0.45].iter().flat_map(|&x| p(x)).collect();
//! let labels = Labels::new("labels", [0i64, 1, -1, -1, -1, -1], 2)?;
//! let pool = Pool::new(
//!     Matrix::f32("fm", &fm, 6, 2)?,
//!     Some(Matrix::f32("sm", &sm, 6, 2)?),
//!     Some(labels),
//! )?;
//! let cfg = Config::new(2, 2)?;
//! let round = run_round(&pool, &cfg, Parallelism { threads: 2, chunk_rows: 2, ..Default::default() })?;
//! assert_eq!(round.queries.len(), 2);
//! // Row 4: both models say class 0 with confidence, no human needed.
//! assert!(round.pseudo_labels.iter().any(|p| p.index == 4 && p.class == 0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]
#![deny(unsafe_code)]

mod calibration;
mod decision;
mod error;
mod heaps;
mod labels;
mod matrix;
#[allow(unsafe_code)] // the memory map, and only that
pub mod npy;
pub mod output;
mod parallel;
mod partial;
mod plan;
mod prior;
mod round;
mod wire;

pub use calibration::{Calibration, CALIBRATION_ROWS};
pub use decision::decision_bias;
pub use error::{BadValue, Error, NpyError, Result};
pub use heaps::{MAX_BUDGET, MAX_CLASSES};
pub use labels::Labels;
pub use matrix::Matrix;
pub use parallel::Parallelism;
pub use partial::{PartialRound, PARTIAL_VERSION};
pub use plan::RoundPlan;
pub use prior::{PriorEstimate, PriorShard, PRIOR_SHARD_VERSION};
pub use round::{reason_word, run_round, Pool, RoundResult};
