//! # coselect-cuda
//!
//! coselect's scoring and selection pass on an NVIDIA GPU, for pools whose
//! FM scores and small-model log-probabilities already live on the device
//! (PyTorch or CuPy tensors pass by address, without a copy).
//!
//! One round, as [`Gpu::select_on_device`] runs it on the caller's stream:
//! 1. a scoring kernel reads each row once (f32, f16 or bf16) and writes its
//!    per-class scores with the core's formulas (seed score in seed-mode
//!    classes, boundary score in boundary-mode ones) as order-preserving
//!    keys, and its co-decision candidacy and confidence, counting the
//!    per-class candidates that set the FlexMatch thresholds;
//! 2. a batched radix select (11-bit digit histograms per class, candidate
//!    filtering, as in AIR top-k / RAFT `select_k`) keeps the best `k` rows
//!    of every class, and the best `cap` candidates of every class for the
//!    pseudo-labels;
//! 3. the host sorts those short lists and calls the core's
//!    [`coselect_core::round_robin`] and
//!    [`coselect_core::flexmatch_thresholds`], so the selection rule exists
//!    once for every backend.
//!
//! The calibration fit and the EM prior stay on the host (they read the few
//! labeled rows, or need several passes): [`RoundParams`] carries their
//! results, which the CPU host's `RoundResult` reports.
//!
//! **Parity with the CPU host.** The kernels use the core's operation order
//! without fused multiply-adds; only `expf`/`logf` may differ from `libm` by
//! an ulp or two. The selection is therefore the CPU host's, index for
//! index, whenever no two scores at a class's cut lie within 1e-6 of each
//! other (see [`parity`]).
//!
//! Without a CUDA driver every entry point returns [`Error::Unavailable`];
//! nothing panics.
//!
//! ```
//! use coselect_core::Config;
//! use coselect_cuda::{Error, Gpu, HostMatrix, RoundParams};
//! let fm = [4.0f32, 0.0, 0.0, 0.0, 4.0, 0.0, 3.5, 0.5, 0.0, 0.0, 0.0, 4.0, 3.0, 1.0, 0.0];
//! let params = RoundParams::first_round(Config::new(3, 3)?);
//! match Gpu::new(0) {
//!     Ok(gpu) => {
//!         let sel = gpu.select(HostMatrix::f32(&fm, 5, 3)?, None, None, &params)?;
//!         let mut classes: Vec<u32> = sel.queries.iter().map(|p| p.class).collect();
//!         classes.sort();
//!         assert_eq!(classes, [0, 1, 2]);
//!     }
//!     Err(Error::Unavailable { reason }) => println!("SKIPPED: {reason}"),
//!     Err(e) => return Err(e.into()),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

mod available;
mod checks;
mod compile;
mod device;
mod error;
mod finish;
mod inputs;
pub mod parity;
mod radix;
mod round;

pub use available::{driver_available, nvrtc_available};
pub use checks::{check_inputs, MAX_CLASSES, MAX_ROWS};
pub use compile::{compile_options, compile_source, Compiled, KernelSource, SOURCES};
pub use device::Gpu;
pub use error::{Error, Result};
pub use inputs::{DType, DeviceMatrix, HostMatrix, RoundParams, Selection};
