//! One round on an NVIDIA GPU over pools already in device memory (PyTorch
//! or CuPy buffers, no copy), when the library is built with the `cuda`
//! feature; without it the call reports `COSELECT_UNAVAILABLE`, so the
//! header and the ABI are the same for every build.

use crate::coselect_status;
use crate::status::{guard, Failure};
use crate::types::{
    config, coselect_calibration, coselect_config, coselect_pick, coselect_pseudo_label, fill,
};

/// Element type of device matrices: 32-bit float.
pub const COSELECT_DTYPE_F32: u32 = 0;
/// Element type of device matrices: IEEE half.
pub const COSELECT_DTYPE_F16: u32 = 1;
/// Element type of device matrices: bfloat16.
pub const COSELECT_DTYPE_BF16: u32 = 2;

/// A row-major contiguous matrix in device memory (`ptr` is a
/// `CUdeviceptr`: PyTorch's `tensor.data_ptr()`, CuPy's `a.data.ptr`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct coselect_device_matrix {
    /// Device address of the first value; 0 means "no matrix".
    pub ptr: u64,
    /// Rows (samples).
    pub rows: usize,
    /// Columns (classes).
    pub cols: usize,
    /// `COSELECT_DTYPE_F32`, `_F16` or `_BF16`.
    pub dtype: u32,
}

/// One round on GPU `device` over device-resident matrices, enqueued on
/// `stream` (a `CUstream`, 0 for the legacy default stream; PyTorch:
/// `torch.cuda.current_stream().cuda_stream`) and waited for. The plan is
/// the caller's, as for `coselect_selector_new`: the config, trusted label
/// counts per class, the calibration and `log_prior` (NULL when no class
/// is in seed mode). `sm.ptr` 0 means no small model; `labeled_mask`, when
/// not 0, is the device address of one byte per row (nonzero: labeled, not
/// scored; a `torch.bool` tensor). Results go to caller buffers as in
/// `coselect_select`. The selection equals the CPU host's whenever no two
/// scores at a cut lie within 1e-6 (docs/cuda.md).
///
/// Returns `COSELECT_UNAVAILABLE` when the library was built without the
/// `cuda` feature, or the CUDA driver, NVRTC or the device is missing.
///
/// # Safety
/// Host pointers are NULL or valid for their extents; device addresses
/// point at live memory of the given shapes in the device's primary
/// context, unmodified until the call returns.
///
/// ```
/// use coselect_ffi::*;
/// use std::ptr::{null, null_mut};
/// let mut cfg = std::mem::MaybeUninit::<coselect_config>::uninit();
/// unsafe { coselect_config_init(cfg.as_mut_ptr(), 2, 1) };
/// let cfg = unsafe { cfg.assume_init() };
/// let cal = coselect_calibration { temperature: 1.0, has_fusion: 0, fusion_a: 0.0, fusion_b: 0.0 };
/// let (counts, lp) = ([0u32; 2], [0.5f32.ln(); 2]);
/// let fm = coselect_device_matrix { ptr: 0, rows: 0, cols: 2, dtype: COSELECT_DTYPE_F32 };
/// let none = coselect_device_matrix { ptr: 0, rows: 0, cols: 0, dtype: 0 };
/// let (mut n, mut np) = (0usize, 0usize);
/// let s = unsafe {
///     coselect_cuda_select(&cfg, counts.as_ptr(), 2, &cal, lp.as_ptr(), fm, none, 0, 0, 0,
///                          null_mut(), 0, &mut n, null_mut(), 0, &mut np)
/// };
/// // On this machine: no GPU (or no `cuda` feature); never a crash.
/// assert!(s == coselect_status::CoselectUnavailable || s == coselect_status::CoselectNullPointer);
/// ```
#[no_mangle]
pub unsafe extern "C" fn coselect_cuda_select(
    cfg: *const coselect_config,
    counts: *const u32,
    classes: usize,
    calibration: *const coselect_calibration,
    log_prior: *const f32,
    fm: coselect_device_matrix,
    sm: coselect_device_matrix,
    labeled_mask: u64,
    device: u32,
    stream: u64,
    picks: *mut coselect_pick,
    picks_cap: usize,
    n_picks: *mut usize,
    pseudo: *mut coselect_pseudo_label,
    pseudo_cap: usize,
    n_pseudo: *mut usize,
) -> coselect_status {
    guard(|| {
        let cfg = unsafe { config(cfg) }?;
        // The same plan checks as the CPU host's, so both refuse alike.
        let plan = unsafe { crate::types::plan(&cfg, counts, classes, calibration, log_prior) }?;
        if n_picks.is_null() || n_pseudo.is_null() {
            return Err(Failure::null("n_picks or n_pseudo"));
        }
        let (queries, pseudo_labels) = unsafe { run(&plan, fm, sm, labeled_mask, device, stream) }?;
        let a = unsafe { fill("picks", &queries, picks, picks_cap, n_picks) };
        let b = unsafe { fill("pseudo", &pseudo_labels, pseudo, pseudo_cap, n_pseudo) };
        a.and(b)
    })
}

