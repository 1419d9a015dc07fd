//! Deterministic stratified sampling, so a bundled dataset is a fixed, reproducible subset.

use crate::dataset::LabeledTexts;
use crate::error::{FmError, Result};

/// How many samples each class keeps: `min(n_c, min_per_class)` first, then the rest of
/// `target` shared in proportion to what each class has left (largest remainder, ties to the
/// lower class index). The counts sum to `target` exactly.
///
/// ```
/// assert_eq!(coselect_fm::stratified_quotas(&[90, 9, 1], 10, 0)?, vec![9, 1, 0]);
/// assert_eq!(coselect_fm::stratified_quotas(&[90, 9, 1], 10, 2)?, vec![7, 2, 1]);
/// # Ok::<(), coselect_fm::FmError>(())
/// ```
pub fn stratified_quotas(
    counts: &[usize],
    target: usize,
    min_per_class: usize,
) -> Result<Vec<usize>> {
    let total: usize = counts.iter().sum();
    if target >= total {
        return Ok(counts.to_vec());
    }
    let base: Vec<usize> = counts.iter().map(|&n| n.min(min_per_class)).collect();
    let base_sum: usize = base.iter().sum();
    if base_sum > target {
        return Err(FmError::InvalidSetting(format!(
            "--min-per-class {min_per_class} needs {base_sum} samples, more than --sample {target}"
        )));
    }
    let left: Vec<usize> = counts.iter().zip(&base).map(|(n, b)| n - b).collect();
    let left_sum: usize = left.iter().sum();
    let extra = target - base_sum;
    let mut quotas = base.clone();
    let mut remainders = Vec::with_capacity(counts.len());
    let mut given = 0;
    for (c, &l) in left.iter().enumerate() {
        // Integer arithmetic keeps the split exact and platform independent.
        let share = l * extra / left_sum.max(1);
        let rem = l * extra % left_sum.max(1);
        quotas[c] += share;
        given += share;
        remainders.push((rem, c));
    }
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, c) in remainders.iter().take(extra - given) {
        quotas[c] += 1;
    }
    Ok(quotas)
}

/// A stratified sample of `target` rows with [`stratified_quotas`], the rows of each class
/// chosen by a seeded shuffle and kept in their original order.
///
/// ```
/// let set = coselect_fm::LabeledTexts::from_named_labels(
///     (0..10).map(|i| i.to_string()).collect(),
///     &(0..10).map(|i| if i < 8 { "a".to_string() } else { "b".to_string() }).collect::<Vec<_>>(),
///     "s", "l")?;
/// let sample = coselect_fm::stratified_sample(&set, 5, 1, 7)?;
/// assert_eq!(sample.class_counts(), vec![4, 1]);
/// assert_eq!(sample, coselect_fm::stratified_sample(&set, 5, 1, 7)?);
/// # Ok::<(), coselect_fm::FmError>(())
/// ```
pub fn stratified_sample(
    set: &LabeledTexts,
    target: usize,
    min_per_class: usize,
    seed: u64,
) -> Result<LabeledTexts> {
    let quotas = stratified_quotas(&set.class_counts(), target, min_per_class)?;
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); set.class_names.len()];
    for (i, &l) in set.labels.iter().enumerate() {
        by_class[l].push(i);
    }
    let mut rng = SplitMix64(seed);
    let mut keep = Vec::with_capacity(target);
    for (members, &q) in by_class.iter_mut().zip(&quotas) {
        // Partial Fisher-Yates: the first q slots become a uniform sample.
        for i in 0..q {
            let j = i + (rng.next() % (members.len() - i) as u64) as usize;
            members.swap(i, j);
        }
        keep.extend_from_slice(&members[..q]);
    }
    keep.sort_unstable();
    let out = LabeledTexts {
        texts: keep.iter().map(|&i| set.texts[i].clone()).collect(),
        labels: keep.iter().map(|&i| set.labels[i]).collect(),
        class_names: set.class_names.clone(),
        source: set.source.clone(),
        licence: set.licence.clone(),
        warnings: set.warnings.clone(),
    };
    if let Some((name, _)) = set
        .class_names
        .iter()
        .zip(out.class_counts())
        .find(|(_, n)| *n == 0)
    {
        return Err(FmError::EmptyClass {
            class: name.clone(),
            hint: " after sampling (raise --sample or --min-per-class)".into(),
        });
    }
    Ok(out)
}

/// SplitMix64: tiny, fast and fully specified, so samples do not change with a dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_sum_to_target_and_fit_the_classes() {
        // WordNet's 25 noun category sizes.
        let counts = [
            6650, 7509, 11587, 3039, 2016, 2964, 5607, 1074, 428, 2573, 2624, 3209, 42, 1545,
            11087, 641, 8030, 1061, 770, 1275, 437, 341, 3544, 2983, 1028,
        ];
        for target in [1, 25, 999, 20_000, 50_000, 82_063] {
            for min in [0, 1, 40] {
                let Ok(q) = stratified_quotas(&counts, target, min) else {
                    assert!(min * counts.len() > target, "target {target} min {min}");
                    continue;
                };
                assert_eq!(q.iter().sum::<usize>(), target, "target {target} min {min}");
                for (qc, nc) in q.iter().zip(&counts) {
                    assert!(qc <= nc && *qc >= min.min(*nc));
                }
            }
        }
    }

    #[test]
    fn different_seeds_pick_different_rows() {
        let labels: Vec<String> = (0..100).map(|i| (i % 2).to_string()).collect();
        let texts: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        let set = LabeledTexts::from_named_labels(texts, &labels, "s", "l").unwrap();
        let a = stratified_sample(&set, 10, 0, 1).unwrap();
        let b = stratified_sample(&set, 10, 0, 2).unwrap();
        assert_eq!(a.class_counts(), vec![5, 5]);
        assert_ne!(a.texts, b.texts);
    }
}
