//! Human labels of a pool: `-1` for unlabeled, a class index otherwise.
//!
//! One pass turns the per-row labels into what a round needs: the trusted
//! count per class (quotas, seed or boundary mode, the pseudo-label cap),
//! the labeled rows (calibration), and a bit per row so the scoring pass
//! skips labeled rows at 1 bit per row instead of 8 bytes.

use crate::error::{Error, Result};

/// Labels files of at least this many rows are decoded in two halves on two
/// threads (below it a thread costs more than it saves).
const SPLIT_ROWS: usize = 1 << 17;

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
        let mut l = Labels::empty(name, classes);
        for (i, y) in labels.into_iter().enumerate() {
            if i % 64 == 0 {
                l.mask.push(0u64);
            }
            l.rows = i + 1;
            l.add(i, y, classes)?;
        }
        Ok(l)
    }

    /// [`Labels::new`] over little-endian integers of `W` bytes (`W` = 8 or
    /// 4, an `.npy` file's `<i8` or `<i4` data), decoded by `read`. The same
    /// result and the same error as `new` over the decoded values; a word of
    /// 64 unlabeled rows (the common case) is settled by one
    /// branch-free test of its decoded values.
    pub(crate) fn from_le<const W: usize>(
        name: &str,
        data: &[u8],
        classes: u32,
        read: impl Fn(&[u8; W]) -> i64 + Sync,
    ) -> Result<Self> {
        let rows = data.len() / W;
        let data = &data[..rows * W];
        if rows < SPLIT_ROWS {
            return Self::decode::<W>(name, data, classes, &read, 0);
        }
        // A large file in two halves at a word boundary, decoded at once:
        // the decoding runs before anything else can (it is most of the
        // serial start of a round), and it is bound by reading the file.
        let mid = rows.div_ceil(64) / 2 * 64;
        let (a, b) = data.split_at(mid * W);
        let decode_second = || Self::decode::<W>(name, b, classes, &read, mid);
        let (first, second) = std::thread::scope(|s| {
            // A thread the system refuses (a pids limit) must not panic: the second half is
            // then decoded here after the first.
            let second = std::thread::Builder::new()
                .spawn_scoped(s, decode_second)
                .ok();
            let first = Self::decode::<W>(name, a, classes, &read, 0);
            let second = match second {
                Some(h) => h.join(),
                None => Ok(decode_second()),
            };
            (first, second)
        });
        // The first half's error first: it names the lower row.
        let mut l = first?;
        let second = match second {
            Ok(r) => r?,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        l.rows += second.rows;
        for (x, y) in l.counts.iter_mut().zip(&second.counts) {
            *x += y;
        }
        let offset = mid as u64;
        l.labeled
            .extend(second.labeled.iter().map(|&(i, y)| (i + offset, y)));
        l.mask.extend_from_slice(&second.mask);
        Ok(l)
    }

    /// [`Labels::from_le`] of the rows `base ..` held in `data`, row numbers
    /// counted from `base` in errors only (`base` is a multiple of 64).
    fn decode<const W: usize>(
        name: &str,
        data: &[u8],
        classes: u32,
        read: &impl Fn(&[u8; W]) -> i64,
        base: usize,
    ) -> Result<Self> {
        let mut l = Labels::empty(name, classes);
        l.rows = data.len() / W;
        l.mask.reserve(l.rows.div_ceil(64));
        let value = |b: &[u8]| read(b.try_into().expect("W bytes"));
        for (w, bytes) in data.chunks(64 * W).enumerate() {
            // Tested on the bytes in place: a copy of the word into an
            // array was a call to `memcpy` per word.
            let mut unlabeled = true;
            for b in bytes.chunks_exact(W) {
                unlabeled &= value(b) == -1;
            }
            l.mask.push(0u64);
            if !unlabeled {
                for (j, b) in bytes.chunks_exact(W).enumerate() {
                    l.add(w * 64 + j, value(b), classes).map_err(|e| match e {
                        Error::LabelOutOfRange {
                            input,
                            row,
                            label,
                            classes,
                        } => Error::LabelOutOfRange {
                            input,
                            row: row + base as u64,
                            label,
                            classes,
                        },
                        e => e,
                    })?;
                }
            }
        }
        Ok(l)
    }

    /// No rows yet.
    fn empty(name: &str, classes: u32) -> Self {
        Labels {
            name: name.to_string(),
            rows: 0,
            counts: vec![0u32; classes as usize],
            labeled: Vec::new(),
            mask: Vec::new(),
        }
    }

    /// Takes label `y` of row `i`, whose mask word exists.
    #[inline]
    fn add(&mut self, i: usize, y: i64, classes: u32) -> Result<()> {
        if y == -1 {
            return Ok(());
        }
        if y < 0 || y >= classes as i64 {
            return Err(Error::LabelOutOfRange {
                input: self.name.clone(),
                row: i as u64,
                label: y,
                classes,
            });
        }
        self.counts[y as usize] += 1;
        self.labeled.push((i as u64, y as u32));
        self.mask[i / 64] |= 1 << (i % 64);
        Ok(())
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

    /// A file large enough to be decoded in two halves gives what
    /// `Labels::new` gives: labels on both sides of the split, a partial
    /// last word, and the lower row's error when both halves have one.
    #[test]
    fn two_halves_decode_as_one() {
        let rows = SPLIT_ROWS + 1000;
        let mid = rows.div_ceil(64) / 2 * 64;
        let mut v = vec![-1i64; rows];
        for i in [0, 5, mid - 1, mid, mid + 1, mid + 64, rows - 1] {
            v[i] = (i % 3) as i64;
        }
        let bytes = |v: &[i64]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
        let decode =
            |v: &[i64]| Labels::from_le::<8>("l", &bytes(v), 3, |b| i64::from_le_bytes(*b));
        assert_eq!(decode(&v).unwrap(), Labels::new("l", v.clone(), 3).unwrap());
        for bad in [[mid + 3, rows - 1], [7, mid + 3], [mid - 1, mid]] {
            let mut w = v.clone();
            for i in bad {
                w[i] = 9;
            }
            let want = Labels::new("l", w.clone(), 3).unwrap_err().to_string();
            assert_eq!(decode(&w).unwrap_err().to_string(), want, "{bad:?}");
        }
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