type Picked = (Vec<coselect_core::Pick>, Vec<coselect_core::PseudoLabel>);

#[cfg(not(feature = "cuda"))]
unsafe fn run(
    _: &coselect_cpu::RoundPlan,
    _: coselect_device_matrix,
    _: coselect_device_matrix,
    _: u64,
    _: u32,
    _: u64,
) -> Result<Picked, Failure> {
    Err(Failure::new(
        coselect_status::CoselectUnavailable,
        "this library was built without the `cuda` feature (cargo build -p coselect-ffi --features cuda)",
    ))
}

#[cfg(feature = "cuda")]
unsafe fn run(
    plan: &coselect_cpu::RoundPlan,
    fm: coselect_device_matrix,
    sm: coselect_device_matrix,
    labeled_mask: u64,
    device: u32,
    stream: u64,
) -> Result<Picked, Failure> {
    use coselect_cuda::{DType, DeviceMatrix, RoundParams};
    let dtype = |d: u32| match d {
        COSELECT_DTYPE_F32 => Ok(DType::F32),
        COSELECT_DTYPE_F16 => Ok(DType::F16),
        COSELECT_DTYPE_BF16 => Ok(DType::Bf16),
        v => Err(Failure::invalid(format!(
            "dtype {v} is not a COSELECT_DTYPE_*"
        ))),
    };
    let m = |d: coselect_device_matrix| -> Result<DeviceMatrix, Failure> {
        Ok(DeviceMatrix {
            ptr: d.ptr,
            rows: d.rows,
            cols: d.cols,
            dtype: dtype(d.dtype)?,
        })
    };
    let params = RoundParams {
        config: *plan.config(),
        counts: plan.counts().to_vec(),
        fusion: plan.calibration().posterior_weights(),
        temperature: plan.calibration().temperature,
        log_prior: plan
            .log_prior()
            .map(|l| l.to_vec())
            .unwrap_or_else(|| vec![-(plan.counts().len() as f32).ln(); plan.counts().len()]),
        validate: true,
    };
    let sm = match sm.ptr {
        0 => None,
        _ => Some(m(sm)?),
    };
    if sm.is_some() != plan.calibration().fusion.is_some() {
        return Err(Failure::new(
            coselect_status::CoselectShapeMismatch,
            "sm is given exactly when the calibration has fusion weights",
        ));
    }
    let gpu = gpus::get(device as usize)?;
    let labeled = (labeled_mask != 0).then_some(labeled_mask);
    let sel = unsafe { gpu.select_on_device(m(fm)?, sm, labeled, &params, stream) }
        .map_err(cuda_failure)?;
    Ok((sel.queries, sel.pseudo_labels))
}

#[cfg(feature = "cuda")]
fn cuda_failure(e: coselect_cuda::Error) -> Failure {
    use coselect_cuda::Error as E;
    let status = match &e {
        E::Unavailable { .. } => coselect_status::CoselectUnavailable,
        E::Shape { .. } => coselect_status::CoselectShapeMismatch,
        E::BadValue { problem, .. } if problem.contains("finite") => {
            coselect_status::CoselectNonFinite
        }
        E::BadValue { .. } => coselect_status::CoselectNotNormalized,
        E::MissingSmallModel { .. } => coselect_status::CoselectMissingSmallModel,
        E::TooLarge { .. } => coselect_status::CoselectTooLarge,
        E::Core { error, .. } => crate::status::core_status(error),
        _ => coselect_status::CoselectInternal,
    };
    Failure::new(status, e.to_string())
}

/// One `Gpu` per device for the process: kernels compile once per context.
#[cfg(feature = "cuda")]
mod gpus {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};

    use coselect_cuda::Gpu;

    use super::cuda_failure;
    use crate::status::Failure;

    static GPUS: OnceLock<Mutex<HashMap<usize, Arc<Gpu>>>> = OnceLock::new();

    pub(super) fn get(ordinal: usize) -> Result<Arc<Gpu>, Failure> {
        let map = GPUS.get_or_init(|| Mutex::new(HashMap::new()));
        let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(g) = map.get(&ordinal) {
            return Ok(g.clone());
        }
        let g = Arc::new(Gpu::new(ordinal).map_err(cuda_failure)?);
        map.insert(ordinal, g.clone());
        Ok(g)
    }
}
