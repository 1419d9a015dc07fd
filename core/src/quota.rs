//! Water-filling of the labeling budget over classes.
//!
//! The budget goes where labels are fewest: `q_c` is chosen so that the
//! labeled counts after the round, `n_c + q_c`, are as equal as possible,
//! with `sum q_c = k`. Whatever cannot be split evenly goes to the classes
//! with the fewest labels, then to the lower class index.

use crate::error::{Error, Result};

/// Fills `quotas[c]` for labeled counts `counts[c]` and budget `k`.
///
/// ```
/// let mut q = [0u32; 3];
/// coselect_core::quota::water_fill(&[5, 0, 2], 6, &mut q)?;
/// assert_eq!(q, [0, 4, 2]); // levels after the round: 5, 4, 4
/// # Ok::<(), coselect_core::Error>(())
/// ```
pub fn water_fill(counts: &[u32], k: u32, quotas: &mut [u32]) -> Result<()> {
    if counts.len() != quotas.len() {
        return Err(Error::LengthMismatch {
            expected: counts.len(),
            found: quotas.len(),
        });
    }
    if counts.is_empty() {
        return Err(Error::InvalidClassCount { classes: 0 });
    }
    if k == 0 {
        return Err(Error::ZeroBudget);
    }
    let k = k as u64;
    // Needed to lift every class to `level`.
    let need = |level: u64| -> u64 {
        counts
            .iter()
            .map(|&n| level.saturating_sub(n as u64))
            .sum::<u64>()
    };
    // Largest level reachable with the budget: need(lo) <= k < need(hi).
    let min = counts.iter().copied().min().unwrap_or(0) as u64;
    let (mut lo, mut hi) = (min, min + k + 1);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if need(mid) <= k {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    for (q, &n) in quotas.iter_mut().zip(counts) {
        *q = lo.saturating_sub(n as u64) as u32;
    }
    // Fewer than "classes at the level" units remain: one each to the classes
    // at the level with the fewest original labels, then lower index.
    let mut rest = k - need(lo);
    while rest > 0 {
        let mut pick: Option<usize> = None;
        for (c, (&q, &n)) in quotas.iter().zip(counts).enumerate() {
            let at_level = n as u64 + q as u64 == lo;
            if at_level && pick.is_none_or(|p| n < counts[p]) {
                pick = Some(c);
            }
        }
        match pick {
            Some(c) => quotas[c] += 1,
            None => break, // unreachable: need(lo + 1) > k
        }
        rest -= 1;
    }
    Ok(())
}
