//! Each kind of bad input gives its own error, never a panic.

use coselect_core::{
    fit_temperature, judge_label, logit_adjustment, quota::water_fill, CalibrationRows, CoDecider,
    Config, Error, Fusion, Pick, PriorEm, Scorer, Selector, CONFIG_VERSION,
};

fn cfg(c: u32, k: u32) -> Config {
    Config::new(c, k).unwrap()
}

#[test]
fn non_finite_values_name_row_and_column() {
    let c = cfg(3, 1);
    let scorer = Scorer::<3>::new(&c, &[0, 0, 0], Fusion::default(), &[0.0; 3]).unwrap();
    let mut out = [0.0; 3];
    assert_eq!(
        scorer.score_row(17, &[0.0, 1.0, f32::NAN], None, &mut out),
        Err(Error::NonFinite { row: 17, col: 2 })
    );
    let mut sel = Selector::<3, 1>::new(&c, &[0, 0, 0]).unwrap();
    assert_eq!(
        sel.push(4, &[f32::INFINITY, 0.0, 0.0]),
        Err(Error::NonFinite { row: 4, col: 0 })
    );
    assert_eq!(
        Scorer::<3>::new(
            &c,
            &[0, 0, 0],
            Fusion::default(),
            &[0.0, f32::NEG_INFINITY, 0.0]
        ),
        Err(Error::NonFinite { row: 0, col: 1 })
    );
}

#[test]
fn probability_rows_are_checked() {
    let c = cfg(2, 1);
    let mut em = PriorEm::<2>::new(&c).unwrap();
    assert_eq!(
        em.push(3, &[-0.1, 1.1]),
        Err(Error::NegativeProbability { row: 3, col: 0 })
    );
    assert!(matches!(
        em.push(5, &[0.7, 0.7]),
        Err(Error::NotNormalized { row: 5, .. })
    ));
    // Logits passed where log-probabilities are declared.
    let scorer = Scorer::<2>::new(&c, &[5, 5], Fusion::default(), &[0.0; 2]).unwrap();
    let mut out = [0.0; 2];
    assert!(matches!(
        scorer.score_row(9, &[0.0, 0.0], Some(&[2.0, 1.0]), &mut out),
        Err(Error::NotNormalized { row: 9, .. })
    ));
}

#[test]
fn shapes_are_checked() {
    let c = cfg(3, 1);
    let scorer = Scorer::<3>::new(&c, &[0, 0, 0], Fusion::default(), &[0.0; 3]).unwrap();
    let mut out = [0.0; 3];
    assert_eq!(
        scorer.score_row(0, &[0.0, 1.0], None, &mut out),
        Err(Error::ClassCountMismatch {
            expected: 3,
            found: 2
        })
    );
    assert_eq!(
        Selector::<3, 1>::new(&c, &[0, 0]),
        Err(Error::ClassCountMismatch {
            expected: 3,
            found: 2
        })
    );
    assert_eq!(
        CalibrationRows::new(&[0.0; 5], None, &[0, 1], 3).unwrap_err(),
        Error::LengthMismatch {
            expected: 6,
            found: 5
        }
    );
    let mut q = [0u32; 2];
    assert_eq!(
        water_fill(&[1, 2, 3], 4, &mut q),
        Err(Error::LengthMismatch {
            expected: 3,
            found: 2
        })
    );
}

#[test]
fn capacities_are_checked() {
    assert_eq!(
        Selector::<4, 8>::new(&cfg(2, 9), &[0, 0]),
        Err(Error::CapacityExceeded {
            needed: 9,
            capacity: 8
        })
    );
    assert_eq!(
        Selector::<4, 8>::new(&cfg(5, 1), &[0; 5]),
        Err(Error::CapacityExceeded {
            needed: 5,
            capacity: 4
        })
    );
    // Cap = 20 x 3 = 60 pseudo-labels per class, structure holds 32.
    assert_eq!(
        CoDecider::<2, 32>::new(&cfg(2, 1), &[3, 7], 1.0),
        Err(Error::CapacityExceeded {
            needed: 60,
            capacity: 32
        })
    );
}

