//! One round on the GPU: the scoring pass and the batched top-k of the
//! queries and of the pseudo-label candidates, enqueued on the caller's
//! stream; the host finishes in finish.rs.

use std::ffi::c_void;

use cudarc::driver::sys::CUstream;

use crate::checks::{plan, Plan};
use crate::device::{download, launch, Gpu, Kernels, Scratch};
use crate::error::{driver, Error, Result};
use crate::finish::Collected;
use crate::inputs::{DType, DeviceMatrix, HostMatrix, RoundParams, Selection};
use crate::radix::{select_top_k, Orderings};

/// Mirror of `ScoreParams` in score.cu.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScoreParams {
    fm: u64,
    sm: u64,
    labeled: u64,
    log_prior: u64,
    boundary: u64,
    keys: u64,
    co_key: u64,
    co_class: u64,
    co_count: u64,
    sigma: u64,
    unlabeled: u64,
    bad: u64,
    rows: u64,
    classes: u32,
    has_sm: u32,
    any_boundary: u32,
    codecide: u32,
    validate: u32,
    a: f32,
    b: f32,
    temperature: f32,
    co_confidence: f32,
    co_floor: f32,
}

impl Gpu {
    /// Runs a round's scoring and selection on matrices already on the
    /// device, enqueued on `stream` (a `CUstream`; 0 is the legacy default
    /// stream), and waits for it. `labeled`, when given, is the device
    /// address of one byte per row, nonzero for rows humans labeled (a
    /// `torch.bool` tensor's `data_ptr()`); those rows are not scored.
    ///
    /// From PyTorch: `fm.data_ptr()`, `sm.data_ptr()` of contiguous CUDA
    /// tensors and `torch.cuda.current_stream().cuda_stream`; from CuPy:
    /// `a.data.ptr` and `cupy.cuda.get_current_stream().ptr`.
    ///
    /// # Safety
    /// The addresses must point at live device memory of the given shapes
    /// in this device's primary context, and `stream` must be a stream of
    /// that context (or 0). Nothing may write to the inputs until this
    /// returns.
    ///
    /// ```no_run
    /// use coselect_core::Config;
    /// use coselect_cuda::{DType, DeviceMatrix, Gpu, RoundParams};
    /// let gpu = Gpu::new(0)?;
    /// let fm_ptr: u64 = 0x7f00_0000_0000; // e.g. tensor.data_ptr()
    /// let fm = DeviceMatrix { ptr: fm_ptr, rows: 1_000_000, cols: 10, dtype: DType::F32 };
    /// let params = RoundParams::first_round(Config::new(10, 100).unwrap());
    /// let sel = unsafe { gpu.select_on_device(fm, None, None, &params, 0)? };
    /// assert_eq!(sel.queries.len(), 100);
    /// # Ok::<(), coselect_cuda::Error>(())
    /// ```
    pub unsafe fn select_on_device(
        &self,
        fm: DeviceMatrix,
        sm: Option<DeviceMatrix>,
        labeled: Option<u64>,
        params: &RoundParams,
        stream: u64,
    ) -> Result<Selection> {
        let plan = plan(&fm, sm.as_ref(), params)?;
        self.bind()?;
        let kern = self.kernels()?;
        let stream = stream as CUstream;
        let out = self.enqueue_and_collect(&kern, &plan, fm, sm, labeled, params, stream);
        // Whatever happened, the stream must be idle before the scratch
        // buffers (freed in its order) and the host copies go away.
        let synced = cudarc::driver::result::stream::synchronize(stream)
            .map_err(driver("cuStreamSynchronize"));
        let collected = out?;
        synced?;
        collected.finish(params, &plan)
    }

