//! The CPU host against the core's single-threaded path: the same queries,
//! pseudo-labels, calibration and prior for every thread count, chunk size
//! and storage type (f32, f16 widened, bf16 widened).
//!
//! Shard splits merged in any order are covered where a merge API exists:
//! the core's `Selector::merge` (core/tests/properties.rs, fuzz/selector).
//! coselect-cpu has no public shard-state or merge API yet, so its worker
//! merges are exercised only through the thread counts and chunk sizes here.

use coselect_core::math::fused_softmax;
use coselect_core::{
    fit_fusion, fit_temperature, CalibrationRows, CoDecider, Config, Fusion, Pick, PriorEm,
    PseudoLabel, Reason, Scorer, Selector,
};
use coselect_cpu::{
    run_round, Error, Labels, Matrix, Parallelism, PartialRound, Pool, RoundPlan, RoundResult,
    CALIBRATION_ROWS,
};
use half::{bf16, f16};
use proptest::prelude::*;

const C: usize = 5;

struct Reference {
    queries: Vec<Pick>,
    pseudo: Vec<PseudoLabel>,
    temperature: f32,
    fusion: Option<Fusion>,
    prior: Option<Vec<f64>>,
}

/// The round written with the core's own single-threaded types, row by row.
fn reference(
    fm: &[f32],
    sm: Option<&[f32]>,
    labels: &[i64],
    classes: usize,
    cfg: &Config,
) -> Result<Reference, coselect_core::Error> {
    reference_capped::<2048>(fm, sm, labels, classes, cfg)
}

/// [`reference`] with room for `P` pseudo-labels per class.
fn reference_capped<const P: usize>(
    fm: &[f32],
    sm: Option<&[f32]>,
    labels: &[i64],
    classes: usize,
    cfg: &Config,
) -> Result<Reference, coselect_core::Error> {
    let rows = labels.len();
    let mut counts = vec![0u32; classes];
    let labeled: Vec<usize> = (0..rows).filter(|&i| labels[i] >= 0).collect();
    for &i in &labeled {
        counts[labels[i] as usize] += 1;
    }
    // The calibration rows: all labeled rows, or CALIBRATION_ROWS of them
    // evenly spaced (positions floor(j n / m)).
    let (n, m) = (labeled.len(), labeled.len().min(CALIBRATION_ROWS));
    let (mut cf, mut cs, mut cy) = (Vec::new(), Vec::new(), Vec::new());
    for i in (0..m).map(|j| labeled[j * n / m]) {
        cf.extend_from_slice(&fm[i * classes..(i + 1) * classes]);
        if let Some(sm) = sm {
            cs.extend_from_slice(&sm[i * classes..(i + 1) * classes]);
        }
        cy.push(labels[i] as u32);
    }
    let temperature = fit_temperature(&CalibrationRows::new(&cf, None, &cy, classes)?, cfg)?;
    let fusion = match sm {
        Some(_) => Some(fit_fusion(
            &CalibrationRows::new(&cf, Some(&cs), &cy, classes)?,
            cfg,
        )?),
        None => None,
    };
    let w = fusion.unwrap_or(Fusion {
        a: temperature,
        b: 0.0,
    });
    let any_seed = counts.iter().any(|&n| n < cfg.seed_min);
    let (prior, log_pi) = if any_seed {
        let mut probs = vec![0.0f32; rows * classes];
        for i in 0..rows {
            let r = i * classes..(i + 1) * classes;
            fused_softmax(
                &fm[r.clone()],
                sm.map(|s| &s[r.clone()]),
                w.a,
                w.b,
                &mut probs[r],
            );
        }
        let mut em = PriorEm::<C>::new(cfg)?;
        em.fit(&probs)?;
        let mut lp = vec![0.0f32; classes];
        em.log_prior(&mut lp)?;
        (Some(em.prior().to_vec()), lp)
    } else {
        (None, vec![-(classes as f32).ln(); classes])
    };
    let scorer = Scorer::<C>::new(cfg, &counts, w, &log_pi)?;
    let mut sel = Selector::<C, 128>::new(cfg, &counts)?;
    let codecide = sm.is_some() && counts.iter().any(|&n| n > 0);
    let mut co = Box::new(CoDecider::<C, P>::new(cfg, &counts, temperature)?);
    for (i, &y) in labels.iter().enumerate() {
        if y >= 0 {
            continue;
        }
        let r = i * classes..(i + 1) * classes;
        let smr = sm.map(|s| &s[r.clone()]);
        sel.push_row(&scorer, i as u64, &fm[r.clone()], smr)?;
        if let (true, Some(s)) = (codecide, smr) {
            co.push(i as u64, &fm[r], s)?;
        }
    }
    let mut queries = vec![Pick::default(); cfg.k as usize];
    sel.finish(&mut queries)?;
    let mut pseudo = vec![PseudoLabel::default(); classes * P];
    let n = if codecide { co.finish(&mut pseudo)? } else { 0 };
    pseudo.truncate(n);
    Ok(Reference {
        queries,
        pseudo,
        temperature,
        fusion,
        prior,
    })
}

