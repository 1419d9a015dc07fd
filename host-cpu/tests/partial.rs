//! Sharded selection: a pool scored in shards of any rows, in batches of
//! any size, shipped as bytes and merged in any order selects what
//! `run_round` selects on the whole pool; bad bytes are refused.

use coselect_core::Config;
use coselect_cpu::{
    run_round, Calibration, Labels, Matrix, Parallelism, PartialRound, Pool, PriorShard, RoundPlan,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Case {
    classes: usize,
    fm: Vec<f32>,
    sm: Option<Vec<f32>>,
    labels: Vec<i64>,
    k: u32,
}

fn log_softmax(row: &mut [f32]) {
    let lse = coselect_core::math::log_sum_exp(row, 1.0);
    row.iter_mut().for_each(|v| *v -= lse);
}

fn case() -> impl Strategy<Value = Case> {
    (2usize..=5, 8usize..=120, any::<bool>())
        .prop_flat_map(|(classes, rows, with_sm)| {
            let cells = rows * classes;
            // A coarse grid makes exact score ties common, so the id
            // tie-break is exercised across shards.
            let v = prop_oneof![(-6i32..=6).prop_map(|v| v as f32 * 0.5), -4.0f32..4.0];
            (
                Just(classes),
                proptest::collection::vec(v.clone(), cells),
                proptest::collection::vec(v, if with_sm { cells } else { 0 }),
                proptest::collection::vec(
                    prop_oneof![3 => Just(-1i64), 1 => 0..classes as i64],
                    rows,
                ),
                1u32..=6,
                Just(with_sm),
            )
        })
        .prop_map(|(classes, fm, mut sm, labels, k, with_sm)| {
            sm.chunks_mut(classes).for_each(log_softmax);
            Case {
                classes,
                fm,
                sm: with_sm.then_some(sm),
                labels,
                k,
            }
        })
}

fn pool(c: &Case) -> Pool<'_> {
    let rows = c.labels.len();
    let fm = Matrix::f32("fm", &c.fm, rows, c.classes).unwrap();
    let sm =
        c.sm.as_ref()
            .map(|s| Matrix::f32("sm", s, rows, c.classes).unwrap());
    let labels = Labels::new("labels", c.labels.iter().copied(), c.classes as u32).unwrap();
    Pool::new(fm, sm, Some(labels)).unwrap()
}

/// The FM and small-model rows `part` of the case, contiguous.
fn gather(c: &Case, part: &[u64]) -> (Vec<f32>, Option<Vec<f32>>) {
    let rows = |m: &[f32]| -> Vec<f32> {
        part.iter()
            .flat_map(|&i| &m[i as usize * c.classes..(i as usize + 1) * c.classes])
            .copied()
            .collect()
    };
    (rows(&c.fm), c.sm.as_deref().map(rows))
}

