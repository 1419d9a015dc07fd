//! The opaque selector handle: a round's selection state, fed in batches,
//! merged across threads, processes or machines, shipped as bytes.
//!
//! Lifecycle: `coselect_selector_new` (under a plan: config, trusted label
//! counts, calibration, log prior), any number of `coselect_selector_push`
//! and `coselect_selector_merge`, then `coselect_selector_finish`, which
//! keeps its results in the handle (so a caller with short buffers asks
//! again); `coselect_selector_free` always. The state of a handle that
//! failed a call is unchanged.

use coselect_core::{Pick, PseudoLabel};
use coselect_cpu::{PartialRound, RoundPlan};

use crate::coselect_status;
use crate::status::{guard, Failure};
use crate::types::{
    array, config, coselect_calibration, coselect_config, coselect_matrix, coselect_pick,
    coselect_pseudo_label, fill, matrix, put, required_matrix,
};

/// A selection in progress (opaque).
pub struct coselect_selector {
    state: Option<PartialRound>,
    /// Ids given to rows pushed without ids: positions in push order.
    next_id: u64,
    result: Option<(Vec<Pick>, Vec<PseudoLabel>)>,
}

fn handle<'a>(h: *mut coselect_selector) -> Result<&'a mut coselect_selector, Failure> {
    unsafe { h.as_mut() }.ok_or_else(|| Failure::null("selector"))
}

fn live(h: &mut coselect_selector) -> Result<&mut PartialRound, Failure> {
    h.state.as_mut().ok_or_else(|| {
        Failure::new(
            coselect_status::CoselectFinished,
            "the selector was finished; only coselect_selector_finish and coselect_selector_free apply",
        )
    })
}

fn boxed(state: PartialRound, out: *mut *mut coselect_selector) -> Result<(), Failure> {
    let h = Box::new(coselect_selector {
        state: Some(state),
        next_id: 0,
        result: None,
    });
    unsafe { put("out", out, Box::into_raw(h)) }
}

/// Creates a selector under a plan: the config, the trusted human label
/// count of each of `classes` classes, the calibration (`has_fusion` 1 when
/// rows will carry small-model log-probabilities) and `log_prior`, the log
/// of the pool's class prior (`classes` values; required when a class has
/// fewer than `seed_min` labels, else may be NULL). Writes the handle to
/// `*out`; free it with `coselect_selector_free`.
///
/// # Safety
/// Pointers are NULL or valid for the extents given.
///
/// ```
/// use coselect_ffi::*;
/// use std::ptr::{null, null_mut};
/// let mut cfg = std::mem::MaybeUninit::<coselect_config>::uninit();
/// unsafe { coselect_config_init(cfg.as_mut_ptr(), 2, 1) };
/// let cfg = unsafe { cfg.assume_init() };
/// let cal = coselect_calibration { temperature: 1.0, has_fusion: 0, fusion_a: 0.0, fusion_b: 0.0 };
/// let (counts, log_prior) = ([0u32, 0], [0.5f32.ln(); 2]);
/// let mut h = null_mut();
/// unsafe {
///     assert_eq!(coselect_selector_new(&cfg, counts.as_ptr(), 2, &cal, log_prior.as_ptr(), &mut h), coselect_status::CoselectOk);
///     let fm = [0.0f32, 2.0, 3.0, 0.0];
///     let m = coselect_matrix { data: fm.as_ptr(), rows: 2, cols: 2, row_stride: 0 };
///     let ids = [7u64, 9];
///     assert_eq!(coselect_selector_push(h, &m, null(), ids.as_ptr(), 2), coselect_status::CoselectOk);
///     let (mut pick, mut n, mut np) = (coselect_pick::default(), 0usize, 0usize);
///     assert_eq!(coselect_selector_finish(h, &mut pick, 1, &mut n, null_mut(), 0, &mut np), coselect_status::CoselectOk);
///     assert_eq!(n, 1);
///     coselect_selector_free(h);
/// }
/// ```
#[no_mangle]
pub unsafe extern "C" fn coselect_selector_new(
    cfg: *const coselect_config,
    counts: *const u32,
    classes: usize,
    calibration: *const coselect_calibration,
    log_prior: *const f32,
    out: *mut *mut coselect_selector,
) -> coselect_status {
    guard(|| {
        if out.is_null() {
            return Err(Failure::null("out"));
        }
        let cfg = unsafe { config(cfg) }?;
        let plan = unsafe { crate::types::plan(&cfg, counts, classes, calibration, log_prior) }?;
        boxed(PartialRound::new(&plan)?, out)
    })
}