fn same(r: &Reference, h: &RoundResult) {
    assert_eq!(r.queries, h.queries);
    assert_eq!(r.pseudo, h.pseudo_labels);
    assert_eq!(r.temperature.to_bits(), h.calibration.temperature.to_bits());
    assert_eq!(r.fusion, h.calibration.fusion);
    assert_eq!(r.prior, h.prior.as_ref().map(|p| p.prior.clone()));
}

#[derive(Debug, Clone, Copy)]
enum Storage {
    F32,
    F16,
    Bf16,
}

/// Values from a small grid, so that scores tie often and the index
/// tie-break is exercised.
fn grid() -> impl Strategy<Value = f32> {
    prop_oneof![(-6i32..=6).prop_map(|v| v as f32 * 0.5), -4.0f32..4.0]
}

fn log_softmax(row: &mut [f32]) {
    let lse = coselect_core::math::log_sum_exp(row, 1.0);
    for v in row.iter_mut() {
        *v -= lse;
    }
}

#[derive(Debug)]
struct Case {
    classes: usize,
    fm: Vec<f32>,
    sm: Option<Vec<f32>>,
    labels: Vec<i64>,
    k: u32,
    storage: Storage,
}

fn case() -> impl Strategy<Value = Case> {
    (2usize..=C, 1usize..=90, any::<bool>(), 0u8..3)
        .prop_flat_map(|(classes, rows, with_sm, st)| {
            let cells = rows * classes;
            (
                Just(classes),
                proptest::collection::vec(grid(), cells),
                proptest::collection::vec(grid(), if with_sm { cells } else { 0 }),
                proptest::collection::vec(
                    prop_oneof![3 => Just(-1i64), 1 => 0..classes as i64],
                    rows,
                ),
                1u32..=32,
                Just(with_sm),
                Just(st),
            )
        })
        .prop_map(|(classes, fm, mut sm, labels, k, with_sm, st)| {
            let storage = [Storage::F32, Storage::F16, Storage::Bf16][st as usize];
            let round = |v: f32| match storage {
                Storage::F32 => v,
                Storage::F16 => f16::from_f32(v).to_f32(),
                Storage::Bf16 => bf16::from_f32(v).to_f32(),
            };
            let fm: Vec<f32> = fm.into_iter().map(round).collect();
            for row in sm.chunks_mut(classes) {
                log_softmax(row);
            }
            let sm: Vec<f32> = sm.into_iter().map(round).collect();
            Case {
                classes,
                fm,
                sm: with_sm.then_some(sm),
                labels,
                k,
                storage,
            }
        })
}

fn matrix<'a>(
    name: &str,
    v: &'a [f32],
    h: &'a [f16],
    b: &'a [bf16],
    storage: Storage,
    rows: usize,
    cols: usize,
) -> Matrix<'a> {
    match storage {
        Storage::F32 => Matrix::f32(name, v, rows, cols),
        Storage::F16 => Matrix::f16(name, h, rows, cols),
        Storage::Bf16 => Matrix::bf16(name, b, rows, cols),
    }
    .unwrap()
}

fn host(c: &Case, p: Parallelism) -> Result<RoundResult, Error> {
    let rows = c.labels.len();
    let fh: Vec<f16> = c.fm.iter().map(|&x| f16::from_f32(x)).collect();
    let fb: Vec<bf16> = c.fm.iter().map(|&x| bf16::from_f32(x)).collect();
    let sm = c.sm.clone().unwrap_or_default();
    let sh: Vec<f16> = sm.iter().map(|&x| f16::from_f32(x)).collect();
    let sb: Vec<bf16> = sm.iter().map(|&x| bf16::from_f32(x)).collect();
    let fm = matrix("fm", &c.fm, &fh, &fb, c.storage, rows, c.classes);
    let smm =
        c.sm.as_ref()
            .map(|_| matrix("sm", &sm, &sh, &sb, c.storage, rows, c.classes));
    let labels = Labels::new("labels", c.labels.iter().copied(), c.classes as u32)?;
    let pool = Pool::new(fm, smm, Some(labels))?;
    let cfg = Config::new(c.classes as u32, c.k).unwrap();
    run_round(&pool, &cfg, p)
}

