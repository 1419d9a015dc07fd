//! Borrowed `rows x classes` matrices in f32, f16 or bf16.
//!
//! The core's math takes f32 rows. A half-precision row is widened into a
//! small per-worker buffer right before use (exact: every f16 and bf16 value
//! is an f32 value), so an f16 pool gives the same bits as the same values
//! stored as f32, and no f32 copy of the pool is ever made.

use coselect_core::block::{Lanes, LANES};
use half::{bf16, f16};

use crate::error::{BadValue, Error, Result};
use crate::npy::Dtype;

#[derive(Debug, Clone, Copy)]
enum Data<'a> {
    F32(&'a [f32]),
    F16(&'a [f16]),
    Bf16(&'a [bf16]),
    /// Little-endian bytes that could not be viewed as typed elements in
    /// place (unaligned data, or a big-endian host).
    Le(&'a [u8], Dtype),
}

/// A row-major (C-order) matrix borrowed from memory or a mapped file,
/// with a name for error messages.
///
/// ```
/// use coselect_cpu::Matrix;
/// let v = [1.0f32, 2.0, 3.0, 4.0];
/// let m = Matrix::f32("fm", &v, 2, 2)?;
/// let mut buf = vec![0.0; 2];
/// assert_eq!(m.row(1, &mut buf), &[3.0, 4.0]);
/// # Ok::<(), coselect_cpu::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Matrix<'a> {
    name: String,
    rows: usize,
    cols: usize,
    /// Elements from the start of one row to the start of the next.
    stride: usize,
    data: Data<'a>,
}

impl<'a> Matrix<'a> {
    fn checked(name: &str, rows: usize, cols: usize, found: usize, data: Data<'a>) -> Result<Self> {
        if rows.checked_mul(cols) != Some(found) {
            return Err(Error::BadBuffer {
                input: name.to_string(),
                rows,
                cols,
                found,
            });
        }
        Ok(Matrix {
            name: name.to_string(),
            rows,
            cols,
            stride: cols,
            data,
        })
    }

    /// An f32 matrix whose rows start `stride` elements apart (`stride >=
    /// cols`), as a C caller or a numpy slice `a[:, :C]` lays them out; the
    /// buffer must reach the end of the last row.
    ///
    /// ```
    /// use coselect_cpu::Matrix;
    /// let v = [1.0f32, 2.0, -9.0, 3.0, 4.0]; // 2 x 2 with one pad value per row
    /// let m = Matrix::f32_strided("fm", &v, 2, 2, 3)?;
    /// assert_eq!(m.row(1, &mut [0.0; 2]), &[3.0, 4.0]);
    /// assert!(Matrix::f32_strided("fm", &v, 2, 2, 1).is_err());
    /// # Ok::<(), coselect_cpu::Error>(())
    /// ```
    pub fn f32_strided(
        name: &str,
        data: &'a [f32],
        rows: usize,
        cols: usize,
        stride: usize,
    ) -> Result<Self> {
        let bad = || Error::BadBuffer {
            input: name.to_string(),
            rows,
            cols,
            found: data.len(),
        };
        let needed = match rows {
            0 => Some(0),
            _ => (rows - 1)
                .checked_mul(stride)
                .and_then(|n| n.checked_add(cols)),
        };
        if stride < cols || needed.is_none_or(|n| n > data.len()) {
            return Err(bad());
        }
        Ok(Matrix {
            name: name.to_string(),
            rows,
            cols,
            stride,
            data: Data::F32(data),
        })
    }

    /// An f32 matrix; `data.len()` must be `rows * cols`.
    pub fn f32(name: &str, data: &'a [f32], rows: usize, cols: usize) -> Result<Self> {
        Self::checked(name, rows, cols, data.len(), Data::F32(data))
    }

    /// An f16 matrix.
    ///
    /// ```
    /// use half::f16;
    /// let v: Vec<f16> = [0.5f32, 1.5].iter().map(|&x| f16::from_f32(x)).collect();
    /// let m = coselect_cpu::Matrix::f16("fm", &v, 1, 2)?;
    /// assert_eq!(m.row(0, &mut [0.0; 2]), &[0.5, 1.5]);
    /// # Ok::<(), coselect_cpu::Error>(())
    /// ```
    pub fn f16(name: &str, data: &'a [f16], rows: usize, cols: usize) -> Result<Self> {
        Self::checked(name, rows, cols, data.len(), Data::F16(data))
    }

    /// A bfloat16 matrix.
    pub fn bf16(name: &str, data: &'a [bf16], rows: usize, cols: usize) -> Result<Self> {
        Self::checked(name, rows, cols, data.len(), Data::Bf16(data))
    }

    /// A matrix over little-endian bytes of `dtype` (F32, F16 or Bf16), as a
    /// `.npy` file holds them. Viewed in place when aligned on a
    /// little-endian host, decoded row by row otherwise.
    pub fn from_le_bytes(
        name: &str,
        bytes: &'a [u8],
        dtype: Dtype,
        rows: usize,
        cols: usize,
    ) -> Result<Self> {
        let size = dtype.size();
        if !matches!(dtype, Dtype::F32 | Dtype::F16 | Dtype::Bf16) || bytes.len() % size != 0 {
            return Err(Error::BadBuffer {
                input: name.to_string(),
                rows,
                cols,
                found: bytes.len() / size,
            });
        }
        let n = bytes.len() / size;
        let data = if cfg!(target_endian = "little") {
            match dtype {
                Dtype::F32 => bytemuck::try_cast_slice(bytes).map(Data::F32),
                Dtype::F16 => bytemuck::try_cast_slice(bytes).map(Data::F16),
                _ => bytemuck::try_cast_slice(bytes).map(Data::Bf16),
            }
            .unwrap_or(Data::Le(bytes, dtype))
        } else {
            Data::Le(bytes, dtype)
        };
        Self::checked(name, rows, cols, n, data)
    }

    /// The name used in error messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of rows (samples).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (classes).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// `rows x cols` as text, for messages.
    pub fn shape_text(&self) -> String {
        format!("{}x{}", self.rows, self.cols)
    }

    /// Bytes of input the matrix spans (for throughput figures).
    pub fn byte_len(&self) -> usize {
        let size = match self.data {
            Data::F32(_) => 4,
            Data::F16(_) | Data::Bf16(_) => 2,
            Data::Le(_, d) => d.size(),
        };
        self.rows * self.cols * size
    }

    /// Row `i` as f32: borrowed in place for f32 data, widened into `buf`
    /// (at least `cols` long) otherwise. `i` must be below `rows`.
    #[inline]
    pub fn row<'s>(&'s self, i: usize, buf: &'s mut [f32]) -> &'s [f32] {
        // The f32 case is a slice and inlines into the caller's loop; the
        // decoding cases stay out of line so they do not stop that.
        match self.data {
            Data::F32(v) => &v[i * self.stride..i * self.stride + self.cols],
            _ => self.widen_row(i, buf),
        }
    }

    /// The rows as f32 in place, when they are stored so (the hot case of
    /// the scoring pass, which then copies whole blocks from them).
    #[inline]
    pub(crate) fn f32_rows(&self) -> Option<F32Rows<'a>> {
        match self.data {
            Data::F32(data) => Some(F32Rows {
                data,
                rows: self.rows,
                cols: self.cols,
                stride: self.stride,
            }),
            _ => None,
        }
    }

    #[inline(never)]
    fn widen_row<'s>(&'s self, i: usize, buf: &'s mut [f32]) -> &'s [f32] {
        let c = self.cols;
        let r = i * self.stride..i * self.stride + c;
        let out = &mut buf[..c];
        match self.data {
            Data::F32(v) => return &v[r],
            Data::F16(v) => {
                for (o, x) in out.iter_mut().zip(&v[r]) {
                    *o = x.to_f32();
                }
            }
            Data::Bf16(v) => {
                for (o, x) in out.iter_mut().zip(&v[r]) {
                    *o = x.to_f32();
                }
            }
            Data::Le(b, d) => {
                let s = d.size();
                let bytes = &b[r.start * s..r.end * s];
                match d {
                    Dtype::F32 => {
                        for (o, x) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                            *o = f32::from_le_bytes([x[0], x[1], x[2], x[3]]);
                        }
                    }
                    Dtype::F16 => {
                        for (o, x) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                            *o = f16::from_le_bytes([x[0], x[1]]).to_f32();
                        }
                    }
                    _ => {
                        for (o, x) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                            *o = bf16::from_le_bytes([x[0], x[1]]).to_f32();
                        }
                    }
                }
            }
        }
        out
    }

    /// Checks that row `i` (already read as `row`) is finite; the error names
    /// the matrix, row, column and value.
    #[inline]
    pub(crate) fn check_finite(&self, i: usize, row: &[f32]) -> Result<()> {
        coselect_core::math::check_finite(i as u64, row, self.cols).map_err(|_| {
            let col = row.iter().position(|x| !x.is_finite()).unwrap_or(0);
            let v = row.get(col).copied().unwrap_or(f32::NAN);
            Error::NonFinite {
                input: self.name.clone(),
                row: i as u64,
                col: col as u32,
                value: if v.is_nan() {
                    BadValue::NaN
                } else {
                    BadValue::Infinite(v)
                },
            }
        })
    }

    /// Checks that row `i` holds finite log-probabilities.
    #[inline]
    pub(crate) fn check_log_probabilities(&self, i: usize, row: &[f32]) -> Result<()> {
        // The core checks finiteness too: one pass on the good path, and the
        // named error of `check_finite` only once something is wrong.
        coselect_core::math::check_log_probabilities(i as u64, row, self.cols).map_err(|e| {
            if let Err(named) = self.check_finite(i, row) {
                return named;
            }
            let sum = match e {
                coselect_core::Error::NotNormalized { sum, .. } => sum,
                _ => f32::NAN,
            };
            Error::NotLogProbabilities {
                input: self.name.clone(),
                row: i as u64,
                sum,
            }
        })
    }
}

