//! Importers: each turns one kind of source into [`LabeledTexts`](crate::LabeledTexts).

mod folder;
mod table;
mod wordnet;

pub use folder::import_folder;
pub use table::import_table;
pub use wordnet::{import_wordnet, WORDNET_DATA_NOUN, WORDNET_LICENCE};

/// Reads a whole file as UTF-8, mapping every failure to a clear error with the path.
fn read_text(path: &std::path::Path) -> crate::Result<String> {
    let bytes = std::fs::read(path).map_err(|e| crate::FmError::io(path, e))?;
    String::from_utf8(bytes).map_err(|e| crate::FmError::BadInput {
        path: path.to_path_buf(),
        reason: format!(
            "not UTF-8 text (first bad byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
    })
}