/// Creates an empty selector under the plan a whole-pool round would fit
/// on this pool (as `coselect_select` does: calibration on the labeled
/// rows, the EM prior over every row), for callers that then stream the
/// unlabeled rows in batches or ship the empty state to shards
/// (`coselect_selector_to_bytes`). `labels` is one entry per row (-1
/// unlabeled) or NULL; `threads` 0 uses every core. No row is pushed.
///
/// # Safety
/// Pointers are NULL or valid for the extents their shapes claim.
#[no_mangle]
pub unsafe extern "C" fn coselect_selector_new_from_pool(
    cfg: *const coselect_config,
    fm: *const coselect_matrix,
    sm: *const coselect_matrix,
    labels: *const i64,
    n_labels: usize,
    threads: u32,
    out: *mut *mut coselect_selector,
) -> coselect_status {
    guard(|| {
        if out.is_null() {
            return Err(Failure::null("out"));
        }
        let cfg = unsafe { config(cfg) }?;
        let pool = unsafe { crate::round::pool(&cfg, fm, sm, labels, n_labels) }?;
        let plan = RoundPlan::fit(&pool, &cfg, crate::types::parallelism(threads))?;
        boxed(PartialRound::new(&plan)?, out)
    })
}

/// Scores a batch of unlabeled rows into the selector: FM scores `fm`, the
/// small model's log-probabilities `sm` (given exactly when the plan has
/// fusion weights, else NULL) and `ids` (`n_ids` = `fm->rows` ids, the
/// caller's names for the rows; or NULL with `n_ids` 0 to number rows by
/// push order from 0). A refused batch leaves the state unchanged.
///
/// # Safety
/// Pointers are NULL or valid for the extents their shapes claim.
#[no_mangle]
pub unsafe extern "C" fn coselect_selector_push(
    h: *mut coselect_selector,
    fm: *const coselect_matrix,
    sm: *const coselect_matrix,
    ids: *const u64,
    n_ids: usize,
) -> coselect_status {
    guard(|| {
        let h = handle(h)?;
        let fm = unsafe { required_matrix("fm", fm) }?;
        let sm = unsafe { matrix("sm", sm) }?;
        let rows = fm.rows() as u64;
        let owned: Vec<u64>;
        let ids = match ids.is_null() && n_ids == 0 {
            true => {
                owned = (h.next_id..h.next_id + rows).collect();
                &owned[..]
            }
            false => unsafe { array("ids", ids, n_ids) }?,
        };
        let start = h.next_id;
        live(h)?.push(&fm, sm.as_ref(), ids)?;
        h.next_id = start + rows;
        Ok(())
    })
}

/// Adds the rows of `other` (a selector under the same plan, left as it
/// is) to `h`. Shards must not share ids.
///
/// # Safety
/// Both handles are NULL or live; they may not be the same handle.
#[no_mangle]
pub unsafe extern "C" fn coselect_selector_merge(
    h: *mut coselect_selector,
    other: *const coselect_selector,
) -> coselect_status {
    guard(|| {
        if std::ptr::eq(h, other) {
            return Err(Failure::invalid("a selector cannot merge itself"));
        }
        let o = unsafe { other.as_ref() }.ok_or_else(|| Failure::null("other"))?;
        let o = o
            .state
            .as_ref()
            .ok_or_else(|| Failure::new(coselect_status::CoselectFinished, "other was finished"))?;
        live(handle(h)?)?.merge(o)?;
        Ok(())
    })
}

/// Rows pushed into the selector (over every merged state).
///
/// # Safety
/// `h` is NULL or live; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn coselect_selector_rows(
    h: *const coselect_selector,
    out: *mut u64,
) -> coselect_status {
    guard(|| {
        let h = unsafe { h.as_ref() }.ok_or_else(|| Failure::null("selector"))?;
        let n = match (&h.state, &h.result) {
            (Some(s), _) => s.rows(),
            _ => {
                return Err(Failure::new(
                    coselect_status::CoselectFinished,
                    "the selector was finished",
                ))
            }
        };
        unsafe { put("out", out, n) }
    })
}