#[test]
fn budget_and_pool_size_are_checked() {
    assert_eq!(Config::new(3, 0), Err(Error::ZeroBudget));
    let c = cfg(2, 3);
    let mut sel = Selector::<2, 4>::new(&c, &[0, 0]).unwrap();
    let mut out = [Pick::default(); 3];
    assert_eq!(sel.finish(&mut out), Err(Error::EmptyPool));
    sel.push(0, &[0.1, 0.2]).unwrap();
    sel.push(1, &[0.1, 0.2]).unwrap();
    assert_eq!(
        sel.finish(&mut out),
        Err(Error::BudgetExceedsPool { k: 3, pool: 2 })
    );
    sel.push(2, &[0.1, 0.2]).unwrap();
    assert_eq!(sel.finish(&mut out[..2]), Err(Error::BufferTooSmall));
    assert_eq!(sel.finish(&mut out), Ok(3));
    let mut em = PriorEm::<2>::new(&c).unwrap();
    assert_eq!(em.end_pass(), Err(Error::EmptyPool));
    assert_eq!(em.fit(&[]), Err(Error::EmptyPool));
}

#[test]
fn labels_are_checked() {
    assert_eq!(
        CalibrationRows::new(&[0.0; 4], None, &[0, 2], 2).unwrap_err(),
        Error::LabelOutOfRange {
            row: 1,
            label: 2,
            classes: 2
        }
    );
    let c = cfg(2, 1);
    let h = 0.5f32.ln();
    let mut s = [0.0; 2];
    assert_eq!(
        judge_label(8, &[0.0, 0.0], &[h, h], 5, Fusion::default(), &c, &mut s),
        Err(Error::LabelOutOfRange {
            row: 8,
            label: 5,
            classes: 2
        })
    );
}

#[test]
fn configs_are_checked() {
    assert_eq!(
        Config::new(1, 1),
        Err(Error::InvalidClassCount { classes: 1 })
    );
    let mut c = cfg(3, 1);
    c.co_confidence = f32::NAN;
    assert_eq!(
        c.validate(),
        Err(Error::InvalidConfig {
            field: "co_confidence"
        })
    );
    c = cfg(3, 1);
    c.em_floor = 0.5; // 3 classes x 0.5 > 1
    assert_eq!(
        c.validate(),
        Err(Error::InvalidConfig { field: "em_floor" })
    );
    // Every entry point re-validates an edited config.
    c = cfg(3, 1);
    c.pseudo_weight = 0.0;
    assert_eq!(
        Selector::<3, 1>::new(&c, &[0; 3]),
        Err(Error::InvalidConfig {
            field: "pseudo_weight"
        })
    );
    let rows = CalibrationRows::new(&[0.0; 3], None, &[0], 3).unwrap();
    assert_eq!(
        fit_temperature(&rows, &c),
        Err(Error::InvalidConfig {
            field: "pseudo_weight"
        })
    );
    assert_eq!(
        Scorer::<3>::new(&cfg(3, 1), &[0; 3], Fusion { a: -1.0, b: 1.0 }, &[0.0; 3]),
        Err(Error::InvalidConfig { field: "fusion" })
    );
    assert_eq!(
        CoDecider::<3, 8>::new(&cfg(3, 1), &[0; 3], 0.0),
        Err(Error::InvalidConfig {
            field: "temperature"
        })
    );
}

