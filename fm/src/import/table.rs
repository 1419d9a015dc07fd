//! JSONL and CSV files with a `text` and a `label` field per row.

use std::path::Path;

use crate::dataset::LabeledTexts;
use crate::error::{FmError, Result};

/// Reads a `.jsonl` (one JSON object per line) or `.csv` (with a header row) file whose rows
/// have a `text` and a `label` field. Rows with an empty text are skipped and counted in the
/// warnings; a missing field, a bad line or an empty file is an error.
///
/// ```
/// let dir = std::env::temp_dir().join("coselect-fm-doc-table");
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("pool.csv");
/// std::fs::write(&path, "text,label\na cat,animal\na car,vehicle\n").unwrap();
/// let set = coselect_fm::import_table(&path, "MIT")?;
/// assert_eq!(set.class_names, vec!["animal", "vehicle"]);
/// # Ok::<(), coselect_fm::FmError>(())
/// ```
pub fn import_table(path: &Path, licence: &str) -> Result<LabeledTexts> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let content = super::read_text(path)?;
    let (rows, skipped) = match ext.as_str() {
        "jsonl" | "ndjson" => parse_jsonl(path, &content)?,
        "csv" => parse_csv(path, &content)?,
        other => {
            return Err(FmError::BadInput {
                path: path.to_path_buf(),
                reason: format!("unknown extension `{other}`: expected .jsonl or .csv"),
            })
        }
    };
    if rows.is_empty() {
        return Err(FmError::EmptyInput {
            path: path.to_path_buf(),
        });
    }
    let (texts, labels): (Vec<String>, Vec<String>) = rows.into_iter().unzip();
    let mut set =
        LabeledTexts::from_named_labels(texts, &labels, &path.display().to_string(), licence)?;
    if skipped > 0 {
        set.warnings
            .push(format!("{skipped} row(s) with an empty text skipped"));
    }
    Ok(set)
}

type Rows = (Vec<(String, String)>, usize);

fn parse_jsonl(path: &Path, content: &str) -> Result<Rows> {
    let mut rows = Vec::new();
    let mut skipped = 0;
    for (i, line) in content.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| FmError::BadInput {
            path: path.to_path_buf(),
            reason: format!("line {}: {reason}", i + 1),
        };
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| bad(format!("not JSON: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| bad("not a JSON object".into()))?;
        let text = match obj.get("text") {
            Some(serde_json::Value::String(s)) => s.trim().to_owned(),
            Some(_) => return Err(bad("`text` is not a string".into())),
            None => return Err(bad("no `text` field".into())),
        };
        let label = match obj.get("label") {
            Some(serde_json::Value::String(s)) => s.trim().to_owned(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            Some(_) => return Err(bad("`label` is not a string or number".into())),
            None => return Err(bad("no `label` field".into())),
        };
        if label.is_empty() {
            return Err(bad("empty `label`".into()));
        }
        if text.is_empty() {
            skipped += 1;
            continue;
        }
        rows.push((text, label));
    }
    Ok((rows, skipped))
}

fn parse_csv(path: &Path, content: &str) -> Result<Rows> {
    let bad = |reason: String| FmError::BadInput {
        path: path.to_path_buf(),
        reason,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(content.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| bad(format!("header: {e}")))?
        .clone();
    if headers.is_empty() {
        return Err(FmError::EmptyInput {
            path: path.to_path_buf(),
        });
    }
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                bad(format!(
                    "no `{name}` column (header: {})",
                    headers.iter().collect::<Vec<_>>().join(",")
                ))
            })
    };
    let text_col = column("text")?;
    let label_col = column("label")?;
    let mut rows = Vec::new();
    let mut skipped = 0;
    for (i, record) in reader.records().enumerate() {
        // Line numbers count the header as line 1.
        let record = record.map_err(|e| bad(format!("row {}: {e}", i + 2)))?;
        let text = record.get(text_col).unwrap_or("").trim().to_owned();
        let label = record.get(label_col).unwrap_or("").trim().to_owned();
        if label.is_empty() {
            return Err(bad(format!("row {}: empty `label`", i + 2)));
        }
        if text.is_empty() {
            skipped += 1;
            continue;
        }
        rows.push((text, label));
    }
    Ok((rows, skipped))
}