    /// [`Gpu::select_on_device`] for matrices in host memory: copies them
    /// to the device first (on a stream of its own).
    ///
    /// ```
    /// use coselect_core::Config;
    /// use coselect_cuda::{Error, Gpu, HostMatrix, RoundParams};
    /// let fm = [4.0f32, 0.0, 0.0, 4.0, 3.0, 1.0, 0.0, 3.5];
    /// let params = RoundParams::first_round(Config::new(2, 2)?);
    /// match Gpu::new(0) {
    ///     Ok(gpu) => {
    ///         let sel = gpu.select(HostMatrix::f32(&fm, 4, 2)?, None, None, &params)?;
    ///         assert_eq!(sel.queries.len(), 2);
    ///     }
    ///     Err(Error::Unavailable { reason }) => println!("SKIPPED: {reason}"),
    ///     Err(e) => return Err(e.into()),
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn select(
        &self,
        fm: HostMatrix<'_>,
        sm: Option<HostMatrix<'_>>,
        labeled: Option<&[bool]>,
        params: &RoundParams,
    ) -> Result<Selection> {
        if let Some(l) = labeled {
            if l.len() != fm.rows {
                return Err(Error::Shape {
                    input: "labeled",
                    expected: format!("{} rows", fm.rows),
                    found: format!("{}", l.len()),
                });
            }
        }
        self.bind()?;
        let stream = self
            .context()
            .new_stream()
            .map_err(driver("cuStreamCreate"))?;
        let raw = stream.cu_stream();
        let dfm = Scratch::upload(fm.bytes, raw)?;
        let dsm = sm.map(|m| Scratch::upload(m.bytes, raw)).transpose()?;
        let mask: Option<Vec<u8>> = labeled.map(|l| l.iter().map(|&b| b as u8).collect());
        let dl = mask
            .as_deref()
            .map(|m| Scratch::upload(m, raw))
            .transpose()?;
        let as_dev = |m: &HostMatrix<'_>, ptr: u64| DeviceMatrix {
            ptr,
            rows: m.rows,
            cols: m.cols,
            dtype: m.dtype,
        };
        let dev_sm = match (&sm, &dsm) {
            (Some(m), Some(d)) => Some(as_dev(m, d.ptr)),
            _ => None,
        };
        // SAFETY: the buffers were just allocated on this context with the
        // matrices' shapes, and outlive the call, which synchronises.
        let r = unsafe {
            self.select_on_device(
                as_dev(&fm, dfm.ptr),
                dev_sm,
                dl.as_ref().map(|d| d.ptr),
                params,
                raw as u64,
            )
        };
        drop((dfm, dsm, dl));
        let synced = stream.synchronize().map_err(driver("cuStreamSynchronize"));
        let r = r?;
        synced?;
        Ok(r)
    }

    #[allow(clippy::too_many_arguments)]
    fn enqueue_and_collect(
        &self,
        kern: &Kernels,
        plan: &Plan,
        fm: DeviceMatrix,
        sm: Option<DeviceMatrix>,
        labeled: Option<u64>,
        params: &RoundParams,
        stream: CUstream,
    ) -> Result<Collected> {
        let (rows, c) = (plan.rows, plan.classes);
        let cfg = &params.config;
        let keys = Scratch::new(rows * c * 4, stream)?;
        let co_rows = if plan.codecide { rows } else { 0 };
        let co_key = Scratch::new(co_rows * 4, stream)?;
        let co_class = Scratch::new(co_rows * 4, stream)?;
        let co_count = Scratch::filled(c * 8, 0, stream)?;
        let sigma = Scratch::filled(c * 8, 0, stream)?;
        let unlabeled = Scratch::filled(8, 0, stream)?;
        let bad = Scratch::filled(8, 0xFF, stream)?;
        let log_prior = Scratch::upload(&params.log_prior, stream)?;
        let boundary = Scratch::upload(&plan.boundary, stream)?;
        let mut sp = ScoreParams {
            fm: fm.ptr,
            sm: sm.map_or(0, |s| s.ptr),
            labeled: labeled.unwrap_or(0),
            log_prior: log_prior.ptr,
            boundary: boundary.ptr,
            keys: keys.ptr,
            co_key: co_key.ptr,
            co_class: co_class.ptr,
            co_count: co_count.ptr,
            sigma: sigma.ptr,
            unlabeled: unlabeled.ptr,
            bad: bad.ptr,
            rows: rows as u64,
            classes: c as u32,
            has_sm: sm.is_some() as u32,
            any_boundary: plan.boundary.iter().any(|&b| b != 0) as u32,
            codecide: plan.codecide as u32,
            validate: params.validate as u32,
            a: params.fusion.a,
            b: params.fusion.b,
            temperature: params.temperature,
            co_confidence: cfg.co_confidence,
            co_floor: cfg.co_floor,
        };
        let score = match fm.dtype {
            DType::F32 => &kern.score_f32,
            DType::F16 => &kern.score_f16,
            DType::Bf16 => &kern.score_bf16,
        };
        let blocks = (rows.div_ceil(256) as u64).clamp(1, kern.multiprocessors as u64 * 16);
        let spp = &mut sp as *mut ScoreParams as *mut c_void;
        launch(
            score,
            (blocks as u32, 1),
            256,
            (2 * c * 4) as u32,
            stream,
            &mut [spp],
        )?;

        let dense = Orderings::Dense {
            keys: keys.ptr,
            rows: rows as u64,
        };
        let queries = select_top_k(kern, stream, &dense, c as u32, cfg.k as u64)?;
        let pseudo = if plan.codecide && plan.cap > 0 {
            let seg_start = Scratch::new(c * 8, stream)?;
            let seg_len = Scratch::new(c * 8, stream)?;
            let cursor = Scratch::new(c * 8, stream)?;
            let items = Scratch::new(rows * 8, stream)?;
            let mut a = [co_count.ptr, seg_start.ptr, seg_len.ptr, cursor.ptr];
            let mut classes = c as u32;
            let mut args: Vec<*mut c_void> =
                a.iter_mut().map(|p| p as *mut u64 as *mut c_void).collect();
            args.push(&mut classes as *mut u32 as *mut c_void);
            launch(&kern.segments, (1, 1), 32, 0, stream, &mut args)?;
            let mut s = [co_key.ptr, co_class.ptr, cursor.ptr, items.ptr, rows as u64];
            let mut args: Vec<*mut c_void> =
                s.iter_mut().map(|p| p as *mut u64 as *mut c_void).collect();
            launch(&kern.scatter, (blocks as u32, 1), 256, 0, stream, &mut args)?;
            let seg = Orderings::Segmented {
                items: items.ptr,
                start: seg_start.ptr,
                len: seg_len.ptr,
                rows: rows as u64,
            };
            let picked = select_top_k(kern, stream, &seg, c as u32, plan.cap)?;
            Some(picked.fetch(stream)?)
        } else {
            None
        };
        let mut col = Collected {
            queries: queries.fetch(stream)?,
            pseudo,
            sigma: vec![0; c],
            unlabeled: vec![0],
            bad: vec![0],
        };
        download(&mut col.sigma, sigma.ptr, stream)?;
        download(&mut col.unlabeled, unlabeled.ptr, stream)?;
        download(&mut col.bad, bad.ptr, stream)?;
        Ok(col)
    }
}