#[test]
fn bytes_are_checked() {
    let c = cfg(3, 2);
    let mut buf = [0u8; 128];
    let bytes = c.to_bytes(&mut buf).unwrap().to_vec();
    // Another version.
    let mut other = bytes.clone();
    other[0] = (CONFIG_VERSION + 1) as u8;
    assert_eq!(
        Config::from_bytes(&other),
        Err(Error::UnsupportedVersion {
            found: CONFIG_VERSION + 1,
            supported: CONFIG_VERSION
        })
    );
    // Truncated, trailing garbage, and a too-small output buffer.
    assert_eq!(
        Config::from_bytes(&bytes[..bytes.len() - 1]),
        Err(Error::Corrupt)
    );
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(Config::from_bytes(&long), Err(Error::Corrupt));
    assert_eq!(
        c.to_bytes(&mut [0u8; 4]).unwrap_err(),
        Error::BufferTooSmall
    );
    // Bytes that decode but hold an invalid config (classes = 1).
    let mut bad = bytes.clone();
    bad[1] = 1;
    assert_eq!(
        Config::from_bytes(&bad),
        Err(Error::InvalidClassCount { classes: 1 })
    );
    // A selector state whose heap breaks its invariant.
    let mut sel = Selector::<3, 2>::new(&c, &[0, 0, 0]).unwrap();
    sel.push(0, &[0.5, 0.5, 0.5]).unwrap();
    sel.push(1, &[0.25, 0.25, 0.25]).unwrap();
    let mut sbuf = [0u8; 256];
    let sbytes = sel.to_bytes(&mut sbuf).unwrap().to_vec();
    assert_eq!(Selector::<3, 2>::from_bytes(&sbytes).unwrap(), sel);
    // Claim 3 rows were pushed while each heap holds 2 of k = 2: consistent;
    // claim 1 row: inconsistent with 2 entries per heap.
    let pushed_at = 1 + 1 + 1; // version, k, seed_min varints
    let mut lie = sbytes.clone();
    assert_eq!(lie[pushed_at], 2);
    lie[pushed_at] = 1;
    assert_eq!(Selector::<3, 2>::from_bytes(&lie), Err(Error::Corrupt));
    // A selector of larger capacity does not fit a smaller one.
    assert!(Selector::<3, 1>::from_bytes(&sbytes).is_err());
}

#[test]
fn merges_are_checked() {
    let c = cfg(2, 1);
    let mut a = Selector::<2, 1>::new(&c, &[0, 1]).unwrap();
    let b = Selector::<2, 1>::new(&c, &[1, 0]).unwrap();
    assert_eq!(a.merge(&b), Err(Error::StateMismatch));
    let mut e1 = PriorEm::<2>::new(&c).unwrap();
    let mut e2 = e1.clone();
    e2.push(0, &[0.9, 0.1]).unwrap();
    e2.end_pass().unwrap();
    assert_eq!(e1.merge(&e2), Err(Error::StateMismatch));
    let mut d1 = CoDecider::<2, 64>::new(&c, &[1, 1], 1.0).unwrap();
    let d2 = CoDecider::<2, 64>::new(&c, &[1, 1], 2.0).unwrap();
    assert_eq!(d1.merge(&d2), Err(Error::StateMismatch));
}

#[test]
fn boundary_mode_needs_the_small_model() {
    let c = cfg(2, 1);
    let scorer = Scorer::<2>::new(&c, &[3, 0], Fusion::default(), &[0.0; 2]).unwrap();
    let mut out = [0.0; 2];
    assert_eq!(
        scorer.score_row(0, &[0.0, 0.0], None, &mut out),
        Err(Error::MissingSmallModel)
    );
}

#[test]
fn footprint_is_capacity_times_entry_plus_small_overhead() {
    use core::mem::size_of;
    // 16 bytes per entry (f32 score + u64 index); per class a length and a limit.
    let entries = |c: usize, k: usize| c * k * size_of::<coselect_core::Entry>();
    assert_eq!(size_of::<coselect_core::Entry>(), 16);
    let s = size_of::<Selector<16, 64>>();
    assert!(
        s >= entries(16, 64) && s <= entries(16, 64) + 16 * 24 + 128,
        "{s}"
    );
    let s = size_of::<Selector<100, 256>>();
    assert!(
        s >= entries(100, 256) && s <= entries(100, 256) + 100 * 24 + 128,
        "{s}"
    );
}

