//! Synthetic pools shared by the parity tests and the GPU benchmark: an
//! imbalanced class prior, FM logits that favour the true class, and
//! small-model log-probabilities from a noisier view of it.
#![allow(dead_code)]

use coselect_core::Config;
use coselect_cpu::{run_round, Labels, Matrix, Parallelism, Pool, RoundResult};
use coselect_cuda::RoundParams;

pub struct Synthetic {
    pub rows: usize,
    pub classes: usize,
    pub fm: Vec<f32>,
    pub sm: Vec<f32>,
    pub labels: Vec<i64>,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// How many humans labeled per class: none (round 0), a mix of seed- and
/// boundary-mode classes, or every class in boundary mode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stage {
    First,
    Mixed,
    Boundary,
}

/// Rows drawn from this many distinct patterns when the pool is larger: at
/// millions of rows the best scores of random rows lie closer than the
/// parity rule's 1e-6, while repeated patterns tie exactly and exercise the
/// index order of the select.
pub const PALETTE: usize = 4096;

pub fn pool(rows: usize, classes: usize, stage: Stage, seed: u64) -> Synthetic {
    if rows <= PALETTE {
        return random_pool(rows, classes, stage, seed);
    }
    let base = random_pool(PALETTE, classes, Stage::First, seed);
    let mut fm = vec![0.0f32; rows * classes];
    let mut sm = vec![0.0f32; rows * classes];
    let mut pattern = seed | 1;
    for i in 0..rows {
        pattern ^= pattern << 13;
        pattern ^= pattern >> 7;
        pattern ^= pattern << 17;
        let p = (pattern % PALETTE as u64) as usize;
        fm[i * classes..(i + 1) * classes]
            .copy_from_slice(&base.fm[p * classes..(p + 1) * classes]);
        sm[i * classes..(i + 1) * classes]
            .copy_from_slice(&base.sm[p * classes..(p + 1) * classes]);
    }
    let labels = label(&sm, classes, stage);
    Synthetic {
        rows,
        classes,
        fm,
        sm,
        labels,
    }
}

/// Labels the first rows of each class (by the small model's argmax) up to
/// the stage's counts.
fn label(sm: &[f32], classes: usize, stage: Stage) -> Vec<i64> {
    let want = |c: usize| -> u32 {
        match stage {
            Stage::First => 0,
            Stage::Mixed => [0, 1, 4, 6][c % 4],
            Stage::Boundary => 3 + (c % 3) as u32,
        }
    };
    let mut counts = vec![0u32; classes];
    sm.chunks(classes)
        .map(|r| {
            let y = coselect_core::math::argmax(r);
            if counts[y] < want(y) {
                counts[y] += 1;
                y as i64
            } else {
                -1
            }
        })
        .collect()
}

fn random_pool(rows: usize, classes: usize, stage: Stage, seed: u64) -> Synthetic {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let (mut fm, mut sm) = (vec![0.0f32; rows * classes], vec![0.0f32; rows * classes]);
    for i in 0..rows {
        // Class c has weight 1 / (1 + c): a long tail.
        let u = rng.next() * (classes as f32).ln_1p();
        let y = ((u.exp() - 1.0) as usize).min(classes - 1);
        let (f, s) = (
            &mut fm[i * classes..(i + 1) * classes],
            &mut sm[i * classes..(i + 1) * classes],
        );
        for c in 0..classes {
            let hit = if c == y { 1.0 } else { 0.0 };
            f[c] = 3.0 * hit + 2.0 * rng.next();
            s[c] = 2.0 * hit + 3.0 * rng.next();
        }
        let m = s.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let lse = m + s.iter().map(|&v| (v - m).exp()).sum::<f32>().ln();
        s.iter_mut().for_each(|v| *v -= lse);
    }
    let labels = label(&sm, classes, stage);
    Synthetic {
        rows,
        classes,
        fm,
        sm,
        labels,
    }
}

impl Synthetic {
    pub fn uses_sm(&self, stage: Stage) -> bool {
        stage != Stage::First
    }

    pub fn labeled_mask(&self) -> Vec<bool> {
        self.labels.iter().map(|&y| y >= 0).collect()
    }

    /// The CPU host's round and the GPU parameters it implies.
    pub fn cpu_round(&self, k: u32, stage: Stage) -> (RoundResult, RoundParams) {
        let c = self.classes;
        let fm = Matrix::f32("fm", &self.fm, self.rows, c).unwrap();
        let sm = self
            .uses_sm(stage)
            .then(|| Matrix::f32("sm", &self.sm, self.rows, c).unwrap());
        let labels = Labels::new("labels", self.labels.iter().copied(), c as u32).unwrap();
        let counts = labels.counts().to_vec();
        let pool = Pool::new(fm, sm, Some(labels)).unwrap();
        let config = Config::new(c as u32, k).unwrap();
        let r = run_round(&pool, &config, Parallelism::default()).unwrap();
        let params = RoundParams {
            config,
            counts,
            fusion: r.calibration.posterior_weights(),
            temperature: r.calibration.temperature,
            log_prior: match &r.prior {
                Some(p) => p.log_prior.clone(),
                None => vec![-(c as f32).ln(); c],
            },
            validate: true,
        };
        (r, params)
    }
}
