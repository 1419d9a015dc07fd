//! The EM prior over a sharded pool: an opaque handle whose state ships as
//! bytes. One pass: the driver's bytes go to every shard
//! (`coselect_prior_from_bytes`), each pushes its rows, the shards' bytes
//! come back and merge into the driver's handle, and the driver ends the
//! pass; repeat until `coselect_prior_end_pass` reports done. The result is
//! bit-identical to the prior `coselect_select` fits on the whole pool.

use coselect_cpu::PriorShard;

use crate::coselect_status;
use crate::status::{guard, Failure};
use crate::types::{
    array, config, coselect_calibration, coselect_config, coselect_matrix, matrix, put,
    required_matrix,
};

/// An EM pass over part of a pool (opaque).
pub struct coselect_prior {
    shard: PriorShard,
}

fn handle<'a>(h: *mut coselect_prior) -> Result<&'a mut coselect_prior, Failure> {
    unsafe { h.as_mut() }.ok_or_else(|| Failure::null("prior"))
}

fn boxed(shard: PriorShard, out: *mut *mut coselect_prior) -> Result<(), Failure> {
    unsafe {
        put(
            "out",
            out,
            Box::into_raw(Box::new(coselect_prior { shard })),
        )
    }
}

/// Starts EM from the uniform prior, for rows fused with `calibration`
/// (`has_fusion` 1 when rows carry small-model log-probabilities).
///
/// # Safety
/// Pointers are NULL or valid.
///
/// ```
/// use coselect_ffi::*;
/// use std::ptr::{null, null_mut};
/// let mut cfg = std::mem::MaybeUninit::<coselect_config>::uninit();
/// unsafe { coselect_config_init(cfg.as_mut_ptr(), 2, 1) };
/// let cfg = unsafe { cfg.assume_init() };
/// let cal = coselect_calibration { temperature: 1.0, has_fusion: 0, fusion_a: 0.0, fusion_b: 0.0 };
/// let fm = [3.0f32, 0.0, 2.0, 0.0, 0.0, 3.0];
/// let m = coselect_matrix { data: fm.as_ptr(), rows: 3, cols: 2, row_stride: 0 };
/// let (mut h, mut done, mut log_prior) = (null_mut(), 0u32, [0.0f32; 2]);
/// unsafe {
///     assert_eq!(coselect_prior_new(&cfg, &cal, &mut h), coselect_status::CoselectOk);
///     while done == 0 {
///         assert_eq!(coselect_prior_push(h, &m, null()), coselect_status::CoselectOk);
///         assert_eq!(coselect_prior_end_pass(h, &mut done), coselect_status::CoselectOk);
///     }
///     assert_eq!(coselect_prior_log_prior(h, log_prior.as_mut_ptr(), 2), coselect_status::CoselectOk);
///     coselect_prior_free(h);
/// }
/// assert!(log_prior[0] > log_prior[1]);
/// ```
#[no_mangle]
pub unsafe extern "C" fn coselect_prior_new(
    cfg: *const coselect_config,
    calibration: *const coselect_calibration,
    out: *mut *mut coselect_prior,
) -> coselect_status {
    guard(|| {
        if out.is_null() {
            return Err(Failure::null("out"));
        }
        let cfg = unsafe { config(cfg) }?;
        let cal = unsafe { crate::types::calibration(calibration) }?;
        boxed(PriorShard::new(&cfg, cal)?, out)
    })
}

/// Accumulates a batch of rows (every row of the pool, labeled ones too):
/// FM scores and, when the calibration has fusion weights, the small
/// model's log-probabilities (else NULL). A refused batch changes nothing.
///
/// # Safety
/// Pointers are NULL or valid for the extents their shapes claim.
#[no_mangle]
pub unsafe extern "C" fn coselect_prior_push(
    h: *mut coselect_prior,
    fm: *const coselect_matrix,
    sm: *const coselect_matrix,
) -> coselect_status {
    guard(|| {
        let h = handle(h)?;
        let fm = unsafe { required_matrix("fm", fm) }?;
        let sm = unsafe { matrix("sm", sm) }?;
        Ok(h.shard.push(&fm, sm.as_ref())?)
    })
}

