//! meta.json of a dataset folder: what the arrays are, where they came from and how they were
//! made, plus the fingerprints that let a rerun skip current work.

use std::path::Path;

use crate::error::{FmError, Result};
use crate::npy::EmbeddingDtype;
use crate::zeroshot::Agreement;

/// The format tag written to every meta.json.
pub const META_FORMAT: &str = "coselect-dataset/1";

/// One class: its name, sample count, description and the prompt sentence embedded for it.
///
/// ```
/// let c = coselect_fm::ClassMeta {
///     name: "cat".into(), count: 3, description: "a cat".into(), prompt: "a photo of a cat".into(),
/// };
/// assert!(serde_json::to_string(&c).unwrap().contains("\"count\":3"));
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassMeta {
    /// Class name (index = position in `Meta::classes`).
    pub name: String,
    /// Samples of this class in the folder.
    pub count: usize,
    /// The description from the prompts file.
    pub description: String,
    /// The template filled with the description.
    pub prompt: String,
}

/// One FM concept of a class (a column of `concept_scores.npy`).
///
/// ```
/// let c = coselect_fm::ConceptMeta { class: 0, description: "a cat".into(), prompt: "a cat".into() };
/// assert!(serde_json::to_string(&c).unwrap().contains("\"class\":0"));
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConceptMeta {
    /// Index of the class the concept belongs to.
    pub class: usize,
    /// The description from the prompts file.
    pub description: String,
    /// The template filled with the description.
    pub prompt: String,
}

/// The foundation model that made the arrays.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FmMeta {
    /// Model name.
    pub name: String,
    /// The file the weights were read from.
    pub weights: String,
    /// How token vectors become one vector.
    pub pooling: String,
    /// The token window; longer texts were truncated.
    pub max_tokens: usize,
    /// Embedding dimension.
    pub dim: usize,
    /// Storage type of embeddings.npy.
    pub embedding_dtype: EmbeddingDtype,
}

/// How the rows were drawn when the folder is a sample of its source.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SamplingMeta {
    /// Rows in the source.
    pub source_rows: usize,
    /// Rows requested.
    pub target: usize,
    /// The floor per class before proportional sharing.
    pub min_per_class: usize,
    /// Seed of the shuffle.
    pub seed: u64,
    /// The method, in words.
    pub method: String,
}

/// Content hashes of the inputs: `embeddings` covers model, texts and dtype; `all` covers
/// everything that shapes the folder.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Fingerprints {
    /// Hash of what embeddings.npy depends on.
    pub embeddings: String,
    /// Hash of what the whole folder depends on.
    pub all: String,
}

/// The contents of meta.json.
///
/// ```
/// let json = r#"{"format":"coselect-dataset/1"}"#;
/// assert!(serde_json::from_str::<coselect_fm::Meta>(json).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Meta {
    /// Always [`META_FORMAT`].
    pub format: String,
    /// Dataset name.
    pub name: String,
    /// Rows of every array.
    pub n_samples: usize,
    /// Class names in label order (labels.npy holds indices into it).
    pub class_names: Vec<String>,
    /// Per-class details in label order.
    pub classes: Vec<ClassMeta>,
    /// The columns of `concept_scores.npy` (cosine to each concept prompt / temperature), in
    /// class order; empty, and the file absent, when the prompts file has no concepts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub concepts: Vec<ConceptMeta>,
    /// Where the texts came from.
    pub source: String,
    /// Licence of the source data.
    pub licence: String,
    /// The foundation model.
    pub fm: FmMeta,
    /// What fm_scores.npy holds.
    pub fm_scores: String,
    /// The prompt template.
    pub template: String,
    /// The divisor of the cosines in fm_scores.npy.
    pub temperature: f32,
    /// Zero-shot accuracy and macro-F1 of argmax fm_scores against labels.npy.
    pub zero_shot: Agreement,
    /// Texts longer than the token window, truncated.
    pub truncated_texts: usize,
    /// Counted problems met on the way.
    pub warnings: Vec<String>,
    /// How rows were sampled, when they were.
    pub sampling: Option<SamplingMeta>,
    /// The program that wrote the folder.
    pub made_by: String,
    /// Input hashes for skipping current work.
    pub fingerprints: Fingerprints,
}

impl Meta {
    /// Reads meta.json; `None` when it is missing or not in this format (then nothing is
    /// reused).
    ///
    /// ```
    /// assert!(coselect_fm::Meta::read_if_valid("/nonexistent/meta.json".as_ref()).is_none());
    /// ```
    pub fn read_if_valid(path: &Path) -> Option<Meta> {
        let bytes = std::fs::read(path).ok()?;
        serde_json::from_slice::<Meta>(&bytes)
            .ok()
            .filter(|m| m.format == META_FORMAT)
    }

    /// Writes meta.json, pretty-printed and newline-terminated.
    ///
    /// ```no_run
    /// # let meta: coselect_fm::Meta = unimplemented!();
    /// meta.write("data/x/meta.json".as_ref())?;
    /// # Ok::<(), coselect_fm::FmError>(())
    /// ```
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|e| FmError::InvalidSetting(format!("meta.json: {e}")))?;
        text.push('\n');
        std::fs::write(path, text).map_err(|e| FmError::io(path, e))
    }
}
