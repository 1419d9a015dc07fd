//! Sentence pooling: the mean of token vectors weighted by the attention mask, then L2
//! normalisation, as sentence-transformers does for all-MiniLM-L6-v2.

use candle_core::{DType, Tensor, D};

use crate::error::Result;

/// Pools `hidden` (batch x tokens x dim) into unit vectors (batch x dim), counting only the
/// tokens whose `mask` (batch x tokens, 0/1) is set, so padding never dilutes the mean.
///
/// ```
/// use candle_core::{Device, Tensor};
/// let dev = Device::Cpu;
/// // One sentence, two real tokens and one padding token.
/// let hidden = Tensor::new(&[[[3.0f32, 0.0], [1.0, 0.0], [0.0, 100.0]]], &dev)?;
/// let mask = Tensor::new(&[[1u32, 1, 0]], &dev)?;
/// let pooled = coselect_fm::mean_pool_normalize(&hidden, &mask)?;
/// assert_eq!(pooled.to_vec2::<f32>()?, vec![vec![1.0, 0.0]]);
/// # Ok::<(), coselect_fm::FmError>(())
/// ```
pub fn mean_pool_normalize(hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(D::Minus1)?;
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
    // A row of all padding would divide by zero; clamp like sentence-transformers (1e-9).
    let counts = mask.sum(1)?.clamp(1e-9f32, f32::MAX)?;
    let mean = summed.broadcast_div(&counts)?;
    let norm = mean
        .sqr()?
        .sum_keepdim(1)?
        .sqrt()?
        .clamp(1e-12f32, f32::MAX)?;
    Ok(mean.broadcast_div(&norm)?)
}
