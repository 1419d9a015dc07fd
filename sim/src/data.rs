//! Reading a dataset folder in DESIGN.md's format and checking it before any work starts.
//!
//! `embeddings.npy` (N x D, f32 or f16), `fm_scores.npy` (N x C, f32 FM logits or
//! log-probabilities: either way the harness takes their log-softmax), `labels.npy` (N, i64 clean
//! labels in 0..C), `meta.json` (an object; `class_names` is read when present), optional
//! `split.npy` (N, bool / integer: non-zero marks a test row), optional `concept_scores.npy`
//! (N x concepts, finite FM scores over finer prompts of the classes) with meta.json's
//! `concepts` (each with an integer `class`; both or neither, every class with a concept).

use std::path::{Path, PathBuf};

use npyz::{DType, NpyFile, Order, TypeChar};

use crate::error::{Result, SimError};
use crate::matrix::Matrix;

/// A loaded, checked dataset folder.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The folder it came from.
    pub path: PathBuf,
    /// Embeddings, N x D.
    pub embeddings: Matrix,
    /// FM scores as given, N x C.
    pub fm_scores: Matrix,
    /// Clean labels, N, each in `0..n_classes`.
    pub labels: Vec<usize>,
    /// Class names (from `meta.json`, else `class0`, `class1`, ...).
    pub class_names: Vec<String>,
    /// `meta.json` as read.
    pub meta: serde_json::Value,
    /// `split.npy` when present: `true` marks a test row.
    pub test_mask: Option<Vec<bool>>,
    /// `concept_scores.npy` (N x concepts, FM scores over finer prompts of the classes) and the
    /// class of each concept (meta.json's `concepts[].class`), when the folder has them.
    pub concepts: Option<DatasetConcepts>,
}

/// FM scores over the concepts of the classes, as `coselect prepare` writes them for a prompts
/// file with `concepts`.
///
/// ```
/// use coselect_sim::{DatasetConcepts, Matrix};
/// // Two rows; class 0 has two concepts, class 1 one.
/// let dc = DatasetConcepts { scores: Matrix::new(2, 3, vec![0.0; 6]), class_of: vec![0, 0, 1] };
/// assert!(dc.check(2, 2).is_ok());
/// assert!(dc.check(2, 3).unwrap_err().contains("no concept of class 2"));
/// ```
#[derive(Debug, Clone)]
pub struct DatasetConcepts {
    /// FM scores as given, N x concepts (finite: cosines over a temperature).
    pub scores: Matrix,
    /// The class of each concept; every class has at least one.
    pub class_of: Vec<usize>,
}

impl DatasetConcepts {
    /// Checks the concepts against a dataset of `n` rows and `n_classes` classes: one score per
    /// row and concept, every concept's class in range, every class with a concept, every score
    /// finite (unlike fm_scores.npy, where log-probabilities may be -inf, concept scores are
    /// cosines over a temperature). The reason when not.
    pub fn check(&self, n: usize, n_classes: usize) -> std::result::Result<(), String> {
        if let Some((j, c)) = self
            .class_of
            .iter()
            .enumerate()
            .find(|(_, &c)| c >= n_classes)
        {
            return Err(format!(
                "concept {j} names class {c}, outside 0..{n_classes}"
            ));
        }
        if let Some(c) = (0..n_classes).find(|c| !self.class_of.contains(c)) {
            return Err(format!("no concept of class {c}"));
        }
        if self.scores.rows() != n || self.scores.cols() != self.class_of.len() {
            return Err(format!(
                "concept_scores.npy is {}x{}, expected {n}x{} (rows of embeddings.npy x concepts in meta.json)",
                self.scores.rows(),
                self.scores.cols(),
                self.class_of.len()
            ));
        }
        if let Some(i) = self.scores.data().iter().position(|x| !x.is_finite()) {
            return Err(format!(
                "concept_scores.npy holds a non-finite value at row {}",
                i / self.scores.cols()
            ));
        }
        Ok(())
    }
}

