//! The in-memory labeled text set that every importer produces.

use crate::error::{FmError, Result};

/// Texts with class labels, plus where they came from.
///
/// ```
/// let set = coselect_fm::LabeledTexts::from_named_labels(
///     vec!["a cat".into(), "a car".into()],
///     &["animal".to_string(), "vehicle".to_string()],
///     "example",
///     "CC0",
/// )?;
/// assert_eq!(set.class_names, vec!["animal", "vehicle"]);
/// assert_eq!(set.labels, vec![0, 1]);
/// # Ok::<(), coselect_fm::FmError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LabeledTexts {
    /// One text per sample.
    pub texts: Vec<String>,
    /// The class index of each sample, into `class_names`.
    pub labels: Vec<usize>,
    /// Class names in index order.
    pub class_names: Vec<String>,
    /// A human-readable description of the source.
    pub source: String,
    /// The licence of the source data.
    pub licence: String,
    /// Counted problems that did not stop the import (skipped rows, dropped classes).
    pub warnings: Vec<String>,
}

impl LabeledTexts {
    /// Builds a set from one label string per text; classes are the sorted distinct labels
    /// (numerically when every label is an integer), so the class order never depends on row
    /// order.
    ///
    /// ```
    /// let set = coselect_fm::LabeledTexts::from_named_labels(
    ///     vec!["x".into(), "y".into(), "z".into()],
    ///     &["10".to_string(), "9".to_string(), "10".to_string()],
    ///     "s",
    ///     "l",
    /// )?;
    /// assert_eq!(set.class_names, vec!["9", "10"]);
    /// assert_eq!(set.labels, vec![1, 0, 1]);
    /// # Ok::<(), coselect_fm::FmError>(())
    /// ```
    pub fn from_named_labels(
        texts: Vec<String>,
        labels: &[String],
        source: &str,
        licence: &str,
    ) -> Result<Self> {
        if texts.len() != labels.len() {
            return Err(FmError::InvalidSetting(format!(
                "{} texts but {} labels",
                texts.len(),
                labels.len()
            )));
        }
        let mut names: Vec<String> = labels.to_vec();
        names.sort();
        names.dedup();
        if names.iter().all(|n| n.parse::<i64>().is_ok()) {
            names.sort_by_key(|n| n.parse::<i64>().unwrap_or(0));
        }
        let index: std::collections::HashMap<&str, usize> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        let labels = labels.iter().map(|l| index[l.as_str()]).collect();
        Ok(LabeledTexts {
            texts,
            labels,
            class_names: names,
            source: source.to_owned(),
            licence: licence.to_owned(),
            warnings: Vec::new(),
        })
    }

    /// The number of samples.
    ///
    /// ```
    /// # let set = coselect_fm::LabeledTexts::from_named_labels(vec!["x".into()], &["a".into()], "s", "l")?;
    /// assert_eq!(set.len(), 1);
    /// # Ok::<(), coselect_fm::FmError>(())
    /// ```
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    /// Whether there are no samples.
    ///
    /// ```
    /// # let set = coselect_fm::LabeledTexts::from_named_labels(vec!["x".into()], &["a".into()], "s", "l")?;
    /// assert!(!set.is_empty());
    /// # Ok::<(), coselect_fm::FmError>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// Samples per class, in class order.
    ///
    /// ```
    /// # let set = coselect_fm::LabeledTexts::from_named_labels(vec!["x".into(), "y".into()], &["a".into(), "a".into()], "s", "l")?;
    /// assert_eq!(set.class_counts(), vec![2]);
    /// # Ok::<(), coselect_fm::FmError>(())
    /// ```
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.class_names.len()];
        // Out-of-range labels are left for `validate` to report, not a panic here.
        for &l in &self.labels {
            if let Some(c) = counts.get_mut(l) {
                *c += 1;
            }
        }
        counts
    }

    /// Checks the set is usable: at least one sample, at least two classes, every class has
    /// a sample and every label is in range.
    ///
    /// ```
    /// let mut set = coselect_fm::LabeledTexts::from_named_labels(
    ///     vec!["x".into(), "y".into()], &["a".into(), "b".into()], "s", "l")?;
    /// assert!(set.validate().is_ok());
    /// set.class_names.push("c".into());
    /// assert!(set.validate().unwrap_err().to_string().contains("`c` has no samples"));
    /// # Ok::<(), coselect_fm::FmError>(())
    /// ```
    pub fn validate(&self) -> Result<()> {
        if self.is_empty() {
            return Err(FmError::EmptyInput {
                path: self.source.clone().into(),
            });
        }
        if self.class_names.len() < 2 {
            return Err(FmError::InvalidSetting(format!(
                "{}: {} class(es); zero-shot selection needs at least 2",
                self.source,
                self.class_names.len()
            )));
        }
        if let Some(&bad) = self.labels.iter().find(|&&l| l >= self.class_names.len()) {
            return Err(FmError::InvalidSetting(format!(
                "label {bad} out of range for {} classes",
                self.class_names.len()
            )));
        }
        for (name, count) in self.class_names.iter().zip(self.class_counts()) {
            if count == 0 {
                return Err(FmError::EmptyClass {
                    class: name.clone(),
                    hint: String::new(),
                });
            }
        }
        Ok(())
    }
}