/// Scores `ids` (rows of the case) into a state, `batch` rows per push.
fn shard(c: &Case, plan: &RoundPlan, ids: &[u64], batch: usize) -> PartialRound {
    let mut st = PartialRound::new(plan).unwrap();
    for part in ids.chunks(batch.max(1)) {
        let (fm, sm) = gather(c, part);
        let fmm = Matrix::f32("fm", &fm, part.len(), c.classes).unwrap();
        let smm = sm
            .as_ref()
            .map(|s| Matrix::f32("sm", s, part.len(), c.classes).unwrap());
        st.push(&fmm, smm.as_ref(), part).unwrap();
    }
    st
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn shards_merged_in_any_order_equal_the_whole_pool(
        c in case(),
        shards in 1usize..=5,
        batch in 1usize..=40,
        assign_seed in any::<u64>(),
        order_seed in any::<u64>(),
    ) {
        let p = pool(&c);
        let cfg = Config::new(c.classes as u32, c.k).unwrap();
        let whole = run_round(&p, &cfg, Parallelism { threads: 1, ..Default::default() });
        let fitted = match RoundPlan::fit(&p, &cfg, Parallelism::default()) {
            Ok(plan) => plan,
            Err(_) => { prop_assert!(whole.is_err()); return Ok(()); }
        };
        // The plan as a cluster makes it: calibration on the labeled rows,
        // EM passes over shards of every row, merged in another order.
        let cal = Calibration::fit(&p, &cfg).unwrap();
        let log_prior = match fitted.log_prior() {
            None => None,
            Some(_) => {
                let all: Vec<u64> = (0..c.labels.len() as u64).collect();
                let mut driver = PriorShard::new(&cfg, cal).unwrap();
                while !driver.is_done() {
                    let start = driver.to_bytes();
                    for part in all.chunks(batch.max(1) * 2).rev() {
                        let (fm, sm) = gather(&c, part);
                        let fmm = Matrix::f32("fm", &fm, part.len(), c.classes).unwrap();
                        let smm = sm.as_ref().map(|s| Matrix::f32("sm", s, part.len(), c.classes).unwrap());
                        let mut shard = PriorShard::from_bytes(&start).unwrap();
                        shard.push(&fmm, smm.as_ref()).unwrap();
                        driver.merge(&PriorShard::from_bytes(&shard.to_bytes()).unwrap()).unwrap();
                    }
                    driver.end_pass().unwrap();
                }
                Some(driver.log_prior())
            }
        };
        let plan = RoundPlan::new(&cfg, p.labels().counts(), cal, log_prior.as_deref()).unwrap();
        prop_assert_eq!(
            plan.log_prior().map(|l| l.iter().map(|x| x.to_bits()).collect::<Vec<_>>()),
            fitted.log_prior().map(|l| l.iter().map(|x| x.to_bits()).collect::<Vec<_>>())
        );
        // Unlabeled rows dealt to shards by a hash, so shards interleave.
        let mut parts = vec![Vec::new(); shards];
        for i in 0..c.labels.len() {
            if c.labels[i] < 0 {
                let h = (i as u64 ^ assign_seed).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                parts[(h >> 32) as usize % shards].push(i as u64);
            }
        }
        let mut states: Vec<PartialRound> = parts
            .iter()
            .map(|ids| PartialRound::from_bytes(&shard(&c, &plan, ids, batch).to_bytes()).unwrap())
            .collect();
        let mut merged = states.remove(order_seed as usize % states.len());
        while !states.is_empty() {
            let s = states.remove((order_seed >> 8) as usize % states.len());
            merged.merge(&s).unwrap();
        }
        prop_assert_eq!(merged.rows(), c.labels.iter().filter(|&&y| y < 0).count() as u64);
        match (merged.finish(), whole) {
            (Ok((q, ps)), Ok(w)) => {
                prop_assert_eq!(q, w.queries);
                prop_assert_eq!(ps, w.pseudo_labels);
            }
            (Err(_), Err(_)) => {}
            (a, b) => prop_assert!(false, "shards {:?} vs whole {:?}", a.map(|x| x.0), b.map(|x| x.queries)),
        }
    }
}

fn sample_state() -> (Case, PartialRound) {
    let mut s = 0x1234_5678u64;
    let mut rand = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32 * 6.0 - 3.0
    };
    let (rows, classes) = (300usize, 4usize);
    let fm: Vec<f32> = (0..rows * classes).map(|_| rand()).collect();
    // The small model mostly agrees with the FM, so rows get co-decided.
    let mut sm: Vec<f32> = fm.iter().map(|&x| 2.0 * x + 0.3 * rand()).collect();
    sm.chunks_mut(classes).for_each(log_softmax);
    let labels: Vec<i64> = (0..rows)
        .map(|i| match i % 10 {
            // Human labels agree with the FM, so calibration trusts it.
            0 => coselect_core::math::argmax(&fm[i * classes..(i + 1) * classes]) as i64,
            _ => -1,
        })
        .collect();
    let c = Case {
        classes,
        fm,
        sm: Some(sm),
        labels,
        k: 12,
    };
    let plan = RoundPlan::fit(
        &pool(&c),
        &Config::new(4, 12).unwrap(),
        Parallelism::default(),
    )
    .unwrap();
    let ids: Vec<u64> = (0..rows as u64).filter(|i| i % 10 != 0).collect();
    let st = shard(&c, &plan, &ids, 64);
    (c, st)
}