/// How far ahead of the block being copied its rows are prefetched: three
/// blocks. Measured at 1M x 10 on one thread (process CPU time, 15 rounds):
/// about 9% less than no prefetch; 16 to 128 rows ahead all gave about the
/// same, 512 a little worse.
#[cfg(target_arch = "x86_64")]
const PREFETCH_ROWS: usize = 3 * LANES;

/// An f32 matrix's rows in place: see [`Matrix::f32_rows`].
#[derive(Clone, Copy)]
pub(crate) struct F32Rows<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    stride: usize,
}

impl F32Rows<'_> {
    /// Copies rows `i .. i + LANES` (all below `rows`) into `out` in the
    /// core's block layout, `out[c][j]` = class `c` of row `i + j`.
    /// `avx2`: the caller runs compiled with AVX2, so the copy may use it.
    #[inline(always)]
    pub(crate) fn transpose_block(&self, i: usize, out: &mut [Lanes], avx2: bool) {
        assert!(i + LANES <= self.rows && out.len() >= self.cols);
        let src = &self.data[i * self.stride..];
        // The hardware prefetchers alone leave the block copy waiting on
        // memory (it took ~15% of a profile, while an AVX2 copy with half
        // the instructions was no faster).
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let ahead = self
                .data
                .as_ptr()
                .wrapping_add((i + PREFETCH_ROWS) * self.stride);
            let bytes = LANES * self.stride * 4;
            for off in (0..bytes).step_by(64) {
                // SAFETY: a prefetch never faults, whatever the address.
                #[allow(unsafe_code)]
                unsafe {
                    _mm_prefetch::<_MM_HINT_T0>((ahead as *const i8).wrapping_add(off))
                };
            }
        }
        // The classes copied by the AVX2 tiles; the rest move one by one.
        #[cfg(target_arch = "x86_64")]
        let from = match avx2 {
            // SAFETY: `avx2` is set only by the scoring loop's AVX2 copy,
            // which runs after the CPU was checked; the assert above keeps
            // every row of the block inside `src`.
            #[allow(unsafe_code)]
            true => unsafe { transpose_tiles_avx2(src, self.stride, self.cols, out) },
            false => 0,
        };
        #[cfg(not(target_arch = "x86_64"))]
        let from = {
            let _ = avx2;
            0
        };
        for j in 0..LANES {
            let row = &src[j * self.stride + from..j * self.stride + self.cols];
            for (t, &v) in out[from..].iter_mut().zip(row) {
                t[j] = v;
            }
        }
    }
}