/// Adds the pass sums of `other` (a shard started from the same state).
///
/// # Safety
/// Both handles are NULL or live, and distinct.
#[no_mangle]
pub unsafe extern "C" fn coselect_prior_merge(
    h: *mut coselect_prior,
    other: *const coselect_prior,
) -> coselect_status {
    guard(|| {
        if std::ptr::eq(h, other) {
            return Err(Failure::invalid("a prior cannot merge itself"));
        }
        let o = unsafe { other.as_ref() }.ok_or_else(|| Failure::null("other"))?;
        Ok(handle(h)?.shard.merge(&o.shard)?)
    })
}

/// Ends the pass: updates the prior; `*done` is 1 when EM has converged or
/// reached `em_max_iterations`, else 0.
///
/// # Safety
/// `h` is NULL or live; `done` is writable.
#[no_mangle]
pub unsafe extern "C" fn coselect_prior_end_pass(
    h: *mut coselect_prior,
    done: *mut u32,
) -> coselect_status {
    guard(|| {
        if done.is_null() {
            return Err(Failure::null("done"));
        }
        let d = handle(h)?.shard.end_pass()?;
        unsafe { put("done", done, d as u32) }
    })
}

/// Writes `log pi` (`classes` floats) into `out`, the form
/// `coselect_selector_new` takes.
///
/// # Safety
/// `out` is writable for `n` floats.
#[no_mangle]
pub unsafe extern "C" fn coselect_prior_log_prior(
    h: *mut coselect_prior,
    out: *mut f32,
    n: usize,
) -> coselect_status {
    guard(|| {
        let lp = handle(h)?.shard.log_prior();
        if n != lp.len() {
            return Err(Failure::new(
                coselect_status::CoselectShapeMismatch,
                format!("out holds {n} floats, the prior has {} classes", lp.len()),
            ));
        }
        unsafe { array("out", out as *const f32, n) }?;
        unsafe { std::ptr::copy_nonoverlapping(lp.as_ptr(), out, n) };
        Ok(())
    })
}

/// Serialises the state (checksummed) into `buf` of `cap` bytes; `*len`
/// receives the size, `COSELECT_BUFFER_TOO_SMALL` asks for a larger buffer.
///
/// # Safety
/// `buf` is NULL or writable for `cap` bytes; `len` is writable.
#[no_mangle]
pub unsafe extern "C" fn coselect_prior_to_bytes(
    h: *mut coselect_prior,
    buf: *mut u8,
    cap: usize,
    len: *mut usize,
) -> coselect_status {
    guard(|| {
        if len.is_null() {
            return Err(Failure::null("len"));
        }
        let bytes = handle(h)?.shard.to_bytes();
        unsafe { crate::selector::copy_out(&bytes, buf, cap, len) }
    })
}

/// Reads a state written by `coselect_prior_to_bytes` into a new handle.
///
/// # Safety
/// `bytes` is valid for `len` bytes; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn coselect_prior_from_bytes(
    bytes: *const u8,
    len: usize,
    out: *mut *mut coselect_prior,
) -> coselect_status {
    guard(|| {
        if out.is_null() {
            return Err(Failure::null("out"));
        }
        let b = unsafe { array("bytes", bytes, len) }?;
        boxed(PriorShard::from_bytes(b)?, out)
    })
}

/// Frees a prior; NULL is a no-op.
///
/// # Safety
/// `h` is NULL or a handle from this library not yet freed.
#[no_mangle]
pub unsafe extern "C" fn coselect_prior_free(h: *mut coselect_prior) {
    if !h.is_null() {
        let _ = guard(|| {
            drop(unsafe { Box::from_raw(h) });
            Ok(())
        });
    }
}