/// EM state bytes: every truncation and extension is refused, a round trip
/// is exact, and states EM cannot be in (a prior off the simplex) are
/// refused.
#[test]
fn prior_state_bytes_are_checked() {
    use coselect_core::PriorEm;
    let cfg = Config::new(3, 1).unwrap();
    let mut em = PriorEm::<3>::new(&cfg).unwrap();
    for i in 0..50u64 {
        let a = (i % 7) as f32 / 10.0;
        em.push(i, &[a, 0.9 - a, 0.1]).unwrap();
    }
    em.end_pass().unwrap();
    em.push(0, &[0.2, 0.3, 0.5]).unwrap();
    let mut buf = [0u8; 256];
    let bytes = em.to_bytes(&mut buf).unwrap().to_vec();
    assert!(bytes.len() <= em.max_serialized_len());
    assert_eq!(PriorEm::<3>::from_bytes(&bytes).unwrap(), em);
    for n in 0..bytes.len() {
        assert!(
            PriorEm::<3>::from_bytes(&bytes[..n]).is_err(),
            "truncated at {n}"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(PriorEm::<3>::from_bytes(&longer), Err(Error::Corrupt));
    // Fewer classes' capacity than the state holds.
    assert!(PriorEm::<2>::from_bytes(&bytes).is_err());
    // A flipped byte never panics. Structure is checked here (the prior on
    // the simplex, sums within the row count), integrity is not: a flip in
    // a sum's low bits is a valid state, so hosts that ship these bytes add
    // a checksum (coselect-cpu's PriorShard does).
    let mut refused = 0;
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x40;
        if PriorEm::<3>::from_bytes(&b).is_err() {
            refused += 1;
        }
    }
    assert!(
        refused > 0 && refused < bytes.len(),
        "{refused} of {}",
        bytes.len()
    );
    let mut small = [0u8; 8];
    assert_eq!(em.to_bytes(&mut small).unwrap_err(), Error::BufferTooSmall);
}

/// Found by fuzz/decode: a state whose heap holds one row twice decoded, and
/// its finish then failed with `Corrupt` (class 1 ran out of distinct rows).
/// Decoding must refuse it instead.
#[test]
fn a_heap_holding_a_row_twice_does_not_decode() {
    // version 1, k 3, seed_min 3, pushed 3, counts [2, 2], then two heaps of
    // limit 3: the first holds row 0 twice.
    let mut bytes = vec![1u8, 3, 3, 3, 2, 2, 2, 2];
    let entry = |s: f32, i: u8| {
        let mut v = s.to_le_bytes().to_vec();
        v.push(i);
        v
    };
    bytes.extend([3, 3]);
    for (s, i) in [(-1.0, 2), (0.25, 0), (0.5, 0)] {
        bytes.extend(entry(s, i));
    }
    bytes.extend([3, 3]);
    for (s, i) in [(0.125, 0), (0.25, 1), (0.5, 2)] {
        bytes.extend(entry(s, i));
    }
    assert_eq!(Selector::<2, 3>::from_bytes(&bytes), Err(Error::Corrupt));
    // The same bytes with row 1 in place of the second row 0 decode and finish.
    let at = 8 + 2 + 5 + 4;
    assert_eq!(bytes[at], 0);
    bytes[at] = 1;
    let mut sel = Selector::<2, 3>::from_bytes(&bytes).unwrap();
    let mut out = [Pick::default(); 3];
    assert_eq!(sel.finish(&mut out), Ok(3));
}

#[test]
fn logit_adjustment_refuses_what_has_no_finite_bias() {
    let mut out = [0.0f32; 3];
    let prior = [0.2, 0.3, 0.5];
    for tau in [-0.1, f32::NAN, f32::INFINITY] {
        assert_eq!(
            logit_adjustment(&prior, tau, &mut out),
            Err(Error::InvalidConfig {
                field: "logit_adjustment"
            })
        );
    }
    assert_eq!(
        logit_adjustment(&prior, 0.5, &mut out[..2]),
        Err(Error::LengthMismatch {
            expected: 3,
            found: 2
        })
    );
    assert_eq!(
        logit_adjustment(&[1.0], 0.5, &mut out[..1]),
        Err(Error::InvalidClassCount { classes: 1 })
    );
    assert_eq!(
        logit_adjustment(&[0.2, -0.3, 0.5], 0.5, &mut out),
        Err(Error::NegativeProbability { row: 0, col: 1 })
    );
    for bad in [0.0, f64::NAN, f64::INFINITY] {
        assert_eq!(
            logit_adjustment(&[0.2, 0.3, bad], 0.5, &mut out),
            Err(Error::NonFinite { row: 0, col: 2 })
        );
    }
    // Refused calls leave `out` as it was.
    assert_eq!(out, [0.0; 3]);
    logit_adjustment(&prior, 0.0, &mut out).unwrap();
    assert!(out.iter().all(|b| b.to_bits() == 0), "{out:?}");
    logit_adjustment(&prior, 1.0, &mut out).unwrap();
    for (b, p) in out.iter().zip(prior) {
        assert!((b + (p as f32).ln()).abs() < 1e-6);
    }
}
