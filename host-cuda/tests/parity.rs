//! The GPU selects what the CPU host selects, on random pools, whenever the
//! parity rule (coselect_cuda::parity) calls the pool unambiguous.
//!
//! Needs a CUDA device; without one each test prints why it skips, unless
//! COSELECT_REQUIRE_GPU=1 (scripts/gpu-check.sh sets it). Pool sizes come
//! from COSELECT_PARITY_ROWS (comma-separated; default 1000,20000), crossed
//! with 2, 10 and 100 classes up to COSELECT_PARITY_MAX_CELLS rows x classes
//! (default 1e8).

mod common;

use common::{pool, Stage};
use coselect_cuda::parity::{check, HostPool, Parity};
use coselect_cuda::{Error, Gpu, HostMatrix};

fn gpu() -> Option<Gpu> {
    match Gpu::new(0) {
        Ok(g) => Some(g),
        Err(Error::Unavailable { reason }) if std::env::var("COSELECT_REQUIRE_GPU").is_err() => {
            println!("SKIPPED: {reason}");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

fn env_list(name: &str, default: &str) -> Vec<usize> {
    std::env::var(name)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .map(|s| s.trim().parse().expect(name))
        .collect()
}

fn run(stage: Stage) {
    let Some(gpu) = gpu() else { return };
    let max_cells = env_list("COSELECT_PARITY_MAX_CELLS", "100000000")[0];
    let (mut same, mut ambiguous) = (0, 0);
    for rows in env_list("COSELECT_PARITY_ROWS", "1000,20000") {
        for classes in [2usize, 10, 100] {
            if rows * classes > max_cells || rows < 10 * classes {
                continue;
            }
            let k = (rows / 20).clamp(1, 256) as u32;
            let p = pool(rows, classes, stage, (rows * 31 + classes) as u64);
            let (cpu, params) = p.cpu_round(k, stage);
            let mask = p.labeled_mask();
            let sm = p.uses_sm(stage);
            let t = std::time::Instant::now();
            let g = gpu
                .select(
                    HostMatrix::f32(&p.fm, rows, classes).unwrap(),
                    sm.then(|| HostMatrix::f32(&p.sm, rows, classes).unwrap()),
                    Some(&mask),
                    &params,
                )
                .unwrap_or_else(|e| panic!("{rows} x {classes} {stage:?}: {e}"));
            let gpu_s = t.elapsed().as_secs_f64();
            let host = HostPool {
                fm: &p.fm,
                sm: sm.then_some(&p.sm[..]),
                labeled: Some(&mask),
                classes,
            };
            let verdict = check(&host, &params, &cpu.queries, &cpu.pseudo_labels, &g).unwrap();
            println!(
                "{stage:?} {rows} x {classes}, k {k}: {verdict:?} ({} pseudo-labels, gpu call {gpu_s:.3} s)",
                g.pseudo_labels.len()
            );
            match verdict {
                Parity::Same => same += 1,
                Parity::Ambiguous(_) => ambiguous += 1,
                Parity::Differ(d) => panic!("{stage:?} {rows} x {classes}: {d}"),
            }
        }
    }
    println!("{stage:?}: {same} pools identical, {ambiguous} ambiguous (not compared)");
    assert!(same > 0, "no unambiguous pool: the test compared nothing");
}

#[test]
fn first_round_fm_only() {
    run(Stage::First);
}

#[test]
fn mixed_seed_and_boundary_with_pseudo_labels() {
    run(Stage::Mixed);
}

#[test]
fn every_class_in_boundary_mode() {
    run(Stage::Boundary);
}

/// Without a GPU: the CPU's own selection passes the helper, and the
/// default pools include unambiguous ones, so the GPU tests compare
/// something.
#[test]
fn the_rule_leaves_pools_to_compare() {
    for stage in [Stage::First, Stage::Mixed, Stage::Boundary] {
        let mut same = 0;
        for (rows, classes) in [(1000, 2), (1000, 10), (20_000, 10), (20_000, 100)] {
            let k = (rows / 20).clamp(1, 256) as u32;
            let p = pool(rows, classes, stage, (rows * 31 + classes) as u64);
            let (cpu, params) = p.cpu_round(k, stage);
            let mask = p.labeled_mask();
            let host = HostPool {
                fm: &p.fm,
                sm: p.uses_sm(stage).then_some(&p.sm[..]),
                labeled: Some(&mask),
                classes,
            };
            let as_gpu = coselect_cuda::Selection {
                queries: cpu.queries.clone(),
                pseudo_labels: cpu.pseudo_labels.clone(),
                unlabeled: cpu.unlabeled as u64,
            };
            let v = check(&host, &params, &cpu.queries, &cpu.pseudo_labels, &as_gpu).unwrap();
            println!("{stage:?} {rows} x {classes}: {v:?}");
            assert!(!matches!(v, Parity::Differ(_)));
            same += (v == Parity::Same) as usize;
        }
        assert!(same > 0, "{stage:?}: every pool ambiguous");
    }
}

/// f16 and bf16 inputs: the GPU widens them exactly as the CPU host does.
/// The small model's rows are sharpened (log_softmax(4 L)) so that they
/// still sum to 1 within the core's 1e-3 after rounding to 16 bits; the CPU
/// round runs on the widened values, so both hosts see the same numbers.
#[test]
fn half_precision_inputs() {
    use half::{bf16, f16};
    let (rows, classes, stage) = (20_000, 10, Stage::Mixed);
    let p = pool(rows, classes, stage, 7);
    let mask = p.labeled_mask();
    let gpu = gpu();
    for bf in [false, true] {
        let to_bits = |x: f32| {
            if bf {
                bf16::from_f32(x).to_bits()
            } else {
                f16::from_f32(x).to_bits()
            }
        };
        let widen = |u: u16| {
            if bf {
                bf16::from_bits(u).to_f32()
            } else {
                f16::from_bits(u).to_f32()
            }
        };
        let mut sharp = p.sm.clone();
        for r in sharp.chunks_mut(classes) {
            r.iter_mut().for_each(|v| *v *= 4.0);
            let lse = coselect_core::math::log_sum_exp(r, 1.0);
            r.iter_mut().for_each(|v| *v -= lse);
        }
        let fm_bits: Vec<u16> = p.fm.iter().map(|&x| to_bits(x)).collect();
        let mut sm_bits: Vec<u16> = sharp.iter().map(|&x| to_bits(x)).collect();
        // Rounding moves each row's mass; put the error back into the
        // largest entry (where 16 bits are finest) and, where that is not
        // enough, make the row one-hot (exp(-30) is ~1e-13).
        for r in sm_bits.chunks_mut(classes) {
            let mass = |r: &[u16]| r.iter().map(|&u| widen(u).exp()).sum::<f32>();
            let top = (0..classes)
                .max_by(|&a, &b| widen(r[a]).total_cmp(&widen(r[b])))
                .unwrap();
            let s = mass(r);
            if (s - 1.0).abs() > 2e-4 {
                let p_top = widen(r[top]).exp() - (s - 1.0);
                r[top] = to_bits(p_top.max(1e-3).ln());
            }
            if (mass(r) - 1.0).abs() > 2e-4 {
                r.iter_mut().for_each(|u| *u = to_bits(-30.0));
                r[top] = to_bits(0.0);
            }
        }
        let q = common::Synthetic {
            rows,
            classes,
            fm: fm_bits.iter().map(|&u| widen(u)).collect(),
            sm: sm_bits.iter().map(|&u| widen(u)).collect(),
            labels: p.labels.clone(),
        };
        let (cpu, params) = q.cpu_round(50, stage);
        let Some(gpu) = gpu.as_ref() else { continue };
        let (fm_h, sm_h) = if bf {
            (
                HostMatrix::bf16_bits(&fm_bits, rows, classes).unwrap(),
                HostMatrix::bf16_bits(&sm_bits, rows, classes).unwrap(),
            )
        } else {
            (
                HostMatrix::f16_bits(&fm_bits, rows, classes).unwrap(),
                HostMatrix::f16_bits(&sm_bits, rows, classes).unwrap(),
            )
        };
        let g = gpu.select(fm_h, Some(sm_h), Some(&mask), &params).unwrap();
        let host = HostPool {
            fm: &q.fm,
            sm: Some(&q.sm),
            labeled: Some(&mask),
            classes,
        };
        let v = check(&host, &params, &cpu.queries, &cpu.pseudo_labels, &g).unwrap();
        println!(
            "{} {rows} x {classes}: {v:?}",
            if bf { "bf16" } else { "f16" }
        );
        assert!(!matches!(v, Parity::Differ(_)), "{v:?}");
    }
}

/// A NaN is reported with its row and column, as the CPU host reports it.
#[test]
fn nan_is_reported_with_its_place() {
    let Some(gpu) = gpu() else { return };
    let p = pool(5000, 10, Stage::First, 3);
    let mut fm = p.fm.clone();
    fm[4321 * 10 + 7] = f32::NAN;
    fm[4400 * 10 + 2] = f32::INFINITY;
    let params =
        coselect_cuda::RoundParams::first_round(coselect_core::Config::new(10, 20).unwrap());
    let e = gpu
        .select(HostMatrix::f32(&fm, 5000, 10).unwrap(), None, None, &params)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::BadValue {
                input: "fm",
                row: 4321,
                col: 7,
                ..
            }
        ),
        "{e}"
    );
}

/// k above the unlabeled rows: the core's error, no panic.
#[test]
fn budget_above_the_pool_is_refused() {
    let Some(gpu) = gpu() else { return };
    let p = pool(100, 2, Stage::First, 5);
    let params =
        coselect_cuda::RoundParams::first_round(coselect_core::Config::new(2, 101).unwrap());
    let e = gpu
        .select(HostMatrix::f32(&p.fm, 100, 2).unwrap(), None, None, &params)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Core {
                error: coselect_core::Error::BudgetExceedsPool { k: 101, pool: 100 },
                ..
            }
        ),
        "{e}"
    );
}
