//! The zero-shot prompts: one sentence per class, made from a template and a description of
//! the class, kept in a JSON file the user can edit.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{FmError, Result};

/// A prompt template with `{}` standing for each class description.
///
/// The JSON form is `{"template": "a text about {}", "classes": {"<class>": "<description>"}}`.
///
/// ```
/// let p: coselect_fm::Prompts = serde_json::from_str(
///     r#"{"template": "a photo of {}", "classes": {"cat": "a cat", "dog": "a dog"}}"#,
/// ).unwrap();
/// let names = vec!["cat".to_string(), "dog".to_string()];
/// assert_eq!(p.sentences(&names, "prompts.json".as_ref())?, vec!["a photo of a cat", "a photo of a dog"]);
/// # Ok::<(), coselect_fm::FmError>(())
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prompts {
    /// The sentence pattern; `{}` is replaced by the class description.
    pub template: String,
    /// Description of each class, by class name.
    pub classes: BTreeMap<String, String>,
    /// Optional finer descriptions of a class's concepts (the topics it is made of), by class
    /// name: written to `concept_scores.npy`, where the simulated small model learns one unit per
    /// concept. A class without an entry is its own single concept.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub concepts: BTreeMap<String, Vec<String>>,
}

/// One concept prompt: the class it belongs to, its description and its filled-in sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConceptPrompt {
    /// Index of the class in the data's class order.
    pub class: usize,
    /// The description from the prompts file (the class's own, for a class without concepts).
    pub description: String,
    /// The template filled with the description.
    pub sentence: String,
}

impl Prompts {
    /// Prompts that use the class names themselves, for sources without a prompts file.
    ///
    /// ```
    /// let p = coselect_fm::Prompts::from_class_names(&["cat".to_string()]);
    /// assert_eq!(p.template, "{}");
    /// assert_eq!(p.classes["cat"], "cat");
    /// ```
    pub fn from_class_names(names: &[String]) -> Self {
        Prompts {
            template: "{}".to_owned(),
            classes: names.iter().map(|n| (n.clone(), n.clone())).collect(),
            concepts: BTreeMap::new(),
        }
    }

    /// Reads a prompts file.
    ///
    /// ```no_run
    /// let p = coselect_fm::Prompts::read("fm/prompts/wordnet-nouns.json".as_ref())?;
    /// assert!(p.template.contains("{}"));
    /// # Ok::<(), coselect_fm::FmError>(())
    /// ```
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| FmError::io(path, e))?;
        let prompts: Prompts = serde_json::from_slice(&bytes).map_err(|e| FmError::BadPrompts {
            path: path.to_path_buf(),
            reason: format!(
                "expected {{\"template\": ..., \"classes\": {{...}}, optional \"concepts\": {{...}}}}: {e}"
            ),
        })?;
        if !prompts.template.contains("{}") {
            return Err(FmError::BadPrompts {
                path: path.to_path_buf(),
                reason: "the template has no `{}` for the class description".into(),
            });
        }
        Ok(prompts)
    }

    /// The prompt sentence of each class in `class_names` order. Every class must have a
    /// description and every description must name a class, so a typo is caught, not ignored.
    ///
    /// ```
    /// let p = coselect_fm::Prompts::from_class_names(&["cat".to_string()]);
    /// let err = p.sentences(&["dog".to_string()], "p.json".as_ref()).unwrap_err();
    /// assert!(err.to_string().contains("dog"));
    /// ```
    pub fn sentences(&self, class_names: &[String], path: &Path) -> Result<Vec<String>> {
        let missing: Vec<&str> = class_names
            .iter()
            .filter(|c| !self.classes.contains_key(*c))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(FmError::BadPrompts {
                path: path.to_path_buf(),
                reason: format!("no description for class(es): {}", missing.join(", ")),
            });
        }
        let unknown: Vec<&str> = self
            .classes
            .keys()
            .filter(|k| !class_names.contains(k))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            return Err(FmError::BadPrompts {
                path: path.to_path_buf(),
                reason: format!(
                    "description(s) for class(es) not in the data: {}",
                    unknown.join(", ")
                ),
            });
        }
        Ok(class_names
            .iter()
            .map(|c| self.template.replace("{}", &self.classes[c]))
            .collect())
    }

    /// The concept prompts in class order, each class's concepts in file order; empty when the
    /// file has no `concepts`. A class without an entry gets its class prompt as its only
    /// concept, so every class has at least one. A `concepts` key that is not a class, or an
    /// empty list, is an error.
    ///
    /// ```
    /// let p: coselect_fm::Prompts = serde_json::from_str(r#"{"template": "{}",
    ///     "classes": {"pet": "a pet", "tool": "a tool"},
    ///     "concepts": {"pet": ["a cat", "a dog"]}}"#).unwrap();
    /// let names = vec!["pet".to_string(), "tool".to_string()];
    /// let c = p.concept_sentences(&names, "p.json".as_ref())?;
    /// let pairs: Vec<_> = c.iter().map(|c| (c.class, c.sentence.as_str())).collect();
    /// assert_eq!(pairs, vec![(0, "a cat"), (0, "a dog"), (1, "a tool")]);
    /// # Ok::<(), coselect_fm::FmError>(())
    /// ```
    pub fn concept_sentences(
        &self,
        class_names: &[String],
        path: &Path,
    ) -> Result<Vec<ConceptPrompt>> {
        if self.concepts.is_empty() {
            return Ok(Vec::new());
        }
        let bad = |reason: String| FmError::BadPrompts {
            path: path.to_path_buf(),
            reason,
        };
        if let Some(k) = self.concepts.keys().find(|k| !class_names.contains(k)) {
            return Err(bad(format!("concepts for a class not in the data: {k}")));
        }
        if let Some((k, _)) = self.concepts.iter().find(|(_, v)| v.is_empty()) {
            return Err(bad(format!("empty concept list for class {k}")));
        }
        // A repeated concept would be a second, identical column whose unit no row teaches.
        for (k, list) in &self.concepts {
            if let Some(d) = list.iter().find(|d| d.trim().is_empty()) {
                return Err(bad(format!(
                    "empty concept description {d:?} for class {k}"
                )));
            }
            if let Some((i, d)) = list
                .iter()
                .enumerate()
                .find(|(i, d)| list[..*i].contains(d))
            {
                return Err(bad(format!(
                    "concept {i} of class {k} repeats an earlier one: {d:?}"
                )));
            }
        }
        let class_sentences = self.sentences(class_names, path)?;
        let mut out = Vec::new();
        for (class, name) in class_names.iter().enumerate() {
            match self.concepts.get(name) {
                Some(list) => out.extend(list.iter().map(|d| ConceptPrompt {
                    class,
                    description: d.clone(),
                    sentence: self.template.replace("{}", d),
                })),
                None => out.push(ConceptPrompt {
                    class,
                    description: self.classes[name].clone(),
                    sentence: class_sentences[class].clone(),
                }),
            }
        }
        Ok(out)
    }
}
