//! The error type of the CPU host.
//!
//! Every message names the input it is about (the file name for `.npy`
//! input, or the name given to an in-memory [`crate::Matrix`]) and, for a bad
//! value, the row and column, so a user can find it without a debugger:
//! `fm.npy: NaN at row 17, col 3`.

use std::fmt;

/// What is wrong with one value of a matrix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BadValue {
    /// Not a number.
    NaN,
    /// Positive or negative infinity.
    Infinite(f32),
}

impl fmt::Display for BadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadValue::NaN => write!(f, "NaN"),
            BadValue::Infinite(v) => write!(f, "{v}"),
        }
    }
}

/// Why a `.npy` file was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NpyError {
    /// The file could not be opened or mapped.
    #[error("cannot read: {0}")]
    Io(std::io::Error),
    /// The first bytes are not `\x93NUMPY`.
    #[error("not a .npy file (bad magic bytes)")]
    BadMagic,
    /// A format version other than 1, 2 or 3.
    #[error("unsupported .npy format version {major}.{minor}")]
    UnsupportedVersion {
        /// Major version byte.
        major: u8,
        /// Minor version byte.
        minor: u8,
    },
    /// The header dictionary does not parse.
    #[error("malformed header: {0}")]
    BadHeader(String),
    /// A dtype this host does not read.
    #[error("unsupported dtype '{descr}': {hint}")]
    UnsupportedDtype {
        /// The `descr` field of the header.
        descr: String,
        /// What to do instead.
        hint: &'static str,
    },
    /// `fortran_order: True`.
    #[error("column-major (fortran_order) arrays are not supported; save a C-contiguous array (np.ascontiguousarray)")]
    FortranOrder,
    /// A shape of the wrong rank for what the array is used as.
    #[error("has shape {found}, expected {expected}")]
    WrongRank {
        /// The shape found, as numpy prints it.
        found: String,
        /// What was expected, in words.
        expected: &'static str,
    },
    /// The file is shorter than the header promises.
    #[error("truncated: the header promises {expected} bytes of data, the file has {found}")]
    Truncated {
        /// Data bytes promised by shape and dtype.
        expected: u64,
        /// Data bytes present.
        found: u64,
    },
    /// Bytes after the data: not written by `np.save`, so probably not what
    /// the header describes.
    #[error("has {extra} bytes after the data the header describes")]
    TrailingBytes {
        /// How many.
        extra: u64,
    },
}

/// Every way a CPU-host call can fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A `.npy` file was refused.
    #[error("{file}: {reason}")]
    Npy {
        /// The file as the caller named it.
        file: String,
        /// Why.
        reason: NpyError,
    },
    /// A NaN or infinity in an input matrix.
    #[error("{input}: {value} at row {row}, col {col}")]
    NonFinite {
        /// Name of the matrix.
        input: String,
        /// Row (sample index).
        row: u64,
        /// Column (class index).
        col: u32,
        /// The value.
        value: BadValue,
    },
    /// A small-model row whose `exp` does not sum to 1.
    #[error("{input}: row {row} is not log-probabilities (exp sums to {sum}, not 1)")]
    NotLogProbabilities {
        /// Name of the matrix.
        input: String,
        /// Row.
        row: u64,
        /// The sum of `exp` over the row.
        sum: f32,
    },
    /// Two inputs that must have the same shape do not.
    #[error("{input} has shape {shape}, {other} {other_shape}")]
    ShapeMismatch {
        /// The input that disagrees.
        input: String,
        /// Its shape, `rows x cols`.
        shape: String,
        /// The reference input (the FM scores).
        other: String,
        /// Its shape.
        other_shape: String,
    },
    /// A matrix whose buffer does not hold `rows x cols` values.
    #[error("{input}: buffer of {found} values does not hold {rows}x{cols}")]
    BadBuffer {
        /// Name of the matrix.
        input: String,
        /// Rows claimed.
        rows: usize,
        /// Columns claimed.
        cols: usize,
        /// Values in the buffer.
        found: usize,
    },
    /// A label that is neither -1 (unlabeled) nor a class index.
    #[error("{input}: label {label} at row {row} is out of range for {classes} classes (use -1 for unlabeled)")]
    LabelOutOfRange {
        /// Name of the labels input.
        input: String,
        /// Row.
        row: u64,
        /// The label.
        label: i64,
        /// Number of classes.
        classes: u32,
    },
    /// Boundary mode needs the small model.
    #[error("class {class} has {labels} labels (at least seed_min = {seed_min}), so it is queried on the small model's boundary: give the small model's log-probabilities (--sm)")]
    MissingSmallModel {
        /// The first class in boundary mode.
        class: u32,
        /// Its label count.
        labels: u32,
        /// The threshold.
        seed_min: u32,
    },
    /// A size beyond what this host's fixed-capacity structures hold.
    #[error("{what} is {value}, this host supports at most {max}")]
    TooLarge {
        /// What is too large.
        what: &'static str,
        /// The value asked for.
        value: usize,
        /// The supported maximum.
        max: usize,
    },
    /// The thread pool could not be built.
    #[error("cannot start worker threads: {0}")]
    Threads(String),
    /// A core call refused its input.
    #[error("{context}: {reason}")]
    Core {
        /// What the host was doing.
        context: &'static str,
        /// The core's reason.
        reason: coselect_core::Error,
    },
}

impl Error {
    /// The pool row an error is about, if any; the parallel passes report the
    /// error of the lowest row so the message does not depend on scheduling.
    pub fn row(&self) -> Option<u64> {
        match self {
            Error::NonFinite { row, .. }
            | Error::NotLogProbabilities { row, .. }
            | Error::LabelOutOfRange { row, .. } => Some(*row),
            _ => None,
        }
    }

    pub(crate) fn core(context: &'static str) -> impl FnOnce(coselect_core::Error) -> Error {
        move |reason| Error::Core { context, reason }
    }
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, Error>;
