//! The one error type of the core.
//!
//! Every way an input can be wrong has its own variant, carrying the row and
//! column where that makes sense, so that a host can turn it into a message
//! such as "NaN at row 17, col 3" without re-inspecting the data.

use core::fmt;

/// Why a core call refused its input.
///
/// The enum is `#[non_exhaustive]`: new kinds of invalid input may be added
/// without a breaking release, so match with a wildcard arm.
///
/// ```
/// use coselect_core::{Config, Error};
/// assert_eq!(Config::new(10, 0).unwrap_err(), Error::ZeroBudget);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A NaN or an infinity in a numeric input.
    NonFinite {
        /// Row (sample index as the caller numbered it).
        row: u64,
        /// Column (class index).
        col: u32,
    },
    /// A negative entry in a row declared as probabilities.
    NegativeProbability {
        /// Row of the offending value.
        row: u64,
        /// Column of the offending value.
        col: u32,
    },
    /// A row declared as probabilities (or log-probabilities) whose mass is
    /// not 1 within the tolerance [`crate::math::NORMALIZATION_TOLERANCE`].
    NotNormalized {
        /// Row that does not sum to one.
        row: u64,
        /// The sum that was found.
        sum: f32,
    },
    /// A row or a count vector has a different number of classes than the
    /// configuration.
    ClassCountMismatch {
        /// Classes in the configuration.
        expected: u32,
        /// Classes in the input.
        found: u32,
    },
    /// Two buffers that must agree in length do not.
    LengthMismatch {
        /// Length implied by the other inputs.
        expected: usize,
        /// Length that was given.
        found: usize,
    },
    /// A fixed-capacity structure is too small for what was asked.
    CapacityExceeded {
        /// What the request needs.
        needed: usize,
        /// What the structure holds at most.
        capacity: usize,
    },
    /// The budget k is zero.
    ZeroBudget,
    /// The pool (or the calibration set) has no rows.
    EmptyPool,
    /// The budget k exceeds the number of rows offered for selection.
    BudgetExceedsPool {
        /// The budget.
        k: u64,
        /// Rows pushed into the selector.
        pool: u64,
    },
    /// A class label outside `0..classes`.
    LabelOutOfRange {
        /// Row of the label.
        row: u64,
        /// The label.
        label: u32,
        /// Number of classes.
        classes: u32,
    },
    /// Fewer than two classes, or more than a compile-time capacity allows.
    InvalidClassCount {
        /// The class count that was asked for.
        classes: u32,
    },
    /// A configuration field outside its valid range; the name says which.
    InvalidConfig {
        /// Field name, as in [`crate::Config`].
        field: &'static str,
    },
    /// Serialized bytes of a version this build does not read.
    UnsupportedVersion {
        /// Version found in the bytes.
        found: u16,
        /// Version this build reads and writes.
        supported: u16,
    },
    /// Bytes that do not decode (truncated, corrupt), or decode to a state
    /// that breaks an invariant.
    Corrupt,
    /// The output buffer given for serialization or results is too small.
    BufferTooSmall,
    /// Two partial states that cannot be merged: built from different
    /// configurations, label counts or priors.
    StateMismatch,
    /// A class is in boundary mode but no small-model row was given.
    MissingSmallModel,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::NonFinite { row, col } => write!(f, "non-finite value at row {row}, col {col}"),
            Error::NegativeProbability { row, col } => {
                write!(f, "negative probability at row {row}, col {col}")
            }
            Error::NotNormalized { row, sum } => {
                write!(f, "probabilities of row {row} sum to {sum}, not 1")
            }
            Error::ClassCountMismatch { expected, found } => {
                write!(
                    f,
                    "class count mismatch: expected {expected}, found {found}"
                )
            }
            Error::LengthMismatch { expected, found } => {
                write!(f, "length mismatch: expected {expected}, found {found}")
            }
            Error::CapacityExceeded { needed, capacity } => {
                write!(
                    f,
                    "capacity exceeded: need {needed}, capacity is {capacity}"
                )
            }
            Error::ZeroBudget => write!(f, "budget k must be at least 1"),
            Error::EmptyPool => write!(f, "empty pool"),
            Error::BudgetExceedsPool { k, pool } => {
                write!(f, "budget k = {k} exceeds the pool of {pool} rows")
            }
            Error::LabelOutOfRange {
                row,
                label,
                classes,
            } => write!(
                f,
                "label {label} at row {row} is out of range for {classes} classes"
            ),
            Error::InvalidClassCount { classes } => {
                write!(
                    f,
                    "invalid class count {classes} (need at least 2, within capacity)"
                )
            }
            Error::InvalidConfig { field } => write!(f, "invalid config field `{field}`"),
            Error::UnsupportedVersion { found, supported } => write!(
                f,
                "unsupported version {found} (this build reads version {supported})"
            ),
            Error::Corrupt => write!(f, "corrupt or truncated bytes"),
            Error::BufferTooSmall => write!(f, "output buffer too small"),
            Error::StateMismatch => write!(f, "states built from different inputs cannot merge"),
            Error::MissingSmallModel => {
                write!(
                    f,
                    "a class is in boundary mode but no small-model row was given"
                )
            }
        }
    }
}

impl core::error::Error for Error {}

/// Shorthand for results of the core.
pub type Result<T> = core::result::Result<T, Error>;
