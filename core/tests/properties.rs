//! Property tests: the streaming, sharded, merged forms equal the references.

mod common;
use common::{greedy_quotas, reference_select};

use coselect_core::{quota::water_fill, CoDecider, Config, Error, Pick, PseudoLabel, Selector};
use proptest::prelude::*;

/// 512 cases per property by default; `PROPTEST_CASES` overrides it (CI's
/// miri run uses a handful: the interpreter is ~1000x slower).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

/// A pool: per-class scores drawn from a few levels so ties are common.
fn pool() -> impl Strategy<Value = (usize, Vec<Vec<f32>>, Vec<u32>, u32)> {
    (2usize..=6, 1usize..=120).prop_flat_map(|(c, n)| {
        (
            Just(c),
            prop::collection::vec(
                prop::collection::vec((-8i32..=8).prop_map(|v| v as f32 * 0.125), c),
                n,
            ),
            prop::collection::vec(0u32..8, c),
            1u32..=(n as u32).min(16),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn streaming_selector_equals_reference(
        (c, scores, counts, k) in pool(),
        cuts in prop::collection::vec(0.0f64..1.0, 0..5),
        order_seed in any::<u64>(),
    ) {
        let n = scores.len();
        let cfg = Config::new(c as u32, k).unwrap();
        // Indices are a scrambled labelling, so "lower index" is not "earlier row".
        let indices: Vec<u64> = (0..n as u64).map(|i| (i * 7919 + 13) % 100_003).collect();
        // Split the pool at random cuts into shards.
        let mut bounds: Vec<usize> = cuts.iter().map(|f| (f * n as f64) as usize).collect();
        bounds.push(0);
        bounds.push(n);
        bounds.sort();
        let mut shards: Vec<Selector<6, 16>> = bounds
            .windows(2)
            .map(|w| {
                let mut s = Selector::<6, 16>::new(&cfg, &counts).unwrap();
                for i in w[0]..w[1] {
                    s.push(indices[i], &scores[i]).unwrap();
                }
                s
            })
            .collect();
        // Merge in a pseudo-random order.
        let mut rot = order_seed;
        while shards.len() > 1 {
            rot = rot.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let a = (rot >> 33) as usize % shards.len();
            let taken = shards.swap_remove(a);
            let b = (rot >> 17) as usize % shards.len();
            shards[b].merge(&taken).unwrap();
        }
        let mut sel = shards.pop().unwrap();
        prop_assert_eq!(sel.pushed(), n as u64);
        let mut out = vec![Pick::default(); k as usize];
        let got = sel.finish(&mut out).unwrap();
        prop_assert_eq!(got, k as usize);
        let got: Vec<(u64, u32)> = out.iter().map(|p| (p.index, p.class)).collect();
        prop_assert_eq!(got, reference_select(&scores, &indices, &counts, k));
    }

    #[test]
    fn water_fill_equals_greedy(counts in prop::collection::vec(0u32..50, 1..12), k in 1u32..200) {
        let mut q = vec![0; counts.len()];
        water_fill(&counts, k, &mut q).unwrap();
        prop_assert_eq!(q.iter().sum::<u32>(), k);
        prop_assert_eq!(q, greedy_quotas(&counts, k));
    }

    #[test]
    fn codecision_merges_exactly(
        rows in prop::collection::vec((0usize..3, 1u32..=9, 0usize..3, 1u32..=9), 1..150),
        cut in 0.0f64..1.0,
    ) {
        // Rows whose FM and small model each lean to a class with a strength.
        let cfg = Config::new(3, 1).unwrap();
        let make = |(fc, fs, sc, ss): (usize, u32, usize, u32)| {
            let fm: Vec<f32> = (0..3).map(|j| if j == fc { fs as f32 } else { 0.0 }).collect();
            let mut sm: Vec<f32> = (0..3).map(|j| if j == sc { ss as f32 * 0.5 } else { 0.0 }).collect();
            let lse = coselect_core::math::log_sum_exp(&sm, 1.0);
            sm.iter_mut().for_each(|v| *v -= lse);
            (fm, sm)
        };
        let counts = [1u32, 2, 0];
        let mut whole = CoDecider::<3, 64>::new(&cfg, &counts, 1.0).unwrap();
        let mut a = whole.clone();
        let mut b = whole.clone();
        let split = (cut * rows.len() as f64) as usize;
        for (i, &r) in rows.iter().enumerate() {
            let (fm, sm) = make(r);
            whole.push(i as u64, &fm, &sm).unwrap();
            if i < split { a.push(i as u64, &fm, &sm).unwrap(); } else { b.push(i as u64, &fm, &sm).unwrap(); }
        }
        b.merge(&a).unwrap();
        let mut o1 = vec![PseudoLabel::default(); 200];
        let mut o2 = vec![PseudoLabel::default(); 200];
        let n1 = whole.finish(&mut o1).unwrap();
        let n2 = b.finish(&mut o2).unwrap();
        prop_assert_eq!(&o1[..n1], &o2[..n2]);
        // Cap: 20 x the smallest labeled count (1).
        for cl in 0..3 {
            prop_assert!(o1[..n1].iter().filter(|p| p.class == cl).count() <= 20);
        }
    }

    #[test]
    fn config_round_trips(
        classes in 2u32..1000, k in 1u32..100_000, seed_min in 0u32..10,
        conf in 0.5f32..=1.0, floor_frac in 0.01f32..=1.0, cap in 1u32..100,
    ) {
        let mut cfg = Config::new(classes, k).unwrap();
        cfg.seed_min = seed_min;
        cfg.co_confidence = conf;
        cfg.co_floor = conf * floor_frac;
        cfg.cap_factor = cap;
        let mut buf = [0u8; 128];
        let bytes = cfg.to_bytes(&mut buf).unwrap();
        prop_assert_eq!(Config::from_bytes(bytes).unwrap(), cfg);
        for cut in 0..bytes.len() {
            prop_assert!(Config::from_bytes(&bytes[..cut]).is_err());
        }
    }

    #[test]
    fn selector_state_round_trips((c, scores, counts, k) in pool()) {
        let cfg = Config::new(c as u32, k).unwrap();
        let mut sel = Selector::<6, 16>::new(&cfg, &counts).unwrap();
        for (i, s) in scores.iter().enumerate() {
            sel.push(i as u64, s).unwrap();
        }
        let mut buf = vec![0u8; sel.max_serialized_len()];
        let bytes = sel.to_bytes(&mut buf).unwrap().to_vec();
        let back = Selector::<6, 16>::from_bytes(&bytes).unwrap();
        prop_assert_eq!(&back, &sel);
        for cut in 0..bytes.len() {
            prop_assert!(Selector::<6, 16>::from_bytes(&bytes[..cut]).is_err());
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = Config::from_bytes(&bytes);
        if let Ok(mut s) = Selector::<6, 16>::from_bytes(&bytes) {
            // A state that decodes is consistent: finishing it cannot fail
            // except for the documented pool-size errors.
            let mut out = vec![Pick::default(); 16];
            match s.finish(&mut out) {
                Ok(_) | Err(Error::EmptyPool) | Err(Error::BudgetExceedsPool { .. }) => {}
                Err(e) => prop_assert!(false, "decoded state failed with {e}"),
            }
        }
    }
}

/// `PriorEm::push_rows` is `push` row by row: the same state after every
/// pass (across its 2048-row integer blocks), and with a bad row the same
/// error and the same rows counted before it.
#[test]
fn em_push_rows_equals_push_row_by_row() {
    use coselect_core::PriorEm;
    let mut rng = common::Rng::new(7);
    let classes = 5;
    let cfg = Config::new(classes as u32, 1).unwrap();
    // Under miri (about a thousand times slower) one pool that crosses the
    // 2048-row block boundary with a bad row right after it.
    let pools: &[(usize, Option<usize>)] = match cfg!(miri) {
        true => &[(2049, Some(2048))],
        false => &[
            (1, None),
            (2047, None),
            (5000, None),
            (5000, Some(4100)),
            (9, Some(0)),
        ],
    };
    for &(rows, bad) in pools {
        let mut probs: Vec<f32> = Vec::with_capacity(rows * classes);
        for _ in 0..rows {
            let raw: Vec<f32> = (0..classes).map(|_| rng.uniform() as f32 + 1e-3).collect();
            let total: f32 = raw.iter().sum();
            probs.extend(raw.iter().map(|v| v / total));
        }
        if let Some(b) = bad {
            probs[b * classes + 2] = -0.5;
        }
        let (mut a, mut b) = (
            PriorEm::<8>::new(&cfg).unwrap(),
            PriorEm::<8>::new(&cfg).unwrap(),
        );
        for pass in 0..3 {
            let ra = a.push_rows(100, &probs);
            let rb = probs
                .chunks(classes)
                .enumerate()
                .try_for_each(|(i, r)| b.push(100 + i as u64, r));
            assert_eq!(ra, rb, "{rows} rows, pass {pass}");
            assert_eq!(a, b, "{rows} rows, pass {pass}");
            if ra.is_err() {
                break;
            }
            assert_eq!(a.end_pass(), b.end_pass());
        }
    }
}
