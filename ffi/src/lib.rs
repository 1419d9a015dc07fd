//! # coselect-ffi
//!
//! The C ABI of coselect, for C and C++ training frameworks and for the
//! Python package (ctypes). The header is `ffi/include/coselect.h`,
//! generated from this crate by cbindgen and checked by a test.
//!
//! Conventions, the same for every function:
//! - the return value is a [`coselect_status`]: `COSELECT_OK` (0) or the
//!   kind of failure; [`coselect_last_error`] gives the message (the input,
//!   row and column) for the calling thread;
//! - nothing aborts or unwinds into the caller: every export catches
//!   panics (`COSELECT_INTERNAL`), checks every pointer (NULL, alignment,
//!   the extent its shape claims) before reading it, and validates every
//!   value (NaN, Inf, shapes, k, labels) with the same checks as the Rust
//!   API;
//! - outputs go to caller-owned buffers with a capacity; a short buffer is
//!   `COSELECT_BUFFER_TOO_SMALL` with the needed size written back;
//! - a refused call leaves its outputs and handles as they were;
//! - `*_free(NULL)` is a no-op.
//!
//! Two ways to select:
//! - [`coselect_select`]: one round over a pool in memory, exactly
//!   `coselect select` (calibration, prior, selection, pseudo-labels);
//! - the [`coselect_selector`] handle: a plan, rows pushed in batches with
//!   the caller's ids, states merged and shipped as bytes, for pools that
//!   are streamed or sharded; with [`coselect_prior`], the EM prior of such
//!   a pool, pass by pass over its shards.
//!
//! ```
//! use coselect_ffi::*;
//! use std::ptr::{null, null_mut};
//! let mut cfg = std::mem::MaybeUninit::<coselect_config>::uninit();
//! assert_eq!(unsafe { coselect_config_init(cfg.as_mut_ptr(), 3, 3) }, coselect_status::CoselectOk);
//! let cfg = unsafe { cfg.assume_init() };
//! // Round 0 of a 5-row, 3-class pool: FM logits only.
//! let fm = [4.0f32, 0.0, 0.0, 0.0, 4.0, 0.0, 3.5, 0.5, 0.0, 0.0, 0.0, 4.0, 3.0, 1.0, 0.0];
//! let m = coselect_matrix { data: fm.as_ptr(), rows: 5, cols: 3, row_stride: 0 };
//! let mut picks = [coselect_pick::default(); 3];
//! let (mut n, mut np) = (0usize, 0usize);
//! let s = unsafe {
//!     coselect_select(&cfg, &m, null(), null(), 0, 1, picks.as_mut_ptr(), 3, &mut n, null_mut(), 0, &mut np, null_mut())
//! };
//! assert_eq!(s, coselect_status::CoselectOk);
//! let mut classes: Vec<u32> = picks[..n].iter().map(|p| p.class_id).collect();
//! classes.sort();
//! assert_eq!(classes, [0, 1, 2]); // one seed per class
//! ```
#![warn(missing_docs)]
#![allow(non_camel_case_types)]

mod cuda;
mod prior;
mod round;
mod selector;
mod status;
mod types;

pub use cuda::{
    coselect_cuda_select, coselect_device_matrix, COSELECT_DTYPE_BF16, COSELECT_DTYPE_F16,
    COSELECT_DTYPE_F32,
};
pub use prior::{
    coselect_prior, coselect_prior_end_pass, coselect_prior_free, coselect_prior_from_bytes,
    coselect_prior_log_prior, coselect_prior_merge, coselect_prior_new, coselect_prior_push,
    coselect_prior_to_bytes,
};
pub use round::{
    coselect_abi_version, coselect_config_init, coselect_decision_bias, coselect_fit_calibration,
    coselect_judge_labels, coselect_select, coselect_version, COSELECT_ABI_VERSION,
};
pub use selector::{
    coselect_selector, coselect_selector_finish, coselect_selector_free,
    coselect_selector_from_bytes, coselect_selector_merge, coselect_selector_new,
    coselect_selector_new_from_pool, coselect_selector_push, coselect_selector_rows,
    coselect_selector_to_bytes,
};
pub use status::{coselect_last_error, coselect_status, coselect_status_name};
pub use types::{
    coselect_calibration, coselect_config, coselect_matrix, coselect_pick, coselect_pseudo_label,
    coselect_verdict, COSELECT_CONFIG_VERSION, COSELECT_REASON_BOUNDARY, COSELECT_REASON_SEED,
};
