//! Status codes, the thread-local last-error message, and the guard every
//! export runs its body in.
//!
//! A C caller cannot receive a Rust error or survive an unwinding panic, so
//! every export returns a [`coselect_status`] and keeps the words for the
//! same thread to read with [`coselect_last_error`]. A panic (a bug, never
//! an input) is caught and reported as [`coselect_status::CoselectInternal`].

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What a call did. `COSELECT_OK` (0) is success; every other value names
/// the kind of failure, and `coselect_last_error()` gives the details (the
/// input, row and column).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum coselect_status {
    /// Success.
    CoselectOk = 0,
    /// A required pointer was NULL.
    CoselectNullPointer = 1,
    /// An argument is out of its domain: a config field, a stride shorter
    /// than the row, a misaligned buffer, a wrong struct version.
    CoselectInvalidArgument = 2,
    /// A NaN or infinity in an input.
    CoselectNonFinite = 3,
    /// Probabilities or log-probabilities that do not sum to 1, or a
    /// negative probability.
    CoselectNotNormalized = 4,
    /// Two inputs whose shapes disagree (rows, classes, ids).
    CoselectShapeMismatch = 5,
    /// A label that is not a class index (or -1 for unlabeled).
    CoselectLabelOutOfRange = 6,
    /// No unlabeled row to select from.
    CoselectEmptyPool = 7,
    /// The budget k exceeds the unlabeled rows.
    CoselectBudgetExceedsPool = 8,
    /// An output buffer is too small; the length out-parameter holds the
    /// size needed.
    CoselectBufferTooSmall = 9,
    /// Bytes written by an unsupported version.
    CoselectUnsupportedVersion = 10,
    /// Truncated or corrupt bytes.
    CoselectCorrupt = 11,
    /// Two selector states built under different plans.
    CoselectStateMismatch = 12,
    /// A class is queried on the small model's boundary but no small-model
    /// rows were given.
    CoselectMissingSmallModel = 13,
    /// A size beyond what the library supports (classes, k, pseudo cap).
    CoselectTooLarge = 14,
    /// The selector was finished; it only returns its results now.
    CoselectFinished = 15,
    /// A backend is missing: the library was built without the `cuda`
    /// feature, or the CUDA driver, NVRTC or the device is absent.
    CoselectUnavailable = 16,
    /// A bug in coselect (a caught panic). Please report it.
    CoselectInternal = 99,
}

/// A failed call: its status and its message.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: coselect_status,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(status: coselect_status, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn null(what: &str) -> Failure {
        Failure::new(
            coselect_status::CoselectNullPointer,
            format!("{what} is NULL"),
        )
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Failure {
        Failure::new(coselect_status::CoselectInvalidArgument, message)
    }
}

/// The status of each core error kind.
pub(crate) fn core_status(e: &coselect_core::Error) -> coselect_status {
    use coselect_core::Error as E;
    use coselect_status as S;
    match e {
        E::NonFinite { .. } => S::CoselectNonFinite,
        E::NotNormalized { .. } | E::NegativeProbability { .. } => S::CoselectNotNormalized,
        E::ClassCountMismatch { .. } | E::LengthMismatch { .. } => S::CoselectShapeMismatch,
        E::CapacityExceeded { .. } => S::CoselectTooLarge,
        E::EmptyPool => S::CoselectEmptyPool,
        E::BudgetExceedsPool { .. } => S::CoselectBudgetExceedsPool,
        E::LabelOutOfRange { .. } => S::CoselectLabelOutOfRange,
        E::UnsupportedVersion { .. } => S::CoselectUnsupportedVersion,
        E::Corrupt => S::CoselectCorrupt,
        E::BufferTooSmall => S::CoselectBufferTooSmall,
        E::StateMismatch => S::CoselectStateMismatch,
        E::MissingSmallModel => S::CoselectMissingSmallModel,
        _ => S::CoselectInvalidArgument,
    }
}

impl From<coselect_core::Error> for Failure {
    fn from(e: coselect_core::Error) -> Failure {
        Failure::new(core_status(&e), e.to_string())
    }
}

