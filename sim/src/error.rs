//! Errors of the harness, raised before any work starts where the input allows.

use std::path::PathBuf;

/// Everything that can stop a simulation.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A file of the dataset folder could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A `.npy` file is malformed or truncated, or has an unexpected type or shape.
    #[error("bad npy file {path}: {reason}")]
    Npy {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// `meta.json` is not valid JSON of the expected form.
    #[error("bad meta.json {path}: {reason}")]
    Meta {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The files of a dataset disagree with each other or hold invalid values.
    #[error("invalid dataset {path}: {reason}")]
    Dataset {
        /// The dataset folder.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A setting (imbalance, noise, budget) cannot be run on the dataset.
    #[error("invalid setting {setting}: {reason}")]
    Setting {
        /// The setting's name.
        setting: String,
        /// What is wrong.
        reason: String,
    },
    /// A strategy name that the registry does not know.
    #[error("unknown strategy {name:?}; known: {known}")]
    UnknownStrategy {
        /// The name asked for.
        name: String,
        /// The names the registry knows, comma-separated.
        known: String,
    },
    /// A strategy broke the selection contract (wrong batch size, repeated or labeled index).
    #[error("strategy {strategy} in round {round}: {reason}")]
    Selection {
        /// The strategy.
        strategy: String,
        /// The round.
        round: usize,
        /// What is wrong.
        reason: String,
    },
    /// Any other invalid configuration.
    #[error("{0}")]
    Config(String),
    /// Writing results failed.
    #[error("cannot write {path}: {reason}")]
    Output {
        /// The file.
        path: PathBuf,
        /// The cause.
        reason: String,
    },
}

/// Result alias of the harness.
pub type Result<T, E = SimError> = std::result::Result<T, E>;
