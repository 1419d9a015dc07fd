//! A folder with one subfolder per class, each holding one text file per sample.

use std::path::{Path, PathBuf};

use crate::dataset::LabeledTexts;
use crate::error::{FmError, Result};

/// Reads `root/<class>/<file>`: every subfolder is a class (sorted by name), every regular
/// file in it one sample. Hidden entries are ignored. Empty or non-UTF-8 files are skipped and
/// counted in the warnings; a class folder left with no sample is an error.
///
/// ```
/// let root = std::env::temp_dir().join("coselect-fm-doc-folder");
/// for (class, text) in [("animal", "a cat"), ("vehicle", "a car")] {
///     std::fs::create_dir_all(root.join(class)).unwrap();
///     std::fs::write(root.join(class).join("1.txt"), text).unwrap();
/// }
/// let set = coselect_fm::import_folder(&root, "MIT")?;
/// assert_eq!(set.texts, vec!["a cat", "a car"]);
/// # Ok::<(), coselect_fm::FmError>(())
/// ```
pub fn import_folder(root: &Path, licence: &str) -> Result<LabeledTexts> {
    let classes = sorted_entries(root, |p| p.is_dir())?;
    if classes.is_empty() {
        return Err(FmError::BadInput {
            path: root.to_path_buf(),
            reason: "no class subfolders".into(),
        });
    }
    let mut texts = Vec::new();
    let mut labels = Vec::new();
    let mut names = Vec::new();
    let mut skipped_empty = 0;
    let mut skipped_binary = 0;
    for (ci, dir) in classes.iter().enumerate() {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let before = texts.len();
        for file in sorted_entries(dir, |p| p.is_file())? {
            match super::read_text(&file) {
                Ok(t) if t.trim().is_empty() => skipped_empty += 1,
                Ok(t) => {
                    texts.push(t.trim().to_owned());
                    labels.push(ci);
                }
                Err(FmError::BadInput { .. }) => skipped_binary += 1,
                Err(e) => return Err(e),
            }
        }
        if texts.len() == before {
            return Err(FmError::EmptyClass {
                class: name,
                hint: format!(" (folder {} has no non-empty text file)", dir.display()),
            });
        }
        names.push(name);
    }
    let mut warnings = Vec::new();
    if skipped_empty > 0 {
        warnings.push(format!("{skipped_empty} empty file(s) skipped"));
    }
    if skipped_binary > 0 {
        warnings.push(format!("{skipped_binary} non-UTF-8 file(s) skipped"));
    }
    Ok(LabeledTexts {
        texts,
        labels,
        class_names: names,
        source: root.display().to_string(),
        licence: licence.to_owned(),
        warnings,
    })
}

fn sorted_entries(dir: &Path, keep: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| FmError::io(dir, e))? {
        let path = entry.map_err(|e| FmError::io(dir, e))?.path();
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if !hidden && keep(&path) {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}
