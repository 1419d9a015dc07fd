//! The device handle: a CUDA context, the kernels compiled for its
//! architecture (once per context), and stream-ordered scratch buffers.

use std::ffi::c_void;
use std::sync::{Arc, Mutex};

use cudarc::driver::{result, sys, CudaContext, CudaFunction, CudaModule};
use cudarc::nvrtc::Ptx;

use crate::available::{driver_available, guarded};
use crate::compile::{compile_source, SOURCES};
use crate::error::{driver, Error, Result};

/// A GPU with coselect's kernels: create one per device and reuse it; the
/// kernels are compiled by NVRTC on first use and kept.
///
/// ```
/// use coselect_cuda::{Error, Gpu};
/// match Gpu::new(0) {
///     Ok(gpu) => println!("{}", gpu.name()?),
///     Err(Error::Unavailable { reason }) => println!("no GPU here: {reason}"),
///     Err(e) => return Err(e),
/// }
/// # Ok::<(), coselect_cuda::Error>(())
/// ```
#[derive(Debug)]
pub struct Gpu {
    ctx: Arc<CudaContext>,
    kernels: Mutex<Option<Arc<Kernels>>>,
}

/// The loaded entry points; the modules stay loaded while this lives.
#[derive(Debug)]
pub(crate) struct Kernels {
    pub(crate) arch: String,
    pub(crate) score_f32: CudaFunction,
    pub(crate) score_f16: CudaFunction,
    pub(crate) score_bf16: CudaFunction,
    pub(crate) init_state: CudaFunction,
    pub(crate) histogram: CudaFunction,
    pub(crate) choose: CudaFunction,
    pub(crate) filter: CudaFunction,
    pub(crate) segments: CudaFunction,
    pub(crate) scatter: CudaFunction,
    pub(crate) multiprocessors: u32,
}

impl Gpu {
    /// Opens device `ordinal` through its primary context (the one PyTorch
    /// and CuPy use, so their streams and pointers are valid here).
    pub fn new(ordinal: usize) -> Result<Self> {
        driver_available()?;
        let ctx = guarded("CUDA context", || {
            let n = CudaContext::device_count().map_err(|e| Error::Unavailable {
                reason: format!("cuInit or cuDeviceGetCount failed: {e}"),
            })?;
            if ordinal >= n.max(0) as usize {
                return Err(Error::Unavailable {
                    reason: format!("no CUDA device {ordinal} ({n} present)"),
                });
            }
            CudaContext::new(ordinal).map_err(driver("cuDevicePrimaryCtxRetain"))
        })?;
        Ok(Gpu {
            ctx,
            kernels: Mutex::new(None),
        })
    }

    /// The cudarc context, for callers that allocate or time with cudarc.
    pub fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    /// The device's name, e.g. `NVIDIA H100 80GB HBM3`.
    pub fn name(&self) -> Result<String> {
        self.ctx.name().map_err(driver("cuDeviceGetName"))
    }

    /// The architecture the kernels were (or will be) compiled for.
    pub fn arch(&self) -> Result<String> {
        let (major, minor) = self
            .ctx
            .compute_capability()
            .map_err(driver("cuDeviceGetAttribute"))?;
        Ok(format!("sm_{major}{minor}"))
    }

    /// Compiles and loads the kernels now rather than on the first call
    /// (NVRTC takes about two seconds), returning the architecture used.
    pub fn warm_up(&self) -> Result<String> {
        Ok(self.kernels()?.arch.clone())
    }

    pub(crate) fn bind(&self) -> Result<()> {
        self.ctx.bind_to_thread().map_err(driver("cuCtxSetCurrent"))
    }

    pub(crate) fn kernels(&self) -> Result<Arc<Kernels>> {
        let mut slot = self.kernels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = slot.as_ref() {
            return Ok(k.clone());
        }
        let k = Arc::new(guarded("loading kernels", || self.load())?);
        *slot = Some(k.clone());
        Ok(k)
    }

