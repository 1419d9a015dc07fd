//! # coselect-cuda
//!
//! temporary
#![warn(missing_docs)]

mod available;
mod compile;
mod error;

pub use available::{driver_available, nvrtc_available};
pub use compile::{compile_options, compile_source, Compiled, KernelSource, SOURCES};
pub use error::{Error, Result};