/// Chunk sizes from one row to more than the pool (one chunk in all).
fn chunk_rows() -> impl Strategy<Value = usize> {
    prop_oneof![4 => 1usize..=100, 1 => Just(usize::MAX)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// 1, 2 and 7 worker threads (7 > the cores CI has, so workers share
    /// cores and claim chunks in scrambled orders), each with its own chunk
    /// size: the same queries, pseudo-labels, calibration and prior as the
    /// core's single-threaded round, or, on bad input, the same error.
    #[test]
    fn host_equals_core_for_any_threads_and_chunks(
        c in case(),
        chunks in prop::array::uniform3(chunk_rows()),
        em_cache in any::<bool>(),
    ) {
        let cfg = Config::new(c.classes as u32, c.k).unwrap();
        let r = reference(&c.fm, c.sm.as_deref(), &c.labels, c.classes, &cfg);
        let em_cache_bytes = if em_cache { usize::MAX } else { 0 };
        let mut errors = Vec::new();
        for (threads, chunk_rows) in [1usize, 2, 7].into_iter().zip(chunks) {
            let h = host(&c, Parallelism { threads, chunk_rows, em_cache_bytes });
            match (&r, h) {
                (Ok(r), Ok(h)) => same(r, &h),
                (Err(_), Err(e)) => errors.push(e.to_string()),
                (r, h) => panic!(
                    "{threads} threads, chunks of {chunk_rows}: reference {:?} vs host {:?}",
                    r.as_ref().map(|r| &r.queries),
                    h.map(|h| h.queries)
                ),
            }
        }
        errors.dedup();
        prop_assert!(errors.len() <= 1, "errors differ by thread count: {errors:?}");
    }
}

/// Uniform values in [0, 1) from a xorshift64 generator seeded with `state`: the larger pools
/// below, reproducible without a dependency.
fn xorshift(mut state: u64) -> impl FnMut() -> f32 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// The same pool stored as f16 and as the f32 values it widens to gives the
/// same bits everywhere.
#[test]
fn f16_pool_equals_its_f32_widening() {
    let (rows, classes) = (500usize, 4usize);
    let mut rand = xorshift(0x2545_f491_4f6c_dd1du64);
    let fm16: Vec<f16> = (0..rows * classes)
        .map(|_| f16::from_f32(rand() * 8.0 - 4.0))
        .collect();
    let wide: Vec<f32> = fm16.iter().map(|x| x.to_f32()).collect();
    let cfg = Config::new(classes as u32, 24).unwrap();
    let run = |m: Matrix<'_>| {
        let pool = Pool::new(m, None, None).unwrap();
        run_round(
            &pool,
            &cfg,
            Parallelism {
                threads: 2,
                chunk_rows: 37,
                em_cache_bytes: 0,
            },
        )
        .unwrap()
    };
    let a = run(Matrix::f16("fm", &fm16, rows, classes).unwrap());
    let b = run(Matrix::f32("fm", &wide, rows, classes).unwrap());
    assert_eq!(a, b);
    let r = reference(&wide, None, &vec![-1; rows], classes, &cfg).unwrap();
    same(&r, &a);
}

