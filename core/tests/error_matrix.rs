//! The Rust-API (coselect-core) column of docs/errors.md: one test per row of
//! the bad-input matrix, asserting the exact error the doc names. Cells the
//! type system rules out (wrong dtype, null pointer) have no test: they do
//! not compile.

use coselect_core::{
    CalibrationRows, Config, Error, Fusion, Pick, PriorEm, Scorer, Selector, CONFIG_VERSION,
    MAX_CLASSES,
};

fn scorer3(counts: [u32; 3]) -> Scorer<3> {
    Scorer::<3>::new(
        &Config::new(3, 2).unwrap(),
        &counts,
        Fusion::default(),
        &[0.0; 3],
    )
    .unwrap()
}

#[test]
fn nan() {
    let mut out = [0.0; 3];
    assert_eq!(
        scorer3([0; 3]).score_row(7, &[0.0, f32::NAN, 1.0], None, &mut out),
        Err(Error::NonFinite { row: 7, col: 1 })
    );
    let mut sel = Selector::<3, 2>::new(&Config::new(3, 2).unwrap(), &[0; 3]).unwrap();
    assert_eq!(
        sel.push(4, &[0.0, 0.0, f32::NAN]),
        Err(Error::NonFinite { row: 4, col: 2 })
    );
    // Refused rows leave the state as it was.
    assert_eq!(sel.pushed(), 0);
}

#[test]
fn inf() {
    let mut out = [0.0; 3];
    let h = (1.0f32 / 3.0).ln();
    assert_eq!(
        scorer3([5; 3]).score_row(2, &[0.0; 3], Some(&[h, f32::NEG_INFINITY, h]), &mut out),
        Err(Error::NonFinite { row: 2, col: 1 })
    );
    let mut em = PriorEm::<3>::new(&Config::new(3, 2).unwrap()).unwrap();
    assert_eq!(
        em.push(9, &[f32::INFINITY, 0.0, 0.0]),
        Err(Error::NonFinite { row: 9, col: 0 })
    );
}

#[test]
fn negative() {
    let mut em = PriorEm::<3>::new(&Config::new(3, 2).unwrap()).unwrap();
    assert_eq!(
        em.push(3, &[0.6, 0.6, -0.2]),
        Err(Error::NegativeProbability { row: 3, col: 2 })
    );
}

#[test]
fn unnormalised() {
    let mut em = PriorEm::<3>::new(&Config::new(3, 2).unwrap()).unwrap();
    assert!(matches!(
        em.push(5, &[0.5, 0.5, 0.5]),
        Err(Error::NotNormalized { row: 5, sum }) if (sum - 1.5).abs() < 1e-6
    ));
    // Logits where the small model's log-probabilities belong.
    let mut out = [0.0; 3];
    assert!(matches!(
        scorer3([5; 3]).score_row(6, &[0.0; 3], Some(&[1.0, 2.0, 3.0]), &mut out),
        Err(Error::NotNormalized { row: 6, .. })
    ));
}

#[test]
fn wrong_shape() {
    let mut out = [0.0; 3];
    assert_eq!(
        scorer3([0; 3]).score_row(0, &[0.0; 4], None, &mut out),
        Err(Error::ClassCountMismatch {
            expected: 3,
            found: 4
        })
    );
    assert_eq!(
        Selector::<3, 2>::new(&Config::new(3, 2).unwrap(), &[0; 2]),
        Err(Error::ClassCountMismatch {
            expected: 3,
            found: 2
        })
    );
}

#[test]
fn wrong_stride() {
    // The core takes rows as slices; a flat row-major buffer whose length is
    // not a multiple of the class count is the one stride error it can see.
    let mut em = PriorEm::<3>::new(&Config::new(3, 2).unwrap()).unwrap();
    assert_eq!(
        em.fit(&[0.5, 0.25, 0.25, 0.5]),
        Err(Error::LengthMismatch {
            expected: 6,
            found: 4
        })
    );
    assert_eq!(
        CalibrationRows::new(&[0.0; 5], None, &[0, 1], 3).unwrap_err(),
        Error::LengthMismatch {
            expected: 6,
            found: 5
        }
    );
}