/// The classes of a block (see [`F32Rows::transpose_block`]) as 8 x 8
/// tiles transposed in registers: one 8-wide load per row and tile and one
/// 8-wide store per class and half block, where the plain copy moves every
/// value on its own. With `cols >= 8` every class is copied: the classes
/// past the last whole tile by one more tile ending at the last class, which
/// overlaps the one before and writes its classes again with the same
/// values (at 10 classes two tiles instead of one and 32 single moves).
/// Returns the classes copied (all of them, or 0 below 8 classes). `src`
/// holds `LANES` rows `stride` apart, `out` at least `cols` classes.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(unsafe_code)]
#[inline]
unsafe fn transpose_tiles_avx2(
    src: &[f32],
    stride: usize,
    cols: usize,
    out: &mut [Lanes],
) -> usize {
    use std::arch::x86_64::*;
    let full = cols / 8 * 8;
    assert!(src.len() >= (LANES - 1) * stride + cols && out.len() >= cols);
    if cols < 8 {
        return 0;
    }
    let p = src.as_ptr();
    let last = (cols > full).then_some(cols - 8);
    for c in (0..full).step_by(8).chain(last) {
        for h in 0..LANES / 8 {
            // SAFETY: rows `h * 8 + j < LANES`, classes `c .. c + 8 <= cols`:
            // inside `src` by the assert.
            let r = |j: usize| unsafe { _mm256_loadu_ps(p.add((h * 8 + j) * stride + c)) };
            let (r0, r1, r2, r3) = (r(0), r(1), r(2), r(3));
            let (r4, r5, r6, r7) = (r(4), r(5), r(6), r(7));
            let t0 = _mm256_unpacklo_ps(r0, r1);
            let t1 = _mm256_unpackhi_ps(r0, r1);
            let t2 = _mm256_unpacklo_ps(r2, r3);
            let t3 = _mm256_unpackhi_ps(r2, r3);
            let t4 = _mm256_unpacklo_ps(r4, r5);
            let t5 = _mm256_unpackhi_ps(r4, r5);
            let t6 = _mm256_unpacklo_ps(r6, r7);
            let t7 = _mm256_unpackhi_ps(r6, r7);
            let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
            let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
            let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
            let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
            let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
            let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
            let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
            let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
            let cols8 = [
                _mm256_permute2f128_ps::<0x20>(u0, u4),
                _mm256_permute2f128_ps::<0x20>(u1, u5),
                _mm256_permute2f128_ps::<0x20>(u2, u6),
                _mm256_permute2f128_ps::<0x20>(u3, u7),
                _mm256_permute2f128_ps::<0x31>(u0, u4),
                _mm256_permute2f128_ps::<0x31>(u1, u5),
                _mm256_permute2f128_ps::<0x31>(u2, u6),
                _mm256_permute2f128_ps::<0x31>(u3, u7),
            ];
            for (k, v) in cols8.into_iter().enumerate() {
                let dst = &mut out[c + k][h * 8..h * 8 + 8];
                // SAFETY: `dst` is 8 floats.
                unsafe { _mm256_storeu_ps(dst.as_mut_ptr(), v) };
            }
        }
    }
    cols
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_storage_reads_the_same_row() {
        let v = [0.5f32, -1.25, 3.0, 1e-3, 65504.0, -0.0];
        let h: Vec<f16> = v.iter().map(|&x| f16::from_f32(x)).collect();
        let b: Vec<bf16> = v.iter().map(|&x| bf16::from_f32(x)).collect();
        let le: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        // Shift by one byte to force the unaligned, decoded path.
        let mut shifted = vec![0u8];
        shifted.extend_from_slice(&le);
        let mats = [
            Matrix::f32("a", &v, 2, 3).unwrap(),
            Matrix::from_le_bytes("b", &le, Dtype::F32, 2, 3).unwrap(),
            Matrix::from_le_bytes("c", &shifted[1..], Dtype::F32, 2, 3).unwrap(),
        ];
        let mut buf = [0.0f32; 3];
        for m in &mats {
            assert_eq!(m.row(1, &mut buf), &v[3..]);
        }
        let hm = Matrix::f16("h", &h, 2, 3).unwrap();
        let hb: Vec<u8> = h.iter().flat_map(|x| x.to_le_bytes()).collect();
        let mut hs = vec![0u8];
        hs.extend_from_slice(&hb);
        let hl = Matrix::from_le_bytes("h", &hs[1..], Dtype::F16, 2, 3).unwrap();
        let want: Vec<f32> = h.iter().map(|x| x.to_f32()).collect();
        assert_eq!(hm.row(0, &mut buf).to_vec(), want[..3]);
        assert_eq!(hl.row(0, &mut buf).to_vec(), want[..3]);
        let bm = Matrix::bf16("b", &b, 2, 3).unwrap();
        assert_eq!(bm.row(0, &mut buf)[0], 0.5);
    }

    #[test]
    fn block_copies_agree() {
        // Only where the CPU has AVX2 may the wide copy run.
        #[cfg(target_arch = "x86_64")]
        let avx2 = std::is_x86_feature_detected!("avx2");
        #[cfg(not(target_arch = "x86_64"))]
        let avx2 = false;
        for cols in [2, 7, 8, 9, 10, 16, 17, 33] {
            for stride in [cols, cols + 3] {
                let rows = 40;
                let v: Vec<f32> = (0..rows * stride).map(|x| x as f32 * 0.5 - 7.0).collect();
                let m = Matrix::f32_strided("fm", &v, rows, cols, stride).unwrap();
                let r = m.f32_rows().unwrap();
                for i in [0, 5, rows - LANES] {
                    let mut plain = vec![[0.0f32; LANES]; cols];
                    let mut wide = vec![[1.0f32; LANES]; cols];
                    r.transpose_block(i, &mut plain, false);
                    r.transpose_block(i, &mut wide, avx2);
                    for (c, lanes) in plain.iter().enumerate() {
                        for (j, &x) in lanes.iter().enumerate() {
                            assert_eq!(x, v[(i + j) * stride + c], "{cols} {stride} {i}");
                        }
                    }
                    assert_eq!(plain, wide, "{cols} {stride} {i}");
                }
            }
        }
    }

    #[test]
    fn refuses_wrong_buffer_sizes() {
        let v = [0.0f32; 5];
        let e = Matrix::f32("fm", &v, 2, 3).unwrap_err().to_string();
        assert_eq!(e, "fm: buffer of 5 values does not hold 2x3");
        assert!(Matrix::f32("fm", &v, usize::MAX, 2).is_err());
        assert!(Matrix::from_le_bytes("fm", &[0u8; 7], Dtype::F32, 1, 2).is_err());
        assert!(Matrix::from_le_bytes("fm", &[0u8; 8], Dtype::I64, 1, 1).is_err());
    }

    #[test]
    fn value_errors_name_row_col_and_value() {
        let v = [0.0f32, 1.0, f32::NAN, f32::NEG_INFINITY];
        let m = Matrix::f32("fm.npy", &v, 2, 2).unwrap();
        let mut buf = [0.0; 2];
        let e = m
            .check_finite(1, m.row(1, &mut buf))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "fm.npy: NaN at row 1, col 0");
        let w = [0.0f32, f32::INFINITY];
        let m = Matrix::f32("sm.npy", &w, 1, 2).unwrap();
        let e = m
            .check_finite(0, m.row(0, &mut buf))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "sm.npy: inf at row 0, col 1");
        let z = [0.0f32, 0.0];
        let m = Matrix::f32("sm.npy", &z, 1, 2).unwrap();
        let e = m
            .check_log_probabilities(0, m.row(0, &mut buf))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "sm.npy: row 0 is not log-probabilities (exp sums to 2, not 1)"
        );
    }
}
