//! Arbitrary bytes as a serialized `Config` and `Selector` state: decoding
//! must refuse or accept without panicking; what it accepts must be valid,
//! round-trip, and finish without an invariant error.
#![no_main]

use coselect_core::{Config, Error, Pick, Selector};
use libfuzzer_sys::fuzz_target;

fn selector<const C: usize, const K: usize>(data: &[u8]) {
    let Ok(mut sel) = Selector::<C, K>::from_bytes(data) else {
        return;
    };
    // Postcard accepts overlong varints, so the input need not be canonical;
    // the state it decodes to must round-trip all the same.
    let mut buf = vec![0u8; sel.max_serialized_len()];
    let bytes = sel
        .to_bytes(&mut buf)
        .expect("max_serialized_len too small");
    assert_eq!(Selector::<C, K>::from_bytes(bytes).as_ref(), Ok(&sel));
    let mut out = vec![Pick::default(); K];
    match sel.finish(&mut out) {
        Ok(n) => {
            // Every pick is a distinct row.
            let mut idx: Vec<u64> = out[..n].iter().map(|p| p.index).collect();
            idx.sort_unstable();
            idx.dedup();
            assert_eq!(idx.len(), n);
        }
        Err(Error::EmptyPool) | Err(Error::BudgetExceedsPool { .. }) => {}
        Err(e) => panic!("a decoded state failed to finish: {e}"),
    }
    // A decoded state merges with itself (same round) without error.
    let copy = sel.clone();
    sel.merge(&copy).expect("self-merge refused");
}

fuzz_target!(|data: &[u8]| {
    if let Ok(cfg) = Config::from_bytes(data) {
        cfg.validate()
            .expect("from_bytes accepted an invalid config");
        let mut buf = [0u8; 96];
        let bytes = cfg.to_bytes(&mut buf).expect("96 bytes suffice");
        assert_eq!(Config::from_bytes(bytes), Ok(cfg));
    }
    selector::<4, 8>(data);
    selector::<16, 3>(data);
});
