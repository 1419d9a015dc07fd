//! The round's result as JSON or CSV.
//!
//! JSON carries everything (queries, pseudo-labels, the fitted calibration
//! and prior, sizes, and the decision bias when there is one). CSV is one
//! table for spreadsheet and pandas users: `kind,index,class,score,why`, with
//! `kind` = `query`, `pseudo` (the score of a pseudo-label is its
//! confidence, its `why` is empty) or `bias` (one row per class: the
//! decision bias as its score, no index, no why).

use std::io::Write;

use serde::Serialize;

use crate::round::{reason_word, RoundResult};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object.
    Json,
    /// One CSV table.
    Csv,
}

impl Format {
    /// The format a file name asks for by its extension (`.csv` or
    /// `.json`), if any.
    ///
    /// ```
    /// use coselect_cpu::output::Format;
    /// assert_eq!(Format::from_path("picks.csv"), Some(Format::Csv));
    /// assert_eq!(Format::from_path("picks"), None);
    /// ```
    pub fn from_path(path: impl AsRef<std::path::Path>) -> Option<Format> {
        match path
            .as_ref()
            .extension()?
            .to_str()?
            .to_ascii_lowercase()
            .as_str()
        {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

#[derive(Serialize)]
struct Query {
    index: u64,
    class: u32,
    score: f32,
    why: &'static str,
}

#[derive(Serialize)]
struct Pseudo {
    index: u64,
    class: u32,
    confidence: f32,
}

#[derive(Serialize)]
struct FusionOut {
    a: f32,
    b: f32,
}

#[derive(Serialize)]
struct Document {
    rows: usize,
    unlabeled: usize,
    classes: usize,
    k: usize,
    temperature: f32,
    fusion: Option<FusionOut>,
    prior: Option<Vec<f64>>,
    em_iterations: u32,
    queries: Vec<Query>,
    pseudo_labels: Vec<Pseudo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    decision_bias: Option<Vec<f32>>,
}

/// Writes `result` in `format` to `w`.
///
/// ```
/// use coselect_cpu::{output::{write, Format}, run_round, Matrix, Parallelism, Pool};
/// let fm = [2.0f32, 0.0, 0.0, 2.0];
/// let pool = Pool::new(Matrix::f32("fm", &fm, 2, 2)?, None, None)?;
/// let r = run_round(&pool, &coselect_core::Config::new(2, 1)?, Parallelism::default())?;
/// let mut csv = Vec::new();
/// write(&r, Format::Csv, &mut csv)?;
/// assert!(String::from_utf8(csv)?.starts_with("kind,index,class,score,why\nquery,"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write(result: &RoundResult, format: Format, mut w: impl Write) -> std::io::Result<()> {
    match format {
        Format::Json => {
            let doc = Document {
                rows: result.rows,
                unlabeled: result.unlabeled,
                classes: result.classes,
                k: result.queries.len(),
                temperature: result.calibration.temperature,
                fusion: result
                    .calibration
                    .fusion
                    .map(|f| FusionOut { a: f.a, b: f.b }),
                prior: result.prior.as_ref().map(|p| p.prior.clone()),
                em_iterations: result.prior.as_ref().map_or(0, |p| p.iterations),
                queries: result
                    .queries
                    .iter()
                    .map(|p| Query {
                        index: p.index,
                        class: p.class,
                        score: p.score,
                        why: reason_word(p.reason),
                    })
                    .collect(),
                pseudo_labels: result
                    .pseudo_labels
                    .iter()
                    .map(|p| Pseudo {
                        index: p.index,
                        class: p.class,
                        confidence: p.confidence,
                    })
                    .collect(),
                decision_bias: result.decision_bias.clone(),
            };
            serde_json::to_writer_pretty(&mut w, &doc)?;
            writeln!(w)?;
        }
        Format::Csv => {
            writeln!(w, "kind,index,class,score,why")?;
            for p in &result.queries {
                let why = reason_word(p.reason);
                writeln!(w, "query,{},{},{},{why}", p.index, p.class, p.score)?;
            }
            for p in &result.pseudo_labels {
                writeln!(w, "pseudo,{},{},{},", p.index, p.class, p.confidence)?;
            }
            for (c, b) in result.decision_bias.iter().flatten().enumerate() {
                writeln!(w, "bias,,{c},{b},")?;
            }
        }
    }
    w.flush()
}