/// Serialises the state (plan and kept entries, `O(classes x k)` bytes,
/// versioned and checksummed) into `buf` of `cap` bytes; `*len` receives
/// the size, and `COSELECT_BUFFER_TOO_SMALL` (with `*len` set) tells the
/// caller to retry with a larger buffer (`buf` may be NULL to ask).
///
/// # Safety
/// `buf` is NULL or writable for `cap` bytes; `len` is writable.
#[no_mangle]
pub unsafe extern "C" fn coselect_selector_to_bytes(
    h: *mut coselect_selector,
    buf: *mut u8,
    cap: usize,
    len: *mut usize,
) -> coselect_status {
    guard(|| {
        if len.is_null() {
            return Err(Failure::null("len"));
        }
        let bytes = live(handle(h)?)?.to_bytes();
        unsafe { copy_out(&bytes, buf, cap, len) }
    })
}

/// Writes `bytes` to a caller's buffer, or reports the size it needs.
///
/// # Safety
/// `buf` is NULL or writable for `cap` bytes; `len` is writable.
pub(crate) unsafe fn copy_out(
    bytes: &[u8],
    buf: *mut u8,
    cap: usize,
    len: *mut usize,
) -> Result<(), Failure> {
    unsafe { put("len", len, bytes.len()) }?;
    if bytes.len() > cap || buf.is_null() {
        return Err(Failure::new(
            coselect_status::CoselectBufferTooSmall,
            format!(
                "the state needs {} bytes, the buffer holds {cap}",
                bytes.len()
            ),
        ));
    }
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf, bytes.len()) };
    Ok(())
}

/// Reads a state written by `coselect_selector_to_bytes` into a new handle
/// at `*out`. Truncated, corrupt or foreign bytes are `COSELECT_CORRUPT`
/// (or `COSELECT_UNSUPPORTED_VERSION`), never a wrong selection.
///
/// # Safety
/// `bytes` is valid for `len` bytes; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn coselect_selector_from_bytes(
    bytes: *const u8,
    len: usize,
    out: *mut *mut coselect_selector,
) -> coselect_status {
    guard(|| {
        if out.is_null() {
            return Err(Failure::null("out"));
        }
        let b = unsafe { array("bytes", bytes, len) }?;
        boxed(PartialRound::from_bytes(b)?, out)
    })
}

/// Finishes the selection: the query batch in pick order into `picks` (at
/// most `k`), the co-decided pseudo-labels into `pseudo` (NULL with cap 0
/// to skip them), counts into `n_picks`, `n_pseudo`. The results stay in
/// the handle: after `COSELECT_BUFFER_TOO_SMALL` (counts hold the sizes
/// needed) call again with larger buffers. Push and merge are refused
/// afterwards.
///
/// # Safety
/// Buffers are NULL or writable for their caps; counts are writable.
#[no_mangle]
pub unsafe extern "C" fn coselect_selector_finish(
    h: *mut coselect_selector,
    picks: *mut coselect_pick,
    picks_cap: usize,
    n_picks: *mut usize,
    pseudo: *mut coselect_pseudo_label,
    pseudo_cap: usize,
    n_pseudo: *mut usize,
) -> coselect_status {
    guard(|| {
        let h = handle(h)?;
        if n_picks.is_null() || n_pseudo.is_null() {
            return Err(Failure::null("n_picks or n_pseudo"));
        }
        if h.result.is_none() {
            // Finishing consumes the state; a failure (an empty pool, k
            // above the rows) must leave it usable, so finish a copy.
            let state = live(h)?;
            let copy = PartialRound::from_bytes(&state.to_bytes())?;
            h.result = Some(copy.finish()?);
            h.state = None;
        }
        let (q, p) = h.result.as_ref().expect("set above");
        let a = unsafe { fill("picks", q, picks, picks_cap, n_picks) };
        let b = unsafe { fill("pseudo", p, pseudo, pseudo_cap, n_pseudo) };
        a.and(b)
    })
}

/// Frees a selector; NULL is a no-op.
///
/// # Safety
/// `h` is NULL or a handle from this library not yet freed.
#[no_mangle]
pub unsafe extern "C" fn coselect_selector_free(h: *mut coselect_selector) {
    if !h.is_null() {
        // Dropping plain Rust values cannot panic; the guard is for the
        // rule that no export unwinds.
        let _ = guard(|| {
            drop(unsafe { Box::from_raw(h) });
            Ok(())
        });
    }
}