impl Dataset {
    /// Reads and checks the folder `dir`.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// coselect_sim::synthetic::write_blobs(dir.path(), 60, 8, 3, 7)?;
    /// let ds = coselect_sim::Dataset::load(dir.path())?;
    /// assert_eq!((ds.len(), ds.n_classes()), (60, 3));
    /// # Ok(()) }
    /// ```
    pub fn load(dir: &Path) -> Result<Self> {
        let bad = |reason: String| SimError::Dataset {
            path: dir.to_path_buf(),
            reason,
        };
        if !dir.is_dir() {
            return Err(bad("not a directory".into()));
        }
        let embeddings = read_float_matrix(&dir.join("embeddings.npy"))?;
        let fm_scores = read_float_matrix(&dir.join("fm_scores.npy"))?;
        let labels_raw = read_int_vector(&dir.join("labels.npy"))?;
        let meta_path = dir.join("meta.json");
        let meta_text = std::fs::read_to_string(&meta_path).map_err(|source| SimError::Io {
            path: meta_path.clone(),
            source,
        })?;
        let meta: serde_json::Value =
            serde_json::from_str(&meta_text).map_err(|e| SimError::Meta {
                path: meta_path.clone(),
                reason: e.to_string(),
            })?;
        if !meta.is_object() {
            return Err(SimError::Meta {
                path: meta_path,
                reason: "not a JSON object".into(),
            });
        }

        let n = embeddings.rows();
        if n == 0 || embeddings.cols() == 0 {
            return Err(bad("embeddings.npy is empty".into()));
        }
        if fm_scores.rows() != n {
            return Err(bad(format!(
                "fm_scores.npy has {} rows, embeddings.npy has {n}",
                fm_scores.rows()
            )));
        }
        if labels_raw.len() != n {
            return Err(bad(format!(
                "labels.npy has {} rows, embeddings.npy has {n}",
                labels_raw.len()
            )));
        }
        let c = fm_scores.cols();
        if c < 2 {
            return Err(bad(format!(
                "fm_scores.npy has {c} classes; at least 2 are needed"
            )));
        }
        if let Some(i) = embeddings.data().iter().position(|x| !x.is_finite()) {
            return Err(bad(format!(
                "embeddings.npy holds a non-finite value at row {}",
                i / embeddings.cols()
            )));
        }
        // -inf is a legal log-probability; NaN and +inf are not.
        if let Some(i) = fm_scores
            .data()
            .iter()
            .position(|x| x.is_nan() || *x == f32::INFINITY)
        {
            return Err(bad(format!(
                "fm_scores.npy holds NaN or +inf at row {}",
                i / c
            )));
        }
        if let Some(i) = (0..n).find(|&i| fm_scores.row(i).iter().all(|x| *x == f32::NEG_INFINITY))
        {
            return Err(bad(format!(
                "fm_scores.npy row {i} is -inf for every class"
            )));
        }
        let mut labels = Vec::with_capacity(n);
        for (i, &y) in labels_raw.iter().enumerate() {
            if y < 0 || y as usize >= c {
                return Err(bad(format!(
                    "labels.npy row {i} is {y}, outside 0..{c} (fm_scores.npy has {c} classes)"
                )));
            }
            labels.push(y as usize);
        }

        let class_names = match meta.get("class_names") {
            Some(serde_json::Value::Array(names)) => {
                if names.len() != c {
                    return Err(SimError::Meta {
                        path: meta_path,
                        reason: format!(
                            "class_names has {} entries, fm_scores.npy has {c} classes",
                            names.len()
                        ),
                    });
                }
                names
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .collect()
            }
            _ => (0..c).map(|k| format!("class{k}")).collect(),
        };

        let split_path = dir.join("split.npy");
        let test_mask = if split_path.exists() {
            let s = read_int_vector(&split_path)?;
            if s.len() != n {
                return Err(bad(format!(
                    "split.npy has {} rows, embeddings.npy has {n}",
                    s.len()
                )));
            }
            Some(s.iter().map(|&v| v != 0).collect())
        } else {
            None
        };

        let concepts = read_concepts(dir, &meta, n, c)?;

        Ok(Self {
            path: dir.to_path_buf(),
            embeddings,
            fm_scores,
            labels,
            class_names,
            meta,
            test_mask,
            concepts,
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the dataset has no rows (never true for a loaded one).
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of classes (columns of the FM scores).
    pub fn n_classes(&self) -> usize {
        self.fm_scores.cols()
    }

    /// Embedding dimension.
    pub fn dim(&self) -> usize {
        self.embeddings.cols()
    }

    /// Rows per class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.n_classes()];
        for &y in &self.labels {
            counts[y] += 1;
        }
        counts
    }
}

type InMemoryNpy = NpyFile<std::io::Cursor<Vec<u8>>>;

fn open_npy(path: &Path) -> Result<(InMemoryNpy, TypeChar, u64)> {
    let bytes = std::fs::read(path).map_err(|source| SimError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let npy_err = |reason: String| SimError::Npy {
        path: path.to_path_buf(),
        reason,
    };
    let npy = NpyFile::new(std::io::Cursor::new(bytes))
        .map_err(|e| npy_err(format!("unreadable header: {e}")))?;
    if npy.order() == Order::Fortran && npy.shape().len() > 1 {
        return Err(npy_err(
            "Fortran order is not supported; write C order".into(),
        ));
    }
    let (tc, size) = match npy.dtype() {
        DType::Plain(ts) => (ts.type_char(), ts.size_field()),
        other => return Err(npy_err(format!("unsupported dtype {}", other.descr()))),
    };
    Ok((npy, tc, size))
}

fn truncated(path: &Path, e: std::io::Error) -> SimError {
    SimError::Npy {
        path: path.to_path_buf(),
        reason: format!("data unreadable or truncated: {e}"),
    }
}

/// `concept_scores.npy` with meta.json's `concepts`: both or neither, then
/// [`DatasetConcepts::check`].
fn read_concepts(
    dir: &Path,
    meta: &serde_json::Value,
    n: usize,
    n_classes: usize,
) -> Result<Option<DatasetConcepts>> {
    let path = dir.join("concept_scores.npy");
    let listed = meta.get("concepts");
    let bad = |reason: String| SimError::Dataset {
        path: dir.to_path_buf(),
        reason,
    };
    match (path.exists(), listed) {
        (false, None) => return Ok(None),
        (true, None) => {
            return Err(bad(
                "concept_scores.npy is present but meta.json has no `concepts`".into(),
            ))
        }
        (false, Some(_)) => {
            return Err(bad(
                "meta.json lists `concepts` but concept_scores.npy is missing".into(),
            ))
        }
        (true, Some(_)) => {}
    }
    let entries = listed
        .and_then(|v| v.as_array())
        .ok_or_else(|| bad("meta.json `concepts` is not an array".into()))?;
    let mut class_of = Vec::with_capacity(entries.len());
    for (j, e) in entries.iter().enumerate() {
        let c = e
            .get("class")
            .and_then(|v| v.as_u64())
            .ok_or_else(|| bad(format!("meta.json concept {j} has no integer `class`")))?;
        class_of.push(usize::try_from(c).unwrap_or(usize::MAX));
    }
    let scores = read_float_matrix(&path)?;
    let concepts = DatasetConcepts { scores, class_of };
    concepts
        .check(n, n_classes)
        .map_err(|r| bad(format!("concepts (meta.json, concept_scores.npy): {r}")))?;
    Ok(Some(concepts))
}

/// Reads a 2-D `f32` or `f16` array.
pub(crate) fn read_float_matrix(path: &Path) -> Result<Matrix> {
    let (npy, tc, size) = open_npy(path)?;
    let shape = npy.shape().to_vec();
    if shape.len() != 2 {
        return Err(SimError::Npy {
            path: path.to_path_buf(),
            reason: format!("expected 2 dimensions, found shape {shape:?}"),
        });
    }
    let (rows, cols) = (shape[0] as usize, shape[1] as usize);
    let data: Vec<f32> = match (tc, size) {
        (TypeChar::Float, 4) => npy.into_vec::<f32>().map_err(|e| truncated(path, e))?,
        (TypeChar::Float, 2) => npy
            .into_vec::<half::f16>()
            .map_err(|e| truncated(path, e))?
            .into_iter()
            .map(f32::from)
            .collect(),
        _ => {
            return Err(SimError::Npy {
                path: path.to_path_buf(),
                reason: format!("expected float32 or float16, found {}", npy.dtype().descr()),
            })
        }
    };
    if data.len() != rows * cols {
        return Err(SimError::Npy {
            path: path.to_path_buf(),
            reason: "data shorter than its shape".into(),
        });
    }
    Ok(Matrix::new(rows, cols, data))
}

/// Reads a 1-D integer or boolean array as `i64`.
pub(crate) fn read_int_vector(path: &Path) -> Result<Vec<i64>> {
    let (npy, tc, size) = open_npy(path)?;
    let shape = npy.shape().to_vec();
    if shape.len() != 1 {
        return Err(SimError::Npy {
            path: path.to_path_buf(),
            reason: format!("expected 1 dimension, found shape {shape:?}"),
        });
    }
    let err = |e| truncated(path, e);
    let data: Vec<i64> = match (tc, size) {
        (TypeChar::Int, 8) => npy.into_vec::<i64>().map_err(err)?,
        (TypeChar::Int, 4) => npy
            .into_vec::<i32>()
            .map_err(err)?
            .into_iter()
            .map(i64::from)
            .collect(),
        (TypeChar::Int, 1) => npy
            .into_vec::<i8>()
            .map_err(err)?
            .into_iter()
            .map(i64::from)
            .collect(),
        (TypeChar::Uint, 1) => npy
            .into_vec::<u8>()
            .map_err(err)?
            .into_iter()
            .map(i64::from)
            .collect(),
        (TypeChar::Bool, 1) => npy
            .into_vec::<bool>()
            .map_err(err)?
            .into_iter()
            .map(i64::from)
            .collect(),
        _ => {
            return Err(SimError::Npy {
                path: path.to_path_buf(),
                reason: format!(
                    "expected int64, int32, int8, uint8 or bool, found {}",
                    npy.dtype().descr()
                ),
            })
        }
    };
    if data.len() != shape[0] as usize {
        return Err(SimError::Npy {
            path: path.to_path_buf(),
            reason: "data shorter than its shape".into(),
        });
    }
    Ok(data)
}
