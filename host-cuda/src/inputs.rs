//! What a round on the GPU takes: the pool's matrices (device pointers or
//! host slices) and the round's parameters from the host's calibration and
//! prior estimate.

use coselect_core::{Config, Fusion};

use crate::error::{Error, Result};

/// Element type of a score matrix.
///
/// ```
/// assert_eq!(coselect_cuda::DType::Bf16.size(), 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    /// IEEE binary32 (`torch.float32`).
    F32,
    /// IEEE binary16 (`torch.float16`).
    F16,
    /// bfloat16 (`torch.bfloat16`).
    Bf16,
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F16 | DType::Bf16 => 2,
        }
    }
}

/// A row-major, contiguous `rows x cols` matrix in device memory, e.g. a
/// PyTorch tensor's `data_ptr()` (call `.contiguous()` first).
///
/// ```
/// use coselect_cuda::{DType, DeviceMatrix};
/// let m = DeviceMatrix { ptr: 0x7f00_0000_0000, rows: 1000, cols: 10, dtype: DType::F32 };
/// assert_eq!(m.bytes(), 40_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceMatrix {
    /// The device address of element (0, 0) (a `CUdeviceptr`).
    pub ptr: u64,
    /// Rows (pool samples).
    pub rows: usize,
    /// Columns (classes).
    pub cols: usize,
    /// Element type.
    pub dtype: DType,
}

impl DeviceMatrix {
    /// Bytes the matrix spans.
    pub fn bytes(&self) -> usize {
        self.rows * self.cols * self.dtype.size()
    }

    pub(crate) fn check(&self, input: &'static str) -> Result<()> {
        if self.ptr == 0 || self.ptr % self.dtype.size() as u64 != 0 {
            return Err(Error::Shape {
                input,
                expected: format!("a non-null device address aligned to {}", self.dtype.size()),
                found: format!("{:#x}", self.ptr),
            });
        }
        Ok(())
    }
}

/// A row-major `rows x cols` matrix in host memory, copied to the device by
/// [`crate::Gpu::select`]. f16 and bf16 are given as their bit patterns.
///
/// ```
/// let m = coselect_cuda::HostMatrix::f32(&[0.0; 6], 3, 2)?;
/// assert_eq!((m.rows(), m.cols()), (3, 2));
/// assert!(coselect_cuda::HostMatrix::f32(&[0.0; 5], 3, 2).is_err());
/// # Ok::<(), coselect_cuda::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct HostMatrix<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) dtype: DType,
}

impl<'a> HostMatrix<'a> {
    /// An f32 matrix.
    pub fn f32(data: &'a [f32], rows: usize, cols: usize) -> Result<Self> {
        Self::new(
            bytemuck::cast_slice(data),
            data.len(),
            rows,
            cols,
            DType::F32,
        )
    }

    /// An f16 matrix from its bits (`half::f16::to_bits`).
    pub fn f16_bits(data: &'a [u16], rows: usize, cols: usize) -> Result<Self> {
        Self::new(
            bytemuck::cast_slice(data),
            data.len(),
            rows,
            cols,
            DType::F16,
        )
    }

    /// A bf16 matrix from its bits (`half::bf16::to_bits`).
    pub fn bf16_bits(data: &'a [u16], rows: usize, cols: usize) -> Result<Self> {
        Self::new(
            bytemuck::cast_slice(data),
            data.len(),
            rows,
            cols,
            DType::Bf16,
        )
    }

    fn new(bytes: &'a [u8], len: usize, rows: usize, cols: usize, dtype: DType) -> Result<Self> {
        if rows.checked_mul(cols) != Some(len) {
            return Err(Error::Shape {
                input: "host matrix",
                expected: format!("{rows} x {cols} elements"),
                found: format!("{len}"),
            });
        }
        Ok(HostMatrix {
            bytes,
            rows,
            cols,
            dtype,
        })
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns.
    pub fn cols(&self) -> usize {
        self.cols
    }
}

/// The parameters of one round, as the CPU host computes them before its
/// scoring pass (`coselect_cpu::RoundResult` carries them: `calibration`
/// and `prior`).
///
/// ```
/// use coselect_core::{Config, Fusion};
/// let p = coselect_cuda::RoundParams::first_round(Config::new(3, 6)?);
/// assert_eq!(p.counts, [0, 0, 0]);
/// # Ok::<(), coselect_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RoundParams {
    /// The method's configuration (`classes`, `k`, `seed_min`, the
    /// co-decision thresholds and cap).
    pub config: Config,
    /// Trusted human labels per class (they set each class's mode, the
    /// quotas and the pseudo-label cap).
    pub counts: Vec<u32>,
    /// Weights of the fused posterior: `(a, b)` of `a * fm + b * sm`
    /// (`Calibration::posterior_weights` on the CPU host).
    pub fusion: Fusion,
    /// FM temperature multiplier `a_t` for the co-decision.
    pub temperature: f32,
    /// `log pi`, the pool prior's logarithm (used in seed mode only).
    pub log_prior: Vec<f32>,
    /// Check every unlabeled row (finite values, normalised small-model
    /// rows) on the device; an error names the first bad value.
    pub validate: bool,
}

impl RoundParams {
    /// Round 0: no labels, FM at temperature 1, uniform prior.
    pub fn first_round(config: Config) -> Self {
        let c = config.classes as usize;
        RoundParams {
            config,
            counts: vec![0; c],
            fusion: Fusion { a: 1.0, b: 0.0 },
            temperature: 1.0,
            log_prior: vec![-(c as f32).ln(); c],
            validate: true,
        }
    }
}

/// What a round on the GPU decides; the same fields the CPU host's
/// `RoundResult` has for them.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// The query batch in pick order.
    pub queries: Vec<coselect_core::Pick>,
    /// Co-decided pseudo-labels, class by class, most confident first.
    pub pseudo_labels: Vec<coselect_core::PseudoLabel>,
    /// Unlabeled rows scored.
    pub unlabeled: u64,
}
