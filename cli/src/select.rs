//! `coselect select`: the next batch to annotate, from `.npy` files.
//!
//! Reads the FM scores (and optionally the small model's log-probabilities
//! and the human labels) memory-mapped, runs one round on the CPU host, and
//! writes the query batch and the co-decided pseudo-labels as JSON or CSV.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use coselect_core::{Config, Reason};
use coselect_cpu::npy::NpyFile;
use coselect_cpu::output::{self, Format};
use coselect_cpu::{decision_bias, run_round, Parallelism, Pool};

/// Bytes buffered before a write of the output: the JSON of a k = 256 round
/// with 2000 pseudo-labels (about 200 KB) in one or two writes instead of
/// one per 8 KiB.
const OUT_BUF: usize = 256 << 10;

/// Output formats on the command line.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum FormatArg {
    /// One JSON object: queries, pseudo-labels, calibration, prior.
    Json,
    /// One table: kind,index,class,score,why.
    Csv,
}

/// Arguments of `coselect select`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// FM scores, rows x classes (.npy, float32 or float16): logits or
    /// log-probabilities of the foundation model.
    #[arg(long)]
    pub fm: PathBuf,
    /// Small-model log-probabilities, same shape as --fm. Needed once a
    /// class has --seed-min labels; enables the co-decided pseudo-labels.
    #[arg(long)]
    pub sm: Option<PathBuf>,
    /// Human labels, one per row (.npy, int64 or int32): the class, or -1
    /// for unlabeled. Without it every row is unlabeled (round 0).
    #[arg(long)]
    pub labeled: Option<PathBuf>,
    /// How many rows to select for annotation.
    #[arg(long)]
    pub k: u32,
    /// Output file; the format follows its extension (.json or .csv).
    /// Standard output when absent.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Output format, overriding the extension of --out (default json).
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Rows per chunk of work.
    #[arg(long, default_value_t = Parallelism::default().chunk_rows)]
    pub chunk_rows: usize,
    /// EM keeps the pool's posteriors between passes when they fit in this
    /// many MiB (faster; 0 recomputes them every pass, adding no memory).
    #[arg(long, default_value_t = 256)]
    pub em_cache_mb: usize,
    /// Classes with fewer labels than this are queried by the FM prior
    /// (seed mode); the others on the small model's boundary.
    #[arg(long)]
    pub seed_min: Option<u32>,
    /// Pseudo-labels per class are capped at this factor times the smallest
    /// human count of a labeled class.
    #[arg(long)]
    pub cap_factor: Option<u32>,
    /// Floor of each class's pseudo-label threshold (default 0.5; lower gives more, less
    /// precise pseudo-labels); at most the 0.8 at which a candidate counts.
    #[arg(long)]
    pub co_floor: Option<f32>,
    /// Also write the small model's decision bias for balanced accuracy at this strength (0.5
    /// measured best): add it to a row's log-probabilities before the argmax when you deploy
    /// the model (JSON `decision_bias`, CSV rows of kind `bias`). Needs --sm; one more pass.
    #[arg(long, value_name = "TAU")]
    pub decision_bias: Option<f32>,
}

