//! Human labels of a pool: `-1` for unlabeled, a class index otherwise.
//!
//! One pass turns the per-row labels into what a round needs: the trusted
//! count per class (quotas, seed or boundary mode, the pseudo-label cap),
//! the labeled rows (calibration), and a bit per row so the scoring pass
//! skips labeled rows at 1 bit per row instead of 8 bytes.

use crate::error::{Error, Result};

/// The labeled part of a pool.
///
/// ```
/// let labels = coselect_cpu::Labels::new("labels", [-1i64, 2, 0, -1, 2], 3)?;
/// assert_eq!(labels.counts(), &[1, 0, 2]);
/// assert!(labels.is_labeled(1) && !labels.is_labeled(3));
/// assert_eq!(labels.unlabeled(), 2);
/// # Ok::<(), coselect_cpu::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels {
    name: String,
    rows: usize,
    counts: Vec<u32>,
    labeled: Vec<(u64, u32)>,
    mask: Vec<u64>,
}

impl Labels {
    /// Reads one label per row; `name` labels errors.
    pub fn new(name: &str, labels: impl IntoIterator<Item = i64>, classes: u32) -> Result<Self> {
        let mut counts = vec![0u32; classes as usize];
        let mut labeled = Vec::new();
        let mut mask = Vec::new();
        let mut rows = 0usize;
        for (i, y) in labels.into_iter().enumerate() {
            if i % 64 == 0 {
                mask.push(0u64);
            }
            rows = i + 1;
            if y == -1 {
                continue;
            }
            if y < 0 || y >= classes as i64 {
                return Err(Error::LabelOutOfRange {
                    input: name.to_string(),
                    row: i as u64,
                    label: y,
                    classes,
                });
            }
            counts[y as usize] += 1;
            labeled.push((i as u64, y as u32));
            mask[i / 64] |= 1 << (i % 64);
        }
        Ok(Labels {
            name: name.to_string(),
            rows,
            counts,
            labeled,
            mask,
        })
    }

    /// A pool of `rows` unlabeled rows (round 0).
    pub fn none(rows: usize, classes: u32) -> Self {
        Labels {
            name: "labels".to_string(),
            rows,
            counts: vec![0; classes as usize],
            labeled: Vec::new(),
            mask: vec![0; rows.div_ceil(64)],
        }
    }

    /// The name used in error messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Rows described (labeled or not).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Labels per class.
    pub fn counts(&self) -> &[u32] {
        &self.counts
    }

    /// `(row, class)` of every labeled row, in row order.
    pub fn labeled(&self) -> &[(u64, u32)] {
        &self.labeled
    }

    /// Rows without a label: the pool selection draws from.
    pub fn unlabeled(&self) -> usize {
        self.rows - self.labeled.len()
    }

    /// Whether rows `i .. i + n` (`n <= 64`) are all unlabeled: one or two
    /// mask words instead of a test per row.
    #[inline]
    pub(crate) fn none_labeled(&self, i: usize, n: usize) -> bool {
        debug_assert!(n <= 64);
        let word = |w: usize| self.mask.get(w).copied().unwrap_or(0);
        let (w, b) = (i / 64, i % 64);
        let mut bits = word(w) >> b;
        if b != 0 {
            bits |= word(w + 1) << (64 - b);
        }
        let want = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
        bits & want == 0
    }

    /// Whether row `i` has a label.
    #[inline]
    pub fn is_labeled(&self, i: usize) -> bool {
        self.mask
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_labels_name_the_row() {
        let e = Labels::new("labels.npy", [0i64, 3], 3)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "labels.npy: label 3 at row 1 is out of range for 3 classes (use -1 for unlabeled)"
        );
        assert!(Labels::new("l", [-2i64], 3).is_err());
    }

    #[test]
    fn mask_covers_word_boundaries() {
        let v: Vec<i64> = (0..130).map(|i| if i % 63 == 0 { 1 } else { -1 }).collect();
        let l = Labels::new("l", v, 2).unwrap();
        assert_eq!(l.counts(), &[0, 3]);
        for i in 0..130 {
            assert_eq!(l.is_labeled(i), i % 63 == 0, "{i}");
        }
        assert!(!Labels::none(5, 2).is_labeled(4));
        for i in 0..190 {
            for n in [1, 16, 64] {
                let any = (i..i + n).any(|r| l.is_labeled(r));
                assert_eq!(l.none_labeled(i, n), !any, "{i} {n}");
            }
        }
    }
}
