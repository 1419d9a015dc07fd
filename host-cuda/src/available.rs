//! Whether the CUDA libraries can be loaded, asked before any cudarc call.
//!
//! cudarc loads libcuda and libnvrtc on first use and panics when they are
//! missing; these probes try the same library names first, and a panic that
//! still escapes cudarc becomes [`Error::Unavailable`], never an abort of the
//! caller.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{Error, Result};

/// Runs `f`, turning a panic inside cudarc into [`Error::Unavailable`].
pub(crate) fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(Error::Unavailable {
                reason: format!("{what}: {msg}"),
            })
        }
    }
}

/// Checks that the CUDA driver library (libcuda.so) can be loaded.
///
/// ```
/// // On a machine without a GPU driver this is an error, not a panic.
/// match coselect_cuda::driver_available() {
///     Ok(()) => println!("libcuda found"),
///     Err(e) => println!("{e}"),
/// }
/// ```
pub fn driver_available() -> Result<()> {
    // SAFETY: only tries to dlopen the candidate names and drops the handle.
    let present = guarded("probing libcuda", || {
        Ok(unsafe { cudarc::driver::sys::is_culib_present() })
    })?;
    if present {
        Ok(())
    } else {
        Err(Error::Unavailable {
            reason: "the CUDA driver library (libcuda.so) was not found".into(),
        })
    }
}

/// Checks that NVRTC (libnvrtc.so.13 or an older major) can be loaded. It is
/// found through the dynamic loader's search path, so a copy outside the
/// system paths needs its directory in `LD_LIBRARY_PATH`.
///
/// ```
/// match coselect_cuda::nvrtc_available() {
///     Ok(()) => println!("NVRTC found"),
///     Err(e) => println!("{e}"),
/// }
/// ```
pub fn nvrtc_available() -> Result<()> {
    // SAFETY: as in driver_available.
    let present = guarded("probing libnvrtc", || {
        Ok(unsafe { cudarc::nvrtc::sys::is_culib_present() })
    })?;
    if present {
        Ok(())
    } else {
        Err(Error::Unavailable {
            reason: "NVRTC (libnvrtc.so.13) was not found; add its directory to LD_LIBRARY_PATH"
                .into(),
        })
    }
}
