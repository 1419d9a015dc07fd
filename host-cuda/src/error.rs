//! The one error type of coselect-cuda.

use std::fmt;

/// What went wrong. `#[non_exhaustive]`: match with a wildcard arm.
///
/// ```
/// let e = coselect_cuda::Error::Unavailable { reason: "no libcuda.so".into() };
/// assert!(e.to_string().contains("no libcuda.so"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The CUDA driver library, NVRTC or a device is missing.
    Unavailable {
        /// Why, in words.
        reason: String,
    },
    /// A CUDA driver call failed.
    Driver {
        /// The call.
        call: &'static str,
        /// The driver's message.
        message: String,
    },
    /// NVRTC refused a kernel source; `log` is its compiler output.
    Compile {
        /// The `--gpu-architecture` it compiled for.
        arch: String,
        /// NVRTC's log.
        log: String,
    },
    /// An input has the wrong shape or size.
    Shape {
        /// The input.
        input: &'static str,
        /// What was expected, in words.
        expected: String,
        /// What was found, in words.
        found: String,
    },
    /// A pool value the CPU host would also refuse, with its place.
    BadValue {
        /// Which input.
        input: &'static str,
        /// Row of the first bad value.
        row: u64,
        /// Column (0 when the whole row is wrong).
        col: u32,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Classes have labels enough for boundary mode but no small-model rows
    /// were given.
    MissingSmallModel {
        /// The first such class.
        class: u32,
    },
    /// The pool is larger than the kernels index (row indices are 32-bit
    /// inside the composite sort keys).
    TooLarge {
        /// What is too large.
        what: &'static str,
        /// Its value.
        value: u64,
        /// The largest supported.
        max: u64,
    },
    /// The core refused a parameter or the selection (empty pool, budget
    /// above the pool, bad configuration).
    Core {
        /// The step.
        step: &'static str,
        /// The core's error.
        error: coselect_core::Error,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Unavailable { reason } => write!(f, "CUDA unavailable: {reason}"),
            Error::Driver { call, message } => {
                write!(f, "CUDA driver call {call} failed: {message}")
            }
            Error::Compile { arch, log } => write!(f, "NVRTC failed for {arch}:\n{log}"),
            Error::Shape {
                input,
                expected,
                found,
            } => write!(f, "{input}: expected {expected}, found {found}"),
            Error::BadValue {
                input,
                row,
                col,
                problem,
            } => write!(f, "{input}: row {row}, column {col}: {problem}"),
            Error::MissingSmallModel { class } => write!(
                f,
                "class {class} is in boundary mode, which needs small-model log-probabilities"
            ),
            Error::TooLarge { what, value, max } => {
                write!(f, "{what} is {value}, at most {max} is supported")
            }
            Error::Core { step, error } => write!(f, "{step}: {error}"),
        }
    }
}

impl std::error::Error for Error {}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn driver(call: &'static str) -> impl Fn(cudarc::driver::DriverError) -> Error {
    move |e| Error::Driver {
        call,
        message: e.to_string(),
    }
}

pub(crate) fn core(step: &'static str) -> impl Fn(coselect_core::Error) -> Error {
    move |error| Error::Core { step, error }
}