    fn load(&self) -> Result<Kernels> {
        self.bind()?;
        let arch = self.arch()?;
        let mut modules = Vec::new();
        let mut used = arch.clone();
        for src in SOURCES.iter() {
            // A NVRTC older than the card does not know its sm_XY; PTX for
            // compute_80 then runs through the driver's JIT.
            let image = match compile_source(src, &arch) {
                Ok(c) => c.cubin,
                Err(Error::Compile { .. }) => {
                    used = "compute_80".into();
                    let mut ptx = compile_source(src, "compute_80")?.ptx;
                    ptx.push(0);
                    ptx
                }
                Err(e) => return Err(e),
            };
            let m = self
                .ctx
                .load_module(Ptx::from_binary(image))
                .map_err(driver("cuModuleLoadData"))?;
            modules.push(m);
        }
        let f = |m: &Arc<CudaModule>, name: &str| {
            m.load_function(name).map_err(driver("cuModuleGetFunction"))
        };
        let sms = self
            .ctx
            .attribute(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)
            .map_err(driver("cuDeviceGetAttribute"))?;
        let (s, t) = (&modules[0], &modules[1]);
        Ok(Kernels {
            arch: used,
            score_f32: f(s, "score_rows_f32")?,
            score_f16: f(s, "score_rows_f16")?,
            score_bf16: f(s, "score_rows_bf16")?,
            init_state: f(t, "init_state")?,
            histogram: f(t, "radix_histogram")?,
            choose: f(t, "choose_bucket")?,
            filter: f(t, "radix_filter")?,
            segments: f(t, "candidate_segments")?,
            scatter: f(t, "scatter_candidates")?,
            multiprocessors: sms.max(1) as u32,
        })
    }
}

/// Device memory allocated and freed in the order of one stream.
pub(crate) struct Scratch {
    pub(crate) ptr: sys::CUdeviceptr,
    stream: sys::CUstream,
}

impl Scratch {
    /// `bytes` (at least 1) of uninitialised memory.
    pub(crate) fn new(bytes: usize, stream: sys::CUstream) -> Result<Self> {
        // SAFETY: the context is bound; the memory is only used on `stream`.
        let ptr = unsafe { result::malloc_async(stream, bytes.max(8)) }
            .map_err(driver("cuMemAllocAsync"))?;
        Ok(Scratch { ptr, stream })
    }

    /// `bytes` set to `byte`.
    pub(crate) fn filled(bytes: usize, byte: u8, stream: sys::CUstream) -> Result<Self> {
        let s = Scratch::new(bytes, stream)?;
        // SAFETY: within the allocation, ordered on its stream.
        unsafe { result::memset_d8_async(s.ptr, byte, bytes.max(8), stream) }
            .map_err(driver("cuMemsetD8Async"))?;
        Ok(s)
    }

    /// A copy of `data`. The caller keeps `data` alive until the stream has
    /// passed this point (every entry point synchronises before returning).
    pub(crate) fn upload<T: Copy>(data: &[T], stream: sys::CUstream) -> Result<Self> {
        let s = Scratch::new(std::mem::size_of_val(data), stream)?;
        if !data.is_empty() {
            // SAFETY: the allocation holds the slice's bytes.
            unsafe { result::memcpy_htod_async(s.ptr, data, stream) }
                .map_err(driver("cuMemcpyHtoDAsync"))?;
        }
        Ok(s)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // SAFETY: allocated on this stream, freed once, in stream order.
        let _ = unsafe { result::free_async(self.ptr, self.stream) };
    }
}

/// Copies `dst.len()` values from device address `src` on `stream`. The
/// caller synchronises the stream before reading `dst`.
pub(crate) fn download<T: Copy>(dst: &mut [T], src: u64, stream: sys::CUstream) -> Result<()> {
    if dst.is_empty() {
        return Ok(());
    }
    // SAFETY: src holds at least dst's bytes (sized by the caller).
    unsafe { result::memcpy_dtoh_async(dst, src, stream) }.map_err(driver("cuMemcpyDtoHAsync"))
}

/// Launches `f` with kernel arguments given as pointers to their values.
pub(crate) fn launch(
    f: &CudaFunction,
    grid: (u32, u32),
    block: u32,
    shared_bytes: u32,
    stream: sys::CUstream,
    args: &mut [*mut c_void],
) -> Result<()> {
    // SAFETY: the argument pointers point at values of the kernel's
    // parameter types (repr(C) mirrors of the .cu structs), alive for the
    // duration of this call, which copies them.
    unsafe {
        result::launch_kernel(
            f.cu_function(),
            (grid.0.max(1), grid.1.max(1), 1),
            (block, 1, 1),
            shared_bytes,
            stream,
            args,
        )
    }
    .map_err(driver("cuLaunchKernel"))
}