impl From<coselect_cpu::Error> for Failure {
    fn from(e: coselect_cpu::Error) -> Failure {
        use coselect_cpu::Error as E;
        use coselect_status as S;
        let status = match &e {
            E::NonFinite { .. } => S::CoselectNonFinite,
            E::NotLogProbabilities { .. } => S::CoselectNotNormalized,
            E::ShapeMismatch { .. } => S::CoselectShapeMismatch,
            E::BadBuffer { .. } => S::CoselectInvalidArgument,
            E::LabelOutOfRange { .. } => S::CoselectLabelOutOfRange,
            E::MissingSmallModel { .. } => S::CoselectMissingSmallModel,
            E::TooLarge { .. } => S::CoselectTooLarge,
            E::Core { reason, .. } => core_status(reason),
            _ => S::CoselectInvalidArgument,
        };
        Failure::new(status, e.to_string())
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    // An interior NUL would truncate the C string; it cannot come from our
    // messages, but a file name could carry one.
    let clean = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = clean);
}

/// Runs an export's body: records the failure's message, turns a panic
/// into `COSELECT_INTERNAL`, and clears the message on success.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Failure>) -> coselect_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {
            set_last_error("");
            coselect_status::CoselectOk
        }
        Ok(Err(f)) => {
            set_last_error(&f.message);
            f.status
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            set_last_error(&format!("internal error (please report): {what}"));
            coselect_status::CoselectInternal
        }
    }
}

/// The message of the last call that failed on this thread ("" after a
/// success). The pointer stays valid until the next coselect call on the
/// same thread; copy the string to keep it.
///
/// ```
/// use coselect_ffi::*;
/// let s = unsafe { coselect_config_init(std::ptr::null_mut(), 3, 4) };
/// assert_eq!(s, coselect_status::CoselectNullPointer);
/// let msg = unsafe { std::ffi::CStr::from_ptr(coselect_last_error()) };
/// assert_eq!(msg.to_str().unwrap(), "config is NULL");
/// ```
#[no_mangle]
pub extern "C" fn coselect_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// The name of a status code, e.g. "COSELECT_NON_FINITE", as a static
/// string; "COSELECT_UNKNOWN" for a value that is not a status. Takes an
/// `int32_t` so any value a caller holds is safe to pass.
///
/// ```
/// use coselect_ffi::*;
/// let n = unsafe { std::ffi::CStr::from_ptr(coselect_status_name(11)) };
/// assert_eq!(n.to_str().unwrap(), "COSELECT_CORRUPT");
/// ```
#[no_mangle]
pub extern "C" fn coselect_status_name(status: i32) -> *const c_char {
    let s: &'static [u8] = match status {
        0 => b"COSELECT_OK\0",
        1 => b"COSELECT_NULL_POINTER\0",
        2 => b"COSELECT_INVALID_ARGUMENT\0",
        3 => b"COSELECT_NON_FINITE\0",
        4 => b"COSELECT_NOT_NORMALIZED\0",
        5 => b"COSELECT_SHAPE_MISMATCH\0",
        6 => b"COSELECT_LABEL_OUT_OF_RANGE\0",
        7 => b"COSELECT_EMPTY_POOL\0",
        8 => b"COSELECT_BUDGET_EXCEEDS_POOL\0",
        9 => b"COSELECT_BUFFER_TOO_SMALL\0",
        10 => b"COSELECT_UNSUPPORTED_VERSION\0",
        11 => b"COSELECT_CORRUPT\0",
        12 => b"COSELECT_STATE_MISMATCH\0",
        13 => b"COSELECT_MISSING_SMALL_MODEL\0",
        14 => b"COSELECT_TOO_LARGE\0",
        15 => b"COSELECT_FINISHED\0",
        16 => b"COSELECT_UNAVAILABLE\0",
        99 => b"COSELECT_INTERNAL\0",
        _ => b"COSELECT_UNKNOWN\0",
    };
    s.as_ptr().cast()
}