/// A pool large enough for several chunks per worker and every class mode
/// at once: seed classes (few labels) next to boundary classes.
#[test]
fn mixed_modes_on_a_larger_pool() {
    let (rows, classes) = (3000usize, 5usize);
    let mut rand = xorshift(0x9e37_79b9_7f4a_7c15u64);
    let mut fm: Vec<f32> = (0..rows * classes).map(|_| rand() * 10.0 - 5.0).collect();
    // Labeled rows agree with the FM, so the temperature fit keeps it sharp.
    for i in 0..31 {
        fm[i * classes + if i < 30 { i % 3 } else { 3 }] += 8.0;
    }
    // The small model mostly agrees with the FM, so co-decision finds rows.
    let mut sm: Vec<f32> = fm.iter().map(|&x| x + rand() * 4.0 - 2.0).collect();
    for row in sm.chunks_mut(classes) {
        log_softmax(row);
    }
    // Classes 0..2 get 10 labels (boundary), 3 gets 1, 4 none (seed).
    let labels: Vec<i64> = (0..rows)
        .map(|i| match i {
            i if i < 30 => (i % 3) as i64,
            30 => 3,
            _ => -1,
        })
        .collect();
    let cfg = Config::new(classes as u32, 40).unwrap();
    let r = reference(&fm, Some(&sm), &labels, classes, &cfg).unwrap();
    assert!(!r.pseudo.is_empty());
    for (threads, chunk_rows) in [(1, 3000), (2, 1), (2, 100), (3, 777)] {
        let h = f32_round(&fm, &sm, &labels, classes, &cfg, threads, chunk_rows);
        same(&r, &h);
        let seeds = h
            .queries
            .iter()
            .filter(|p| p.reason == Reason::Seed)
            .count();
        assert!(
            seeds > 0 && seeds < h.queries.len(),
            "both seed and boundary picks"
        );
    }
}

/// The host's round on f32 rows (FM, small model, labels) with this parallelism.
fn f32_round(
    fm: &[f32],
    sm: &[f32],
    labels: &[i64],
    classes: usize,
    cfg: &Config,
    threads: usize,
    chunk_rows: usize,
) -> RoundResult {
    let rows = labels.len();
    let pool = Pool::new(
        Matrix::f32("fm", fm, rows, classes).unwrap(),
        Some(Matrix::f32("sm", sm, rows, classes).unwrap()),
        Some(Labels::new("labels", labels.iter().copied(), classes as u32).unwrap()),
    )
    .unwrap();
    let p = Parallelism {
        threads,
        chunk_rows,
        ..Default::default()
    };
    run_round(&pool, cfg, p).unwrap()
}

/// Many human labels make a large pseudo-label cap (20 x 3,300 = 66,000 per
/// class), which the host keeps in lists that grow with the candidates and
/// select at twice the cap: the same pseudo-labels as the core,
/// with the cap binding, for any thread count and chunking, and through
/// shards shipped as bytes (a merged state holds more than the cap until it
/// selects, and only the best `cap` travel). The 6,600 labeled rows are also
/// more than the calibration reads ([`CALIBRATION_ROWS`]).
#[test]
fn large_caps_equal_the_core() {
    // The core's co-decider holds its lists by value: 5 x 70,000 entries.
    let run = || {
        let (rows, classes, per_class) = (400_000usize, 2usize, 3300usize);
        let mut rand = xorshift(0x51_7cc1_b727_220au64);
        let mut fm: Vec<f32> = (0..rows * classes).map(|_| rand() * 10.0 - 5.0).collect();
        let labels: Vec<i64> = (0..rows)
            .map(|i| match i < classes * per_class {
                true => (i % classes) as i64,
                false => -1,
            })
            .collect();
        for (i, &y) in labels.iter().enumerate().filter(|(_, &y)| y >= 0) {
            fm[i * classes + y as usize] += 8.0;
        }
        let mut sm: Vec<f32> = fm.iter().map(|&x| x + rand() * 4.0 - 2.0).collect();
        for row in sm.chunks_mut(classes) {
            log_softmax(row);
        }
        let cfg = Config::new(classes as u32, 16).unwrap();
        let r = reference_capped::<70_000>(&fm, Some(&sm), &labels, classes, &cfg).unwrap();
        let cap = 20 * per_class;
        let per = |c: u32| r.pseudo.iter().filter(|p| p.class == c).count();
        assert!(
            (0..2).any(|c| per(c) == cap),
            "the cap binds: {} {}",
            per(0),
            per(1)
        );
        for (threads, chunk_rows) in [(1, 400_000), (2, 10_000), (3, 77_777)] {
            let h = f32_round(&fm, &sm, &labels, classes, &cfg, threads, chunk_rows);
            same(&r, &h);
        }
        let pool = Pool::new(
            Matrix::f32("fm", &fm, rows, classes).unwrap(),
            Some(Matrix::f32("sm", &sm, rows, classes).unwrap()),
            Some(Labels::new("labels", labels.iter().copied(), classes as u32).unwrap()),
        )
        .unwrap();
        let plan = RoundPlan::fit(&pool, &cfg, Parallelism::default()).unwrap();
        let shard = |s: usize| {
            let ids: Vec<u64> = (0..rows as u64)
                .filter(|&i| labels[i as usize] < 0 && i % 3 == s as u64)
                .collect();
            let mut st = PartialRound::new(&plan).unwrap();
            for part in ids.chunks(50_000) {
                let rows_of = |m: &[f32]| -> Vec<f32> {
                    part.iter()
                        .flat_map(|&i| &m[i as usize * classes..(i as usize + 1) * classes])
                        .copied()
                        .collect()
                };
                let (f, m) = (rows_of(&fm), rows_of(&sm));
                let (f, m) = (
                    Matrix::f32("fm", &f, part.len(), classes).unwrap(),
                    Matrix::f32("sm", &m, part.len(), classes).unwrap(),
                );
                st.push(&f, Some(&m), part).unwrap();
            }
            PartialRound::from_bytes(&st.to_bytes()).unwrap()
        };
        let mut merged = shard(0);
        merged.merge(&shard(1)).unwrap();
        let mut merged = PartialRound::from_bytes(&merged.to_bytes()).unwrap();
        merged.merge(&shard(2)).unwrap();
        let (queries, pseudo) = merged.finish().unwrap();
        assert_eq!((queries, pseudo), (r.queries, r.pseudo));
    };
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(run)
        .unwrap()
        .join()
        .unwrap();
}