#[test]
fn k_zero() {
    assert_eq!(Config::new(3, 0), Err(Error::ZeroBudget));
    // An edited config is re-validated by every entry point.
    let mut cfg = Config::new(3, 2).unwrap();
    cfg.k = 0;
    assert_eq!(Selector::<3, 2>::new(&cfg, &[0; 3]), Err(Error::ZeroBudget));
}

#[test]
fn k_above_pool() {
    let mut sel = Selector::<3, 2>::new(&Config::new(3, 2).unwrap(), &[0; 3]).unwrap();
    sel.push(0, &[0.1, 0.2, 0.3]).unwrap();
    let mut out = [Pick::default(); 2];
    assert_eq!(
        sel.finish(&mut out),
        Err(Error::BudgetExceedsPool { k: 2, pool: 1 })
    );
    // The budget also has to fit the selector's capacity.
    assert_eq!(
        Selector::<3, 2>::new(&Config::new(3, 3).unwrap(), &[0; 3]),
        Err(Error::CapacityExceeded {
            needed: 3,
            capacity: 2
        })
    );
}

#[test]
fn empty_pool() {
    let mut sel = Selector::<3, 2>::new(&Config::new(3, 2).unwrap(), &[0; 3]).unwrap();
    let mut out = [Pick::default(); 2];
    assert_eq!(sel.finish(&mut out), Err(Error::EmptyPool));
    let mut em = PriorEm::<3>::new(&Config::new(3, 2).unwrap()).unwrap();
    assert_eq!(em.end_pass(), Err(Error::EmptyPool));
    assert_eq!(em.fit(&[]), Err(Error::EmptyPool));
}

#[test]
fn too_many_classes() {
    assert_eq!(
        Config::new(MAX_CLASSES + 1, 1),
        Err(Error::InvalidClassCount {
            classes: MAX_CLASSES + 1
        })
    );
    assert_eq!(
        Selector::<4, 2>::new(&Config::new(5, 2).unwrap(), &[0; 5]),
        Err(Error::CapacityExceeded {
            needed: 5,
            capacity: 4
        })
    );
    // And too few: one class is no selection.
    assert_eq!(
        Config::new(1, 1),
        Err(Error::InvalidClassCount { classes: 1 })
    );
}

#[test]
fn labels_out_of_range() {
    assert_eq!(
        CalibrationRows::new(&[0.0; 6], None, &[2, 3], 3).unwrap_err(),
        Error::LabelOutOfRange {
            row: 1,
            label: 3,
            classes: 3
        }
    );
}

#[test]
fn truncated_bytes() {
    let cfg = Config::new(3, 2).unwrap();
    let mut buf = [0u8; 96];
    let bytes = cfg.to_bytes(&mut buf).unwrap().to_vec();
    assert_eq!(
        Config::from_bytes(&bytes[..bytes.len() - 1]),
        Err(Error::Corrupt)
    );
    let mut sel = Selector::<3, 2>::new(&cfg, &[0; 3]).unwrap();
    sel.push(0, &[0.5, 0.25, 0.125]).unwrap();
    let mut sbuf = vec![0u8; sel.max_serialized_len()];
    let sbytes = sel.to_bytes(&mut sbuf).unwrap().to_vec();
    assert_eq!(
        Selector::<3, 2>::from_bytes(&sbytes[..sbytes.len() - 2]),
        Err(Error::Corrupt)
    );
    // Bytes of another version are told apart from damage.
    let mut other = bytes.clone();
    other[0] = (CONFIG_VERSION + 1) as u8;
    assert_eq!(
        Config::from_bytes(&other),
        Err(Error::UnsupportedVersion {
            found: CONFIG_VERSION + 1,
            supported: CONFIG_VERSION
        })
    );
}
