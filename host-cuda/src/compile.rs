//! The kernels' CUDA C++ sources and their compilation by NVRTC.
//!
//! The options matter for parity with the CPU: `--fmad=false` keeps every
//! `a * x + b * y` as a rounded product and a rounded sum, as Rust computes
//! it, and no fast math keeps `expf`, `logf` and the division accurate.

use std::ffi::{CStr, CString};

use cudarc::nvrtc::{result, sys};

use crate::available::{guarded, nvrtc_available};
use crate::error::{Error, Result};

/// One kernel source file and the entry points it defines.
#[derive(Debug, Clone, Copy)]
pub struct KernelSource {
    /// The file name under `host-cuda/kernels/`.
    pub name: &'static str,
    /// Its text.
    pub source: &'static str,
    /// The `extern "C"` kernels it defines.
    pub kernels: &'static [&'static str],
}

/// Every kernel source of the crate.
///
/// ```
/// let names: Vec<_> = coselect_cuda::SOURCES.iter().map(|s| s.name).collect();
/// assert_eq!(names, ["score.cu", "select.cu"]);
/// ```
pub const SOURCES: [KernelSource; 2] = [
    KernelSource {
        name: "score.cu",
        source: include_str!("../kernels/score.cu"),
        kernels: &["score_rows_f32", "score_rows_f16", "score_rows_bf16"],
    },
    KernelSource {
        name: "select.cu",
        source: include_str!("../kernels/select.cu"),
        kernels: &[
            "init_state",
            "radix_histogram",
            "choose_bucket",
            "radix_filter",
            "candidate_segments",
            "scatter_candidates",
        ],
    },
];

/// What NVRTC produced for one source.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The source's file name.
    pub name: &'static str,
    /// The architecture it was compiled for, e.g. `sm_90`.
    pub arch: String,
    /// PTX text (for a virtual `compute_XY` target) or empty.
    pub ptx: Vec<u8>,
    /// The CUBIN (for a real `sm_XY` target) or empty.
    pub cubin: Vec<u8>,
    /// NVRTC's log (warnings).
    pub log: String,
}

/// The NVRTC options of every compilation, for architecture `arch`
/// (`sm_90`: a CUBIN; `compute_90`: PTX).
///
/// ```
/// let o = coselect_cuda::compile_options("sm_90");
/// assert!(o.contains(&"--fmad=false".to_string()));
/// ```
pub fn compile_options(arch: &str) -> Vec<String> {
    vec![
        format!("--gpu-architecture={arch}"),
        "--fmad=false".into(),
        "--prec-div=true".into(),
        "--prec-sqrt=true".into(),
        "--ftz=false".into(),
        "--std=c++17".into(),
    ]
}

/// Compiles `src` for `arch` with NVRTC (no GPU needed, only libnvrtc).
///
/// ```
/// use coselect_cuda::{compile_source, Error, SOURCES};
/// match compile_source(&SOURCES[0], "sm_90") {
///     Ok(c) => assert!(!c.cubin.is_empty()),
///     Err(Error::Unavailable { reason }) => println!("SKIPPED: {reason}"),
///     Err(e) => panic!("{e}"),
/// }
/// ```
pub fn compile_source(src: &KernelSource, arch: &str) -> Result<Compiled> {
    nvrtc_available()?;
    guarded("NVRTC", || compile_unguarded(src, arch))
}

fn compile_unguarded(src: &KernelSource, arch: &str) -> Result<Compiled> {
    let nvrtc = |call: &'static str| {
        move |e: result::NvrtcError| Error::Driver {
            call,
            message: format!("{e:?}"),
        }
    };
    let text = CString::new(src.source).map_err(|_| Error::Compile {
        arch: arch.into(),
        log: format!("{} holds a NUL byte", src.name),
    })?;
    let name = CString::new(src.name).unwrap_or_default();
    let prog = result::create_program(&text, Some(&name)).map_err(nvrtc("nvrtcCreateProgram"))?;
    let out = (|| {
        // SAFETY: prog is a live program; the options are plain strings.
        let compiled = unsafe { result::compile_program(prog, &compile_options(arch)) };
        let log = unsafe { result::get_program_log(prog) }
            .map(|raw| {
                // SAFETY: NVRTC's log is NUL-terminated.
                unsafe { CStr::from_ptr(raw.as_ptr()) }
                    .to_string_lossy()
                    .into_owned()
            })
            .unwrap_or_default();
        if compiled.is_err() {
            return Err(Error::Compile {
                arch: arch.into(),
                log: format!("{}: {log}", src.name),
            });
        }
        let (ptx, cubin) = if arch.starts_with("sm_") {
            (Vec::new(), cubin_of(prog)?)
        } else {
            let p = unsafe { result::get_ptx(prog) }.map_err(nvrtc("nvrtcGetPTX"))?;
            let bytes = p.iter().map(|&c| c as u8).take_while(|&b| b != 0).collect();
            (bytes, Vec::new())
        };
        Ok(Compiled {
            name: src.name,
            arch: arch.into(),
            ptx,
            cubin,
            log,
        })
    })();
    // SAFETY: prog is destroyed once, after its last use.
    let _ = unsafe { result::destroy_program(prog) };
    out
}

fn cubin_of(prog: sys::nvrtcProgram) -> Result<Vec<u8>> {
    let fail = |call: &'static str, r: sys::nvrtcResult| Error::Driver {
        call,
        message: format!("{r:?}"),
    };
    let mut size = 0usize;
    // SAFETY: prog compiled successfully; the buffer has the size NVRTC gave.
    let r = unsafe { sys::nvrtcGetCUBINSize(prog, &mut size) };
    if r != sys::nvrtcResult::NVRTC_SUCCESS {
        return Err(fail("nvrtcGetCUBINSize", r));
    }
    let mut buf = vec![0u8; size];
    let r = unsafe { sys::nvrtcGetCUBIN(prog, buf.as_mut_ptr().cast()) };
    if r != sys::nvrtcResult::NVRTC_SUCCESS {
        return Err(fail("nvrtcGetCUBIN", r));
    }
    Ok(buf)
}