/// Every class in boundary mode with full lists and floors that differ by class: the pass then
/// skips whole blocks below the lowest floor (`block::boundary_scores_reaching`), which the small
/// pools of the property test never reach. A skip of a block holding a row that belongs in some
/// list (e.g. a floor taken as the highest class's instead of the lowest) changes the picks.
#[test]
fn boundary_block_skips_keep_the_selection() {
    let (rows, classes) = (4000usize, 5usize);
    let mut rand = xorshift(0x2545_f491_4f6c_dd1du64);
    let mut fm: Vec<f32> = (0..rows * classes).map(|_| rand() * 10.0 - 5.0).collect();
    for i in 0..5 * classes {
        fm[i * classes + i % classes] += 8.0;
    }
    // A small model leaning to class 0, so the classes' k-th scores (the floors) differ.
    let mut sm: Vec<f32> = fm
        .iter()
        .enumerate()
        .map(|(j, &x)| x + rand() * 4.0 - 2.0 + if j % classes == 0 { 2.0 } else { 0.0 })
        .collect();
    for row in sm.chunks_mut(classes) {
        log_softmax(row);
    }
    // 5 labels of every class: no class in seed mode.
    let labels: Vec<i64> = (0..rows)
        .map(|i| {
            if i < 5 * classes {
                (i % classes) as i64
            } else {
                -1
            }
        })
        .collect();
    for k in [1u32, 4, 8, 40] {
        let cfg = Config::new(classes as u32, k).unwrap();
        let r = reference(&fm, Some(&sm), &labels, classes, &cfg).unwrap();
        for (threads, chunk_rows) in [(1, 4000), (2, 100), (3, 777)] {
            let h = f32_round(&fm, &sm, &labels, classes, &cfg, threads, chunk_rows);
            same(&r, &h);
            assert!(
                h.queries.iter().all(|p| p.reason == Reason::Boundary),
                "k = {k}: every pick a boundary pick"
            );
        }
    }
}

/// A strided f32 view (rows padded, as a C caller or a numpy column slice
/// passes them) selects what the contiguous copy selects.
#[test]
fn strided_rows_equal_contiguous_rows() {
    let (rows, classes, stride) = (700usize, 3usize, 5usize);
    let padded: Vec<f32> = (0..rows * stride)
        .map(|i| {
            if i % stride < classes {
                ((i * 7919) % 97) as f32 / 10.0
            } else {
                f32::NAN
            }
        })
        .collect();
    let dense: Vec<f32> = padded
        .chunks(stride)
        .flat_map(|r| r[..classes].to_vec())
        .collect();
    let cfg = Config::new(classes as u32, 30).unwrap();
    let p = Parallelism {
        threads: 2,
        chunk_rows: 64,
        ..Default::default()
    };
    let a = Pool::new(
        Matrix::f32_strided("fm", &padded, rows, classes, stride).unwrap(),
        None,
        None,
    )
    .unwrap();
    let b = Pool::new(
        Matrix::f32("fm", &dense, rows, classes).unwrap(),
        None,
        None,
    )
    .unwrap();
    assert_eq!(
        run_round(&a, &cfg, p).unwrap(),
        run_round(&b, &cfg, p).unwrap()
    );
}
