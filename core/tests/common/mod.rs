//! References shared by the integration tests.
#![allow(dead_code)]

/// A small deterministic generator so the tests need no RNG crate.
pub struct Rng(u64);
impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn normal(&mut self) -> f64 {
        let u = self.uniform().max(1e-300);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.uniform() * n as f64) as usize % n
    }
}

/// Greedy reference of water-filling: one unit at a time to the lowest level,
/// ties to the fewest original labels, then the lower class.
pub fn greedy_quotas(counts: &[u32], k: u32) -> Vec<u32> {
    let mut q = vec![0u32; counts.len()];
    for _ in 0..k {
        let c = (0..counts.len())
            .min_by_key(|&c| (counts[c] + q[c], counts[c], c))
            .unwrap();
        q[c] += 1;
    }
    q
}

/// Sort-based reference of the whole selection from per-class scores.
pub fn reference_select(
    scores: &[Vec<f32>],
    indices: &[u64],
    counts: &[u32],
    k: u32,
) -> Vec<(u64, u32)> {
    let c = counts.len();
    let quotas = greedy_quotas(counts, k);
    let mut lists: Vec<Vec<(f32, u64)>> = (0..c)
        .map(|cl| {
            let mut v: Vec<(f32, u64)> = scores
                .iter()
                .zip(indices)
                .map(|(s, &i)| (s[cl] + 0.0, i))
                .collect();
            v.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap().then(a.1.cmp(&b.1)));
            v
        })
        .collect();
    let mut order: Vec<usize> = (0..c).collect();
    order.sort_by_key(|&cl| (counts[cl], cl));
    let mut left = quotas.clone();
    let mut taken: Vec<(u64, u32)> = Vec::new();
    while taken.len() < k as usize {
        for &cl in &order {
            if taken.len() == k as usize || left[cl] == 0 {
                continue;
            }
            let pos = lists[cl]
                .iter()
                .position(|&(_, i)| !taken.iter().any(|t| t.0 == i))
                .unwrap();
            let (_, i) = lists[cl].remove(pos);
            taken.push((i, cl as u32));
            left[cl] -= 1;
        }
    }
    taken
}
