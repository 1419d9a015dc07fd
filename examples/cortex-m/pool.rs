// The fixed pool of the Cortex-M example, generated deterministically.
//
// `include!`d by build.rs (which writes it into flash as bytes) and by the
// host test core/tests/cortex_m.rs (which selects on the same bytes on x86),
// so both sides see one pool by construction. Plain std Rust: a xorshift
// generator, a Box-Muller normal, f64 arithmetic rounded to f32 once.

/// Rows x classes f32 little-endian FM logits, then the same shape of
/// small-model log-probabilities.
pub fn pool_bytes(rows: usize, classes: usize) -> Vec<u8> {
    let mut s: u64 = 0x2545_f491_4f6c_dd1d;
    let mut uniform = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    // An imbalanced pool: class c is drawn with weight 1 / (c + 1)^1.5.
    let weights: Vec<f64> = (0..classes).map(|c| 1.0 / ((c + 1) as f64).powf(1.5)).collect();
    let total: f64 = weights.iter().sum();
    let mut fm = Vec::with_capacity(rows * classes);
    let mut sm = Vec::with_capacity(rows * classes);
    for _ in 0..rows {
        let mut u = uniform() * total;
        let mut y = classes - 1;
        for (c, w) in weights.iter().enumerate() {
            if u < *w {
                y = c;
                break;
            }
            u -= w;
        }
        let mut normal = || {
            let a = uniform().max(1e-300);
            let b = uniform();
            (-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()
        };
        let f: Vec<f64> = (0..classes)
            .map(|c| normal() + if c == y { 2.5 } else { 0.0 })
            .collect();
        let l: Vec<f64> = (0..classes)
            .map(|c| 0.8 * normal() + if c == y { 1.5 } else { 0.0 })
            .collect();
        let m = l.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = m + l.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
        fm.extend(f.iter().map(|&v| v as f32));
        sm.extend(l.iter().map(|&v| (v - lse) as f32));
    }
    fm.iter().chain(&sm).flat_map(|v| v.to_le_bytes()).collect()
}
