//! Criterion benches of a round on the CPU host, in GB/s of score input.
//!
//! Two kinds of round, each at 1M x 10, 10M x 10 and 1M x 100, on 1 and 2
//! worker threads, k = 256:
//! - `score_select`: the everyday round. FM scores and small-model
//!   log-probabilities, every class with enough labels (boundary mode), so
//!   one pass validates, scores, selects and co-decides pseudo-labels.
//!   Input = FM + small model bytes.
//! - `round0`: the cold start. FM scores only, no labels: EM of the pool
//!   prior (one pass per iteration) and then seed scoring and selection.
//!   Input = FM bytes, counted once per round (the EM passes re-read them).
//!
//! Runs are kept short (10 samples, 1 s warm-up, 3 s measurement) so the
//! default `cargo bench` fits in minutes and 10M x 10 (800 MB with the small
//! model) fits in memory. `COSELECT_BENCH_SIZES=1Mx10` limits the sizes;
//! `round0` runs at 1M x 10 only unless `COSELECT_BENCH_ROUND0_ALL` is set.

use std::time::Duration;

use coselect_core::Config;
use coselect_cpu::{run_round, Labels, Matrix, Parallelism, Pool};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// Deterministic uniform noise in [-4, 4).
fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 * 8.0 - 4.0
        })
        .collect()
}

struct Data {
    rows: usize,
    classes: usize,
    fm: Vec<f32>,
    sm: Vec<f32>,
    labels: Vec<i64>,
}

fn data(rows: usize, classes: usize) -> Data {
    let fm = noise(rows * classes, 0x9e37_79b9);
    let mut sm: Vec<f32> = fm
        .iter()
        .zip(noise(rows * classes, 0x7f4a_7c15))
        .map(|(a, b)| a + 0.5 * b)
        .collect();
    for row in sm.chunks_mut(classes) {
        let lse = coselect_core::math::log_sum_exp(row, 1.0);
        row.iter_mut().for_each(|v| *v -= lse);
    }
    // 10 labels per class, on the first rows the FM assigns to each class:
    // every class in boundary mode, and labels the FM agrees with, so the
    // temperature stays sharp and co-decision has candidates to weigh.
    let mut labels = vec![-1i64; rows];
    let mut per_class = vec![0; classes];
    for (i, row) in fm.chunks(classes).enumerate() {
        let c = coselect_core::math::argmax(row);
        if per_class[c] < 10 {
            per_class[c] += 1;
            labels[i] = c as i64;
        }
        if per_class.iter().all(|&n| n == 10) {
            break;
        }
    }
    Data {
        rows,
        classes,
        fm,
        sm,
        labels,
    }
}

fn sizes() -> Vec<(&'static str, usize, usize)> {
    let all = [
        ("1Mx10", 1_000_000, 10),
        ("10Mx10", 10_000_000, 10),
        ("1Mx100", 1_000_000, 100),
    ];
    let only = std::env::var("COSELECT_BENCH_SIZES").unwrap_or_default();
    all.into_iter()
        .filter(|(name, _, _)| {
            only.is_empty() || only.split(',').any(|s| s.eq_ignore_ascii_case(name))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    for (name, rows, classes) in sizes() {
        let d = data(rows, classes);
        let cfg = Config::new(d.classes as u32, 256).unwrap();
        let fm = || Matrix::f32("fm", &d.fm, d.rows, d.classes).unwrap();
        let sm = || Matrix::f32("sm", &d.sm, d.rows, d.classes).unwrap();
        let labels = || Labels::new("labels", d.labels.iter().copied(), d.classes as u32).unwrap();

        let pool = Pool::new(fm(), Some(sm()), Some(labels())).unwrap();
        let mut g = c.benchmark_group(format!("score_select/{name}"));
        g.sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3))
            .throughput(Throughput::Bytes(pool.input_bytes() as u64));
        for threads in [1, 2] {
            let p = Parallelism {
                threads,
                ..Parallelism::default()
            };
            g.bench_with_input(BenchmarkId::new("threads", threads), &p, |b, p| {
                b.iter(|| run_round(&pool, &cfg, *p).unwrap())
            });
        }
        g.finish();

        // EM re-reads the pool once per iteration (up to 100 on a pool whose
        // prior is near uniform): by default only at the smallest size.
        if name != "1Mx10" && std::env::var_os("COSELECT_BENCH_ROUND0_ALL").is_none() {
            continue;
        }
        let pool = Pool::new(fm(), None, None).unwrap();
        let mut g = c.benchmark_group(format!("round0/{name}"));
        g.sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3))
            .throughput(Throughput::Bytes(pool.input_bytes() as u64));
        for threads in [1, 2] {
            let p = Parallelism {
                threads,
                ..Parallelism::default()
            };
            g.bench_with_input(BenchmarkId::new("threads", threads), &p, |b, p| {
                b.iter(|| run_round(&pool, &cfg, *p).unwrap())
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
