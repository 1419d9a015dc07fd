//! The sentence embedder: all-MiniLM-L6-v2 run with candle on the CPU.

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::error::{FmError, Result};
use crate::pooling::mean_pool_normalize;
use crate::wheel::ModelFiles;

/// The model's name as recorded in dataset metadata.
pub const MODEL_NAME: &str = "sentence-transformers/all-MiniLM-L6-v2";

/// The token window of the model as shipped (its tokenizer truncates to it).
pub const MAX_TOKENS: usize = 128;

/// Embeddings of a batch of texts plus how many texts were cut to the token window.
///
/// ```
/// let e = coselect_fm::Embedded { vectors: vec![1.0, 0.0], truncated: 0 };
/// assert_eq!(e.vectors.len(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Embedded {
    /// Row-major `texts x dim` unit vectors.
    pub vectors: Vec<f32>,
    /// How many of the texts were longer than the window and truncated.
    pub truncated: usize,
}

/// all-MiniLM-L6-v2 with its tokenizer, ready to embed sentences.
///
/// ```no_run
/// let files = coselect_fm::read_model_files(&coselect_fm::find_wheel()?)?;
/// let embedder = coselect_fm::Embedder::load(&files)?;
/// let out = embedder.embed(&["a cat", "a dog"])?;
/// assert_eq!(out.vectors.len(), 2 * 384);
/// # Ok::<(), coselect_fm::FmError>(())
/// ```
pub struct Embedder {
    model: BertModel,
    tokenizer: Tokenizer,
    dim: usize,
    device: Device,
}

impl Embedder {
    /// Loads the model from files read out of the wheel.
    ///
    /// ```no_run
    /// let files = coselect_fm::read_model_files(&coselect_fm::find_wheel()?)?;
    /// let embedder = coselect_fm::Embedder::load(&files)?;
    /// assert_eq!(embedder.dim(), 384);
    /// # Ok::<(), coselect_fm::FmError>(())
    /// ```
    pub fn load(files: &ModelFiles) -> Result<Self> {
        let config: Config = serde_json::from_slice(&files.config_json)
            .map_err(|e| FmError::Model(format!("config.json: {e}")))?;
        let device = Device::Cpu;
        let vb = VarBuilder::from_slice_safetensors(&files.safetensors, DType::F32, &device)?;
        let model = BertModel::load(vb, &config)?;
        let mut tokenizer = Tokenizer::from_bytes(&files.tokenizer_json)
            .map_err(|e| FmError::Tokenizer(e.to_string()))?;
        // The shipped tokenizer pads every input to 128 tokens; padding to the longest text of
        // the batch gives the same pooled vectors (the mask excludes padding) at a fraction of
        // the cost for short texts.
        let pad_id = tokenizer.get_padding().map(|p| p.pad_id).unwrap_or(0);
        let pad_token = tokenizer
            .get_padding()
            .map(|p| p.pad_token.clone())
            .unwrap_or_else(|| "[PAD]".to_owned());
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            pad_id,
            pad_token,
            ..PaddingParams::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| FmError::Tokenizer(e.to_string()))?;
        Ok(Embedder {
            model,
            tokenizer,
            dim: config.hidden_size,
            device,
        })
    }

    /// The embedding dimension (384 for all-MiniLM-L6-v2).
    ///
    /// ```no_run
    /// # let e = coselect_fm::Embedder::load(&coselect_fm::read_model_files(&coselect_fm::find_wheel()?)?)?;
    /// assert_eq!(e.dim(), 384);
    /// # Ok::<(), coselect_fm::FmError>(())
    /// ```
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Embeds a batch of texts into unit vectors; texts longer than [`MAX_TOKENS`] tokens are
    /// truncated and counted in [`Embedded::truncated`].
    ///
    /// ```no_run
    /// # let e = coselect_fm::Embedder::load(&coselect_fm::read_model_files(&coselect_fm::find_wheel()?)?)?;
    /// let out = e.embed(&["A man is eating food.", "A man is eating a piece of bread."])?;
    /// assert_eq!(out.vectors.len(), 2 * e.dim());
    /// # Ok::<(), coselect_fm::FmError>(())
    /// ```
    pub fn embed<S: AsRef<str>>(&self, texts: &[S]) -> Result<Embedded> {
        if texts.is_empty() {
            return Ok(Embedded {
                vectors: Vec::new(),
                truncated: 0,
            });
        }
        let inputs: Vec<&str> = texts.iter().map(AsRef::as_ref).collect();
        let encodings = self
            .tokenizer
            .encode_batch(inputs, true)
            .map_err(|e| FmError::Tokenizer(e.to_string()))?;
        let truncated = encodings
            .iter()
            .filter(|e| !e.get_overflowing().is_empty())
            .count();
        let len = encodings.first().map_or(0, |e| e.get_ids().len());
        let n = encodings.len();
        let mut ids = Vec::with_capacity(n * len);
        let mut types = Vec::with_capacity(n * len);
        let mut mask = Vec::with_capacity(n * len);
        for e in &encodings {
            ids.extend_from_slice(e.get_ids());
            types.extend_from_slice(e.get_type_ids());
            mask.extend_from_slice(e.get_attention_mask());
        }
        let ids = Tensor::from_vec(ids, (n, len), &self.device)?;
        let types = Tensor::from_vec(types, (n, len), &self.device)?;
        let mask = Tensor::from_vec(mask, (n, len), &self.device)?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?;
        let pooled = mean_pool_normalize(&hidden, &mask)?;
        Ok(Embedded {
            vectors: pooled.flatten_all()?.to_vec1::<f32>()?,
            truncated,
        })
    }
}

/// Cosine of two equal-length vectors; 0 when either is all zeros.
///
/// ```
/// assert!((coselect_fm::cosine(&[1.0, 0.0], &[1.0, 1.0]) - 0.70710677).abs() < 1e-6);
/// ```
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}
