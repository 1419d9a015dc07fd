//! Writing and reading the dataset arrays as .npy files (through npyz, which the sim crate
//! reads with as well).

use std::io::{BufWriter, Write};
use std::path::Path;

use half::f16;
use npyz::WriterBuilder;

use crate::error::{FmError, Result};

/// How embeddings are stored on disk.
///
/// ```
/// assert_eq!(coselect_fm::EmbeddingDtype::F16.numpy_name(), "float16");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmbeddingDtype {
    /// 32-bit floats.
    F32,
    /// 16-bit floats: half the size, about 3 significant digits.
    F16,
}

impl EmbeddingDtype {
    /// The numpy dtype name.
    ///
    /// ```
    /// assert_eq!(coselect_fm::EmbeddingDtype::F32.numpy_name(), "float32");
    /// ```
    pub fn numpy_name(self) -> &'static str {
        match self {
            EmbeddingDtype::F32 => "float32",
            EmbeddingDtype::F16 => "float16",
        }
    }

    /// Rounds values to what this dtype stores, so scores computed from them match what a
    /// reader of the file sees.
    ///
    /// ```
    /// let mut v = vec![0.1f32];
    /// coselect_fm::EmbeddingDtype::F16.round_in_place(&mut v);
    /// assert_eq!(v[0], half::f16::from_f32(0.1).to_f32());
    /// ```
    pub fn round_in_place(self, values: &mut [f32]) {
        if self == EmbeddingDtype::F16 {
            for v in values {
                *v = f16::from_f32(*v).to_f32();
            }
        }
    }
}

fn npy_err(path: &Path, e: impl std::fmt::Display) -> FmError {
    FmError::Npy {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

fn write_array<T: npyz::AutoSerialize + Copy>(
    path: &Path,
    shape: &[u64],
    data: impl IntoIterator<Item = T>,
) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|e| FmError::io(path, e))?;
    let mut out = BufWriter::new(file);
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .writer(&mut out)
        .begin_nd()
        .map_err(|e| npy_err(path, e))?;
    writer.extend(data).map_err(|e| npy_err(path, e))?;
    writer.finish().map_err(|e| npy_err(path, e))?;
    out.flush().map_err(|e| FmError::io(path, e))
}

/// Writes a row-major `rows x cols` matrix as float32 or float16.
///
/// ```
/// let path = std::env::temp_dir().join("coselect-fm-doc-matrix.npy");
/// coselect_fm::write_matrix(&path, &[1.0, 2.0, 3.0, 4.0], 2, coselect_fm::EmbeddingDtype::F16)?;
/// let (values, rows, cols) = coselect_fm::read_matrix(&path)?;
/// assert_eq!((values, rows, cols), (vec![1.0, 2.0, 3.0, 4.0], 2, 2));
/// # Ok::<(), coselect_fm::FmError>(())
/// ```
pub fn write_matrix(path: &Path, values: &[f32], cols: usize, dtype: EmbeddingDtype) -> Result<()> {
    if cols == 0 || values.len() % cols != 0 {
        return Err(npy_err(
            path,
            format!("{} values do not make rows of {cols}", values.len()),
        ));
    }
    let shape = [(values.len() / cols) as u64, cols as u64];
    match dtype {
        EmbeddingDtype::F32 => write_array(path, &shape, values.iter().copied()),
        EmbeddingDtype::F16 => write_array(path, &shape, values.iter().map(|&v| f16::from_f32(v))),
    }
}

/// Writes labels as a 1-D int64 array.
///
/// ```
/// let path = std::env::temp_dir().join("coselect-fm-doc-labels.npy");
/// coselect_fm::write_labels(&path, &[0, 2, 1])?;
/// # Ok::<(), coselect_fm::FmError>(())
/// ```
pub fn write_labels(path: &Path, labels: &[usize]) -> Result<()> {
    write_array(
        path,
        &[labels.len() as u64],
        labels.iter().map(|&l| l as i64),
    )
}

/// Reads a 2-D float32 or float16 .npy file as f32 values, rows and columns.
///
/// ```
/// let path = std::env::temp_dir().join("coselect-fm-doc-read.npy");
/// coselect_fm::write_matrix(&path, &[0.5, 1.5], 1, coselect_fm::EmbeddingDtype::F32)?;
/// assert_eq!(coselect_fm::read_matrix(&path)?, (vec![0.5, 1.5], 2, 1));
/// # Ok::<(), coselect_fm::FmError>(())
/// ```
pub fn read_matrix(path: &Path) -> Result<(Vec<f32>, usize, usize)> {
    let bytes = std::fs::read(path).map_err(|e| FmError::io(path, e))?;
    let npy = npyz::NpyFile::new(&bytes[..]).map_err(|e| npy_err(path, e))?;
    let shape = npy.shape().to_vec();
    if shape.len() != 2 {
        return Err(npy_err(path, format!("expected 2-D, shape is {shape:?}")));
    }
    let (rows, cols) = (shape[0] as usize, shape[1] as usize);
    let values = match npy.dtype() {
        npyz::DType::Plain(t) if t.type_char() == npyz::TypeChar::Float && t.size_field() == 2 => {
            npy.into_vec::<f16>()
                .map_err(|e| npy_err(path, e))?
                .into_iter()
                .map(f16::to_f32)
                .collect()
        }
        _ => npy.into_vec::<f32>().map_err(|e| npy_err(path, e))?,
    };
    Ok((values, rows, cols))
}