#[test]
fn every_truncation_and_every_bit_flip_is_refused_or_harmless() {
    let (_, st) = sample_state();
    let bytes = st.to_bytes();
    let whole = PartialRound::from_bytes(&bytes).unwrap().finish().unwrap();
    for n in 0..bytes.len() {
        assert!(
            PartialRound::from_bytes(&bytes[..n]).is_err(),
            "truncated at {n}"
        );
    }
    let mut extra = bytes.clone();
    extra.push(0);
    assert!(PartialRound::from_bytes(&extra).is_err());
    // A flipped bit is refused by the checksum; were it not, the decoded
    // state's invariants still hold, so finishing cannot panic.
    let mut refused = 0;
    for i in 0..bytes.len() {
        for bit in [0, 3, 7] {
            let mut b = bytes.clone();
            b[i] ^= 1 << bit;
            match PartialRound::from_bytes(&b) {
                Err(_) => refused += 1,
                Ok(s) => {
                    let _ = s.finish();
                }
            }
        }
    }
    assert!(
        refused > bytes.len(),
        "only {refused} of {} flips refused",
        3 * bytes.len()
    );
    assert!(!whole.0.is_empty() && !whole.1.is_empty());
}

#[test]
fn a_state_is_classes_times_k_not_rows() {
    let (c, st) = sample_state();
    let bytes = st.to_bytes().len();
    assert!(st.rows() == 270);
    // 4 classes x 12 entries of (f32, u64 varint) plus pseudo candidates
    // and the plan; far less than the 270 x 2 x 4 floats pushed.
    assert!(bytes < 270 * 2 * 4 * 4 / 2, "{bytes} bytes");
    assert_eq!(c.classes, 4);
}

#[test]
fn states_under_different_plans_do_not_merge() {
    let (_, mut st) = sample_state();
    let cal = Calibration {
        temperature: 1.0,
        fusion: None,
    };
    let other = RoundPlan::new(
        &Config::new(4, 12).unwrap(),
        &[0; 4],
        cal,
        Some(&[0.25f32.ln(); 4]),
    )
    .unwrap();
    let e = st.merge(&PartialRound::new(&other).unwrap()).unwrap_err();
    assert!(e.to_string().contains("cannot merge"), "{e}");
}

#[test]
fn a_bad_batch_leaves_the_state_unchanged() {
    let (c, mut st) = sample_state();
    let before = st.to_bytes();
    let mut fm = c.fm[..3 * c.classes].to_vec();
    let sm = c.sm.as_ref().unwrap()[..3 * c.classes].to_vec();
    fm[2 * c.classes + 1] = f32::NAN;
    let fmm = Matrix::f32("fm", &fm, 3, c.classes).unwrap();
    let smm = Matrix::f32("sm", &sm, 3, c.classes).unwrap();
    let e = st.push(&fmm, Some(&smm), &[1000, 1001, 1002]).unwrap_err();
    assert!(e.to_string().contains("row 2, col 1"), "{e}");
    assert_eq!(st.to_bytes(), before);
    // Wrong id count and a missing small model are refused too.
    assert!(st.push(&fmm, Some(&smm), &[1, 2]).is_err());
    assert!(st.push(&fmm, None, &[1, 2, 3]).is_err());
}

#[test]
fn prior_shard_bytes_are_checked() {
    let cal = Calibration {
        temperature: 1.0,
        fusion: None,
    };
    let mut s = PriorShard::new(&Config::new(3, 1).unwrap(), cal).unwrap();
    let fm = [2.0f32, 0.0, 0.0, 0.0, 1.0, 0.0];
    s.push(&Matrix::f32("fm", &fm, 2, 3).unwrap(), None)
        .unwrap();
    let bytes = s.to_bytes();
    assert_eq!(
        PriorShard::from_bytes(&bytes).unwrap().to_bytes(),
        bytes,
        "a round trip is exact"
    );
    for n in 0..bytes.len() {
        assert!(PriorShard::from_bytes(&bytes[..n]).is_err());
    }
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x08;
        assert!(PriorShard::from_bytes(&b).is_err(), "flip at {i}");
    }
    // A batch with a NaN changes nothing; a small model the calibration
    // does not weigh is refused.
    let bad = [f32::NAN, 0.0, 0.0];
    let e = s
        .push(&Matrix::f32("fm", &bad, 1, 3).unwrap(), None)
        .unwrap_err();
    assert!(e.to_string().contains("row 0, col 0"), "{e}");
    assert_eq!(s.to_bytes(), bytes);
    let sm = [-1.0986123f32; 3];
    let smm = Matrix::f32("sm", &sm, 1, 3).unwrap();
    assert!(s
        .push(&Matrix::f32("fm", &fm[..3], 1, 3).unwrap(), Some(&smm))
        .is_err());
    let other = PriorShard::new(&Config::new(3, 2).unwrap(), cal).unwrap();
    assert!(s.merge(&other).is_err());
}
