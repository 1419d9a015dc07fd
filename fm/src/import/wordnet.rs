//! WordNet 3.0 nouns: each synset's gloss definition labeled with its lexicographer file
//! (the noun "supersense": noun.animal, noun.artifact, ...).

use std::path::Path;

use crate::dataset::LabeledTexts;
use crate::error::{FmError, Result};

/// Where Debian's `wordnet-base` installs the noun database.
pub const WORDNET_DATA_NOUN: &str = "/usr/share/wordnet/data.noun";

/// The licence of the WordNet database, as Debian's copyright file names it.
pub const WORDNET_LICENCE: &str =
    "WordNet 3.0 license (Princeton University), see /usr/share/doc/wordnet-base/copyright";

// WordNet's lexnames table (lexicographer file numbers 3..=28 are the noun files). The file is
// not shipped by Debian's package, so it is spelled out here.
const NOUN_LEX_FILES: [(u32, &str); 26] = [
    (3, "noun.Tops"),
    (4, "noun.act"),
    (5, "noun.animal"),
    (6, "noun.artifact"),
    (7, "noun.attribute"),
    (8, "noun.body"),
    (9, "noun.cognition"),
    (10, "noun.communication"),
    (11, "noun.event"),
    (12, "noun.feeling"),
    (13, "noun.food"),
    (14, "noun.group"),
    (15, "noun.location"),
    (16, "noun.motive"),
    (17, "noun.object"),
    (18, "noun.person"),
    (19, "noun.phenomenon"),
    (20, "noun.plant"),
    (21, "noun.possession"),
    (22, "noun.process"),
    (23, "noun.quantity"),
    (24, "noun.relation"),
    (25, "noun.shape"),
    (26, "noun.state"),
    (27, "noun.substance"),
    (28, "noun.time"),
];

/// Reads WordNet's `data.noun` into 25 classes, one sample per synset: the text is the gloss's
/// definition (the part before the quoted examples), the label its lexicographer file.
///
/// noun.Tops is left out and counted in the warnings: it holds the ~50 unique beginners of all
/// the other categories ("animal", "food", ...), so it is not a category of its own. Synsets
/// with an empty definition are skipped and counted too. A line that does not parse is an
/// error with its line number.
///
/// ```no_run
/// let set = coselect_fm::import_wordnet(std::path::Path::new(coselect_fm::WORDNET_DATA_NOUN))?;
/// assert_eq!(set.class_names.len(), 25);
/// # Ok::<(), coselect_fm::FmError>(())
/// ```
pub fn import_wordnet(data_noun: &Path) -> Result<LabeledTexts> {
    let content = super::read_text(data_noun)?;
    let class_names: Vec<String> = NOUN_LEX_FILES[1..]
        .iter()
        .map(|(_, n)| (*n).to_owned())
        .collect();
    let mut texts = Vec::new();
    let mut labels = Vec::new();
    let mut tops = 0usize;
    let mut empty = 0usize;
    for (i, line) in content.lines().enumerate() {
        // The licence header lines start with two spaces.
        if line.starts_with("  ") || line.trim().is_empty() {
            continue;
        }
        let bad = |reason: &str| FmError::BadInput {
            path: data_noun.to_path_buf(),
            reason: format!("line {}: {reason}", i + 1),
        };
        let mut fields = line.split(' ');
        let _offset = fields.next();
        let lex: u32 = fields
            .next()
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| bad("no lexicographer file number"))?;
        let (_, gloss) = line
            .split_once(" | ")
            .ok_or_else(|| bad("no gloss (` | `)"))?;
        match lex {
            3 => tops += 1,
            4..=28 => {
                let text = definition(gloss);
                if text.is_empty() {
                    empty += 1;
                } else {
                    texts.push(text.to_owned());
                    labels.push((lex - 4) as usize);
                }
            }
            _ => return Err(bad(&format!("lexicographer file {lex} is not a noun file"))),
        }
    }
    if texts.is_empty() {
        return Err(FmError::EmptyInput {
            path: data_noun.to_path_buf(),
        });
    }
    let mut warnings = vec![format!(
        "{tops} noun.Tops synset(s) left out (unique beginners, not a category)"
    )];
    if empty > 0 {
        warnings.push(format!(
            "{empty} synset(s) with an empty definition skipped"
        ));
    }
    Ok(LabeledTexts {
        texts,
        labels,
        class_names,
        source: format!(
            "WordNet 3.0 noun synsets ({}): gloss definition -> lexicographer file",
            data_noun.display()
        ),
        licence: WORDNET_LICENCE.to_owned(),
        warnings,
    })
}

/// The definition part of a gloss: everything before the first quoted example.
fn definition(gloss: &str) -> &str {
    let end = gloss.find('"').unwrap_or(gloss.len());
    gloss[..end].trim().trim_end_matches(';').trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definition_drops_examples() {
        assert_eq!(
            definition("a young dog; \"the pup barked\"; \"a cute one\"  "),
            "a young dog"
        );
        assert_eq!(
            definition("an entity that exists  "),
            "an entity that exists"
        );
    }

    #[test]
    fn parses_lines_and_skips_tops() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.noun");
        std::fs::write(
            &path,
            "  1 This software and database is being provided\n\
             00001740 03 n 01 entity 0 000 | that which exists  \n\
             01000001 05 n 01 dog 0 000 | a domestic canine; \"the dog barked\"  \n\
             01000002 13 n 01 bread 0 000 | food made from dough  \n",
        )
        .unwrap();
        let set = import_wordnet(&path).unwrap();
        assert_eq!(set.texts, vec!["a domestic canine", "food made from dough"]);
        assert_eq!(set.class_names[set.labels[0]], "noun.animal");
        assert_eq!(set.class_names[set.labels[1]], "noun.food");
        // Only two of 25 classes have samples here.
        assert_eq!(set.class_counts().iter().filter(|&&c| c > 0).count(), 2);
        assert!(set.warnings[0].starts_with("1 noun.Tops"));
    }

    #[test]
    fn bad_line_is_an_error_with_line_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.noun");
        std::fs::write(&path, "01000001 05 n 01 dog 0 000 no gloss here\n").unwrap();
        let err = import_wordnet(&path).unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
    }
}
