//! Random push / merge / serialize / finish sequences over sharded
//! `Selector`s, each finish checked against a sort-based reference of the
//! selection rule (the idea of core/tests/common's `reference_select`):
//! water-filled quotas, turns by fewest labels then class index, each turn
//! the best (score, then lower index) row not yet taken.
#![no_main]

use arbitrary::Arbitrary;
use coselect_core::{class_mode, Config, Error, Pick, Selector};
use libfuzzer_sys::fuzz_target;

const C: usize = 6;
const K: usize = 16;
const SHARDS: usize = 4;

#[derive(Debug, Arbitrary)]
enum Op {
    /// Scores from a grid of 17 levels, so ties are common.
    Push {
        shard: u8,
        levels: [i8; C],
    },
    /// Raw bits: mostly odd values, sometimes NaN or an infinity, which
    /// must be refused without touching the state.
    PushRaw {
        shard: u8,
        bits: [u32; C],
    },
    Merge {
        into: u8,
        from: u8,
    },
    RoundTrip {
        shard: u8,
    },
    Finish {
        shard: u8,
    },
}

#[derive(Debug, Arbitrary)]
struct Input {
    classes: u8,
    k: u8,
    seed_min: u8,
    counts: [u8; C],
    ops: Vec<Op>,
}

type Row = (u64, [f32; C]);

struct Shard {
    sel: Selector<C, K>,
    rows: Vec<Row>,
}

/// Water-filling by the definition: one unit at a time to the class with the
/// lowest level (labels plus quota), ties to fewer labels, then lower class.
fn greedy_quotas(counts: &[u32], k: u32) -> Vec<u32> {
    let mut q = vec![0u32; counts.len()];
    for _ in 0..k {
        let c = (0..counts.len())
            .min_by_key(|&c| (counts[c] + q[c], counts[c], c))
            .unwrap();
        q[c] += 1;
    }
    q
}

fn reference(rows: &[Row], counts: &[u32], k: u32) -> Vec<(u64, u32, u32)> {
    let c = counts.len();
    let quotas = greedy_quotas(counts, k);
    let lists: Vec<Vec<(f32, u64)>> = (0..c)
        .map(|cl| {
            let mut v: Vec<(f32, u64)> = rows.iter().map(|(i, s)| (s[cl] + 0.0, *i)).collect();
            v.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap().then(a.1.cmp(&b.1)));
            v
        })
        .collect();
    let mut order: Vec<usize> = (0..c).collect();
    order.sort_by_key(|&cl| (counts[cl], cl));
    let mut left = quotas;
    let mut taken: Vec<(u64, u32, u32)> = Vec::new();
    while taken.len() < k as usize {
        for &cl in &order {
            if taken.len() == k as usize || left[cl] == 0 {
                continue;
            }
            let &(s, i) = lists[cl]
                .iter()
                .find(|&&(_, i)| !taken.iter().any(|t| t.0 == i))
                .expect("reference ran out of rows");
            taken.push((i, cl as u32, s.to_bits()));
            left[cl] -= 1;
        }
    }
    taken
}

fn check_finish(sh: &mut Shard, counts: &[u32], k: u32, seed_min: u32) {
    let mut out = [Pick::default(); K];
    let n = sh.rows.len() as u64;
    match sh.sel.finish(&mut out) {
        Ok(got) => {
            assert_eq!(got, k as usize);
            let want = reference(&sh.rows, counts, k);
            let have: Vec<(u64, u32, u32)> = out[..got]
                .iter()
                .map(|p| (p.index, p.class, p.score.to_bits()))
                .collect();
            assert_eq!(have, want);
            for p in &out[..got] {
                assert_eq!(p.reason, class_mode(counts[p.class as usize], seed_min));
            }
        }
        Err(Error::EmptyPool) => assert_eq!(n, 0),
        Err(Error::BudgetExceedsPool { k: kk, pool }) => {
            assert_eq!((kk, pool), (k as u64, n));
            assert!(n < k as u64);
        }
        Err(e) => panic!("finish failed: {e}"),
    }
}

fuzz_target!(|input: Input| {
    let classes = 2 + input.classes as usize % (C - 1);
    let k = 1 + input.k as u32 % K as u32;
    let counts: Vec<u32> = input.counts[..classes]
        .iter()
        .map(|&n| n as u32 % 8)
        .collect();
    let mut cfg = Config::new(classes as u32, k).unwrap();
    cfg.seed_min = input.seed_min as u32 % 8;
    let new = || Shard {
        sel: Selector::<C, K>::new(&cfg, &counts).unwrap(),
        rows: Vec::new(),
    };
    let mut shards: Vec<Shard> = (0..SHARDS).map(|_| new()).collect();
    let mut next = 0u64;
    for op in input.ops.iter().take(400) {
        match *op {
            Op::Push { shard, ref levels } => {
                let sh = &mut shards[shard as usize % SHARDS];
                let mut s = [0.0f32; C];
                for (o, &l) in s.iter_mut().zip(levels) {
                    *o = (l % 9) as f32 * 0.125;
                }
                // A bijective scramble: unique indices, unrelated to order.
                let index = next.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                next += 1;
                sh.sel.push(index, &s[..classes]).unwrap();
                sh.rows.push((index, s));
            }
            Op::PushRaw { shard, ref bits } => {
                let sh = &mut shards[shard as usize % SHARDS];
                let s = bits.map(f32::from_bits);
                let index = next.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                next += 1;
                let before = sh.sel.clone();
                match s[..classes].iter().position(|v| !v.is_finite()) {
                    Some(col) => {
                        assert_eq!(
                            sh.sel.push(index, &s[..classes]),
                            Err(Error::NonFinite {
                                row: index,
                                col: col as u32
                            })
                        );
                        assert_eq!(sh.sel, before);
                    }
                    None => {
                        sh.sel.push(index, &s[..classes]).unwrap();
                        sh.rows.push((index, s));
                    }
                }
            }
            Op::Merge { into, from } => {
                let (a, b) = (into as usize % SHARDS, from as usize % SHARDS);
                if a == b {
                    continue;
                }
                let taken = std::mem::replace(&mut shards[b], new());
                shards[a].sel.merge(&taken.sel).unwrap();
                shards[a].rows.extend(taken.rows);
                assert_eq!(shards[a].sel.pushed(), shards[a].rows.len() as u64);
            }
            Op::RoundTrip { shard } => {
                let sh = &mut shards[shard as usize % SHARDS];
                let mut buf = vec![0u8; sh.sel.max_serialized_len()];
                let bytes = sh.sel.to_bytes(&mut buf).unwrap();
                let back = Selector::<C, K>::from_bytes(bytes).unwrap();
                assert_eq!(back, sh.sel);
                sh.sel = back;
            }
            Op::Finish { shard } => {
                check_finish(
                    &mut shards[shard as usize % SHARDS],
                    &counts,
                    k,
                    cfg.seed_min,
                );
            }
        }
    }
    // Everything merged, in the order the shards ended up in.
    let mut all = shards.pop().unwrap();
    while let Some(sh) = shards.pop() {
        all.sel.merge(&sh.sel).unwrap();
        all.rows.extend(sh.rows);
    }
    check_finish(&mut all, &counts, k, cfg.seed_min);
});