/// Runs `coselect select`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let start = Instant::now();
    let format = match (args.format, &args.out) {
        (Some(FormatArg::Json), _) => Format::Json,
        (Some(FormatArg::Csv), _) => Format::Csv,
        (None, Some(out)) => match Format::from_path(out) {
            Some(f) => f,
            None => bail!(
                "cannot tell the format of {} from its extension: use .json or .csv, or --format",
                out.display()
            ),
        },
        (None, None) => Format::Json,
    };
    let fm_file = NpyFile::open(&args.fm)?;
    let sm_file = args.sm.as_ref().map(NpyFile::open).transpose()?;
    let fm = fm_file.matrix()?;
    let sm = sm_file.as_ref().map(|f| f.matrix()).transpose()?;
    let classes = fm.cols() as u32;
    let labels = match &args.labeled {
        Some(path) => {
            let f = NpyFile::open(path)?;
            if f.rows() != fm.rows() || f.header().shape.len() != 1 {
                bail!(
                    "{} has {} labels, {} has {} rows",
                    f.name(),
                    f.rows(),
                    fm.name(),
                    fm.rows()
                );
            }
            let labels = f.read_labels(classes)?;
            Some(labels)
        }
        None => None,
    };
    let mut config = Config::new(classes, args.k).context("invalid --k or class count")?;
    if let Some(s) = args.seed_min {
        config.seed_min = s;
    }
    if let Some(c) = args.cap_factor {
        config.cap_factor = c;
    }
    if let Some(f) = args.co_floor {
        config.co_floor = f;
    }
    config.validate().context("invalid option")?;
    let pool = Pool::new(fm, sm, labels)?;
    let parallelism = Parallelism {
        threads: args.threads,
        chunk_rows: args.chunk_rows.max(1),
        em_cache_bytes: args.em_cache_mb.saturating_mul(1 << 20),
    };
    if let Some(tau) = args.decision_bias {
        if pool.sm().is_none() {
            bail!("--decision-bias needs the small model's log-probabilities (--sm)");
        }
        if !(tau.is_finite() && tau >= 0.0) {
            bail!("--decision-bias must be a finite number of at least 0, got {tau}");
        }
    }
    let mut result = run_round(&pool, &config, parallelism)?;
    if let (Some(tau), Some(sm)) = (args.decision_bias, pool.sm()) {
        result.decision_bias = Some(decision_bias(sm, tau, parallelism)?);
    }
    let input_bytes = pool.input_bytes();
    drop(pool);
    // The maps are unmapped on another thread while the output is written:
    // tearing down the page tables of the mapped input is about a
    // millisecond for 80 MB, which the exit would otherwise spend after it.
    // A refused thread (a pids limit) hands the closure back dropped: the maps are then unmapped
    // here, and nothing panics.
    let unmap = std::thread::Builder::new()
        .spawn(move || drop((fm_file, sm_file)))
        .ok();
    match &args.out {
        Some(path) => write_over(path, |w| output::write(&result, format, w))?,
        // Standard output is line-buffered: one write per line of JSON
        // without a buffer of its own.
        None => output::write(
            &result,
            format,
            std::io::BufWriter::with_capacity(OUT_BUF, std::io::stdout().lock()),
        )?,
    }
    let seeds = result
        .queries
        .iter()
        .filter(|p| p.reason == Reason::Seed)
        .count();
    let secs = start.elapsed().as_secs_f64();
    // Formatted first: standard error is unbuffered, and each piece of a
    // `writeln!` to it would be a write of its own.
    let summary = format!(
        "selected {} of {} unlabeled rows ({} seed, {} boundary), {} pseudo-labels; {:.2} MB of scores in {:.3} s\n",
        result.queries.len(),
        result.unlabeled,
        seeds,
        result.queries.len() - seeds,
        result.pseudo_labels.len(),
        input_bytes as f64 / 1e6,
        secs,
    );
    std::io::stderr().lock().write_all(summary.as_bytes())?;
    if let Some(h) = unmap {
        let _ = h.join();
    }
    Ok(())
}

/// Writes `path` in place: opened without truncating, written, then cut to
/// the length written. Rounds are run in a loop with the same `--out`, and
/// truncating a file of 200 KB at open costs ext4 about 0.35 ms and its pages
/// are then allocated again (0.08 ms), against 0.01 ms to overwrite them
/// (`open(O_TRUNC)` + `write` against `open` + `write` + `ftruncate` from
/// Python, medians of 30, this machine). The file is left cut to what was
/// written, as `File::create` would leave it, and a failed write is an error
/// either way. Files that cannot be cut (`/dev/null`, a pipe) are written as
/// they are.
fn write_over(
    path: &std::path::Path,
    write: impl FnOnce(&mut std::io::BufWriter<&std::fs::File>) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    use std::io::Seek;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    let mut w = std::io::BufWriter::with_capacity(OUT_BUF, &file);
    let written = write(&mut w).and_then(|()| w.flush());
    drop(w);
    let cut = || -> std::io::Result<()> {
        if file.metadata()?.is_file() {
            let end = (&file).stream_position()?;
            file.set_len(end)?;
        }
        Ok(())
    };
    // Cut after a failed write too: no stale tail of an earlier run.
    let cut = cut();
    written
        .and(cut)
        .with_context(|| format!("cannot write {}", path.display()))
}
