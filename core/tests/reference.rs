//! Plain f64 references of every formula, and a sort-based reference of the
//! whole selection, checked against the core.

mod common;
use common::{greedy_quotas, reference_select, Rng};

use coselect_core::{
    candidacy, fit_fusion, fit_temperature, judge_label, math, quota::water_fill, CalibrationRows,
    CoDecider, Config, Fusion, Pick, PriorEm, PseudoLabel, Reason, Scorer, Selector,
};

fn softmax64(z: &[f64]) -> Vec<f64> {
    let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

fn log_probs(rng: &mut Rng, c: usize, scale: f64) -> Vec<f32> {
    let z: Vec<f64> = (0..c).map(|_| rng.normal() * scale).collect();
    softmax64(&z).iter().map(|p| p.ln() as f32).collect()
}

fn nll64(rows: &[(Vec<f32>, Vec<f32>, usize)], a: f64, b: f64, with_sm: bool) -> f64 {
    rows.iter()
        .map(|(x, y, l)| {
            let z: Vec<f64> = x
                .iter()
                .zip(y)
                .map(|(&xi, &yi)| a * xi as f64 + if with_sm { b * yi as f64 } else { 0.0 })
                .collect();
            -softmax64(&z)[*l].ln()
        })
        .sum()
}

fn calibration_set(rng: &mut Rng, n: usize, c: usize) -> (Vec<f32>, Vec<f32>, Vec<u32>) {
    let (mut fm, mut sm, mut y) = (vec![], vec![], vec![]);
    for _ in 0..n {
        let label = rng.below(c);
        for j in 0..c {
            let signal = if j == label { 1.5 } else { 0.0 };
            fm.push((signal + rng.normal()) as f32);
        }
        let mut l = log_probs(rng, c, 1.0);
        // Make the small model lean toward the label, then renormalise.
        l[label] += 1.0;
        let lse = math::log_sum_exp(&l, 1.0);
        sm.extend(l.iter().map(|v| v - lse));
        y.push(label as u32);
    }
    (fm, sm, y)
}

#[test]
#[cfg_attr(miri, ignore = "millions of float ops: too slow for the interpreter")]
fn temperature_fit_matches_grid_search() {
    for seed in 0..5 {
        let mut rng = Rng::new(seed);
        let c = 4;
        let (mut fm, sm, y) = calibration_set(&mut rng, 60, c);
        // Overconfident FM logits: the fit should shrink them (a < 1) on some seeds.
        fm.iter_mut().for_each(|v| *v *= 1.0 + seed as f32);
        let cfg = Config::new(c as u32, 1).unwrap();
        let rows = CalibrationRows::new(&fm, Some(&sm), &y, c).unwrap();
        let a = fit_temperature(&rows, &cfg).unwrap() as f64;
        let tuples: Vec<_> = (0..y.len())
            .map(|j| {
                (
                    fm[j * c..(j + 1) * c].to_vec(),
                    sm[j * c..(j + 1) * c].to_vec(),
                    y[j] as usize,
                )
            })
            .collect();
        let obj = |a: f64| nll64(&tuples, a, 0.0, false) + (a - 1.0).powi(2);
        let mut best = (f64::INFINITY, 0.0);
        let mut g = 0.05;
        while g <= 6.0 {
            let v = obj(g);
            if v < best.0 {
                best = (v, g);
            }
            g += 1e-4;
        }
        assert!(
            (a - best.1).abs() < 2e-4,
            "seed {seed}: newton {a} grid {}",
            best.1
        );
        assert!(obj(a) <= best.0 + 1e-6);
    }
}

#[test]
#[cfg_attr(miri, ignore = "millions of float ops: too slow for the interpreter")]
fn fusion_fit_matches_grid_search() {
    for seed in 0..4 {
        let mut rng = Rng::new(100 + seed);
        let c = 3;
        let (fm, sm, y) = calibration_set(&mut rng, 80, c);
        let cfg = Config::new(c as u32, 1).unwrap();
        let rows = CalibrationRows::new(&fm, Some(&sm), &y, c).unwrap();
        let f = fit_fusion(&rows, &cfg).unwrap();
        let tuples: Vec<_> = (0..y.len())
            .map(|j| {
                (
                    fm[j * c..(j + 1) * c].to_vec(),
                    sm[j * c..(j + 1) * c].to_vec(),
                    y[j] as usize,
                )
            })
            .collect();
        let obj =
            |a: f64, b: f64| nll64(&tuples, a, b, true) + (a - 1.0).powi(2) + (b - 1.0).powi(2);
        // Coarse grid, then a fine grid around the coarse optimum.
        let mut best = (f64::INFINITY, 0.0, 0.0);
        for i in 0..=100 {
            for j in 0..=100 {
                let (a, b) = (i as f64 * 0.05, j as f64 * 0.05);
                let v = obj(a, b);
                if v < best.0 {
                    best = (v, a, b);
                }
            }
        }
        let (ca, cb) = (best.1, best.2);
        for i in -50..=50 {
            for j in -50..=50 {
                let (a, b) = (
                    (ca + i as f64 * 0.001).max(0.0),
                    (cb + j as f64 * 0.001).max(0.0),
                );
                let v = obj(a, b);
                if v < best.0 {
                    best = (v, a, b);
                }
            }
        }
        assert!(
            (f.a as f64 - best.1).abs() < 2e-3 && (f.b as f64 - best.2).abs() < 2e-3,
            "seed {seed}: newton ({}, {}) grid ({}, {})",
            f.a,
            f.b,
            best.1,
            best.2
        );
        assert!(obj(f.a as f64, f.b as f64) <= best.0 + 1e-6);
    }
}

#[test]
fn fusion_defaults_with_few_rows() {
    let cfg = Config::new(3, 1).unwrap();
    let fm = [1.0f32, 0.0, 0.0, 0.0, 1.0, 0.0];
    let h = (1.0f32 / 3.0).ln();
    let sm = [h; 6];
    let rows = CalibrationRows::new(&fm, Some(&sm), &[0, 1], 3).unwrap();
    assert_eq!(fit_fusion(&rows, &cfg).unwrap(), Fusion::default());
}

#[test]
fn temperature_respects_floor() {
    // Labels contradict the FM everywhere: the likelihood wants a -> 0.
    let cfg = Config::new(2, 1).unwrap();
    let fm: Vec<f32> = (0..40).flat_map(|_| [5.0f32, 0.0]).collect();
    let y = vec![1u32; 40];
    let rows = CalibrationRows::new(&fm, None, &y, 2).unwrap();
    let a = fit_temperature(&rows, &cfg).unwrap();
    assert_eq!(a, cfg.temperature_min);
}

#[test]
#[cfg_attr(miri, ignore = "millions of float ops: too slow for the interpreter")]
fn em_recovers_known_prior() {
    let c = 4;
    let truth = [0.6, 0.25, 0.1, 0.05];
    let mu = [0.0, 2.0, 4.0, 6.0];
    let mut rng = Rng::new(7);
    let mut probs = Vec::new();
    for _ in 0..40_000 {
        let u = rng.uniform();
        let mut cls = 0;
        let mut acc = truth[0];
        while u > acc && cls + 1 < c {
            cls += 1;
            acc += truth[cls];
        }
        let x = mu[cls] + rng.normal();
        // Posterior of a model calibrated under a uniform training prior.
        let z: Vec<f64> = mu.iter().map(|m| -(x - m) * (x - m) / 2.0).collect();
        probs.extend(softmax64(&z).iter().map(|&p| p as f32));
    }
    let cfg = Config::new(c as u32, 1).unwrap();
    let mut em = PriorEm::<4>::new(&cfg).unwrap();
    let passes = em.fit(&probs).unwrap();
    assert!(passes > 2);
    for (e, t) in em.prior().iter().zip(truth) {
        assert!(
            (e - t).abs() < 0.02,
            "estimated {:?} vs truth {truth:?}",
            em.prior()
        );
    }
    // The plain average of the posteriors is biased toward uniform; EM is not.
    let naive0: f64 = probs.chunks(c).map(|r| r[0] as f64).sum::<f64>() / 40_000.0;
    assert!((em.prior()[0] - 0.6).abs() < (naive0 - 0.6).abs());
}

#[test]
#[cfg_attr(miri, ignore = "millions of float ops: too slow for the interpreter")]
fn em_is_identical_for_any_chunking() {
    let mut rng = Rng::new(11);
    let c = 3;
    let probs: Vec<f32> = (0..999)
        .flat_map(|_| {
            let z: Vec<f64> = (0..c).map(|_| rng.normal() * 2.0).collect();
            softmax64(&z)
                .into_iter()
                .map(|p| p as f32)
                .collect::<Vec<_>>()
        })
        .collect();
    let cfg = Config::new(c as u32, 1).unwrap();
    let mut whole = PriorEm::<3>::new(&cfg).unwrap();
    whole.fit(&probs).unwrap();
    let mut sharded = PriorEm::<3>::new(&cfg).unwrap();
    while !sharded.is_done() {
        // Three shards of unequal size, merged in reverse order.
        let mut parts: Vec<PriorEm<3>> = Vec::new();
        for (lo, hi) in [(0usize, 100usize), (100, 650), (650, 999)] {
            let mut p = sharded.clone();
            for i in lo..hi {
                p.push(i as u64, &probs[i * c..(i + 1) * c]).unwrap();
            }
            parts.push(p);
        }
        let mut acc = parts.pop().unwrap();
        while let Some(p) = parts.pop() {
            acc.merge(&p).unwrap();
        }
        acc.end_pass().unwrap();
        sharded = acc;
    }
    assert_eq!(whole.prior(), sharded.prior());
}

#[test]
fn water_fill_hand_cases() {
    let cases: &[(&[u32], u32, &[u32])] = &[
        (&[0, 0, 0], 3, &[1, 1, 1]),
        (&[0, 0, 0], 4, &[2, 1, 1]),
        (&[5, 0, 2], 6, &[0, 4, 2]),
        (&[5, 0, 2], 7, &[0, 5, 2]), // remainder to the fewest original labels
        (&[10, 1, 1], 1, &[0, 1, 0]),
        (&[3, 3, 1, 0], 2, &[0, 0, 0, 2]), // tie at level 1 goes to the class with 0 labels
        (&[0, 2], 3, &[3, 0]),
        (&[100, 0], 5, &[0, 5]),
    ];
    for &(counts, k, want) in cases {
        let mut q = vec![0; counts.len()];
        water_fill(counts, k, &mut q).unwrap();
        assert_eq!(q, want, "counts {counts:?} k {k}");
        assert_eq!(greedy_quotas(counts, k), want);
    }
}

#[test]
fn scorer_matches_f64_reference() {
    let mut rng = Rng::new(3);
    let c = 5;
    let cfg = Config::new(c as u32, 4).unwrap();
    let counts = [0u32, 7, 2, 3, 10];
    let log_pi: Vec<f32> = softmax64(&[0.5, -1.0, 0.0, 1.0, -2.0])
        .iter()
        .map(|p| p.ln() as f32)
        .collect();
    let fusion = Fusion { a: 0.8, b: 1.3 };
    let scorer = Scorer::<8>::new(&cfg, &counts, fusion, &log_pi).unwrap();
    for _ in 0..200 {
        let fm: Vec<f32> = (0..c).map(|_| (rng.normal() * 5.0) as f32).collect();
        let sm = log_probs(&mut rng, c, 2.0);
        let mut out = vec![0.0; c];
        scorer.score_row(0, &fm, Some(&sm), &mut out).unwrap();
        let z: Vec<f64> = (0..c)
            .map(|j| 0.8 * fm[j] as f64 + 1.3 * sm[j] as f64 - log_pi[j] as f64)
            .collect();
        let pbal = softmax64(&z);
        for j in 0..c {
            let want = if counts[j] < 3 {
                assert_eq!(scorer.mode(j), Reason::Seed);
                pbal[j]
            } else {
                let other = (0..c)
                    .filter(|&o| o != j)
                    .map(|o| sm[o] as f64)
                    .fold(f64::NEG_INFINITY, f64::max);
                -(sm[j] as f64 - other).abs()
            };
            assert!(
                (out[j] as f64 - want).abs() < 1e-5,
                "class {j}: {} vs {want}",
                out[j]
            );
        }
    }
}

#[test]
fn selection_matches_reference_hand_case() {
    // Two classes, k = 3, class 1 rarer: quotas 1 and 2, class 1 picks first.
    let cfg = Config::new(2, 3).unwrap();
    let counts = [6u32, 5];
    let scores = vec![
        vec![-0.1f32, -0.1],
        vec![-0.2, -0.9],
        vec![-0.3, -0.2],
        vec![-0.05, -0.3],
    ];
    let mut sel = Selector::<2, 3>::new(&cfg, &counts).unwrap();
    for (i, s) in scores.iter().enumerate() {
        sel.push(i as u64, s).unwrap();
    }
    let mut out = [Pick::default(); 3];
    assert_eq!(sel.finish(&mut out).unwrap(), 3);
    let got: Vec<(u64, u32)> = out.iter().map(|p| (p.index, p.class)).collect();
    // Class 1 takes row 0; class 0 takes row 3; class 1 takes row 2.
    assert_eq!(got, vec![(0, 1), (3, 0), (2, 1)]);
    assert_eq!(got, reference_select(&scores, &[0, 1, 2, 3], &counts, 3));
}

/// f64 reference of co-decision over a whole pool, given the core's
/// candidacies (confidence ties at the thresholds would otherwise depend on
/// f32 vs f64 rounding).
fn reference_codecide(
    cands: &[Option<(u32, f32)>],
    counts: &[u32],
    cfg: &Config,
) -> Vec<(u64, u32)> {
    let c = counts.len();
    let mut sigma = vec![0u64; c];
    for (cl, conf) in cands.iter().flatten() {
        if *conf >= cfg.co_confidence {
            sigma[*cl as usize] += 1;
        }
    }
    let max = *sigma.iter().max().unwrap();
    let total: u64 = sigma.iter().sum();
    let denom = max.max(cands.len() as u64 - total).max(1) as f64;
    let th: Vec<f32> = sigma
        .iter()
        .map(|&s| {
            let b = s as f64 / denom;
            ((cfg.co_confidence as f64 * b / (2.0 - b)) as f32).max(cfg.co_floor)
        })
        .collect();
    let cap = counts
        .iter()
        .filter(|&&n| n > 0)
        .min()
        .map_or(0, |&m| (m * cfg.cap_factor) as usize);
    let mut out = Vec::new();
    for (cl, &t) in th.iter().enumerate() {
        let mut acc: Vec<(f32, u64)> = cands
            .iter()
            .enumerate()
            .filter_map(|(i, x)| {
                x.filter(|&(k, conf)| k as usize == cl && conf >= t)
                    .map(|(_, conf)| (conf, i as u64))
            })
            .collect();
        acc.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap().then(a.1.cmp(&b.1)));
        out.extend(acc.into_iter().take(cap).map(|(_, i)| (i, cl as u32)));
    }
    out
}

#[test]
#[cfg_attr(miri, ignore = "millions of float ops: too slow for the interpreter")]
fn codecision_matches_reference() {
    for seed in 0..20 {
        let mut rng = Rng::new(500 + seed);
        let c = 4;
        let mut cfg = Config::new(c as u32, 1).unwrap();
        cfg.cap_factor = 3;
        let counts = [2u32, 0, 5, 9];
        let n = 400;
        let mut fm = vec![];
        let mut sm = vec![];
        for _ in 0..n {
            let y = rng.below(c);
            fm.extend((0..c).map(|j| (if j == y { 3.0 } else { 0.0 } + rng.normal() * 1.5) as f32));
            let mut l = log_probs(&mut rng, c, 1.0);
            l[y] += 2.5;
            let lse = math::log_sum_exp(&l, 1.0);
            sm.extend(l.iter().map(|v| v - lse));
        }
        let t = 0.5 + seed as f32 * 0.1;
        let mut co = CoDecider::<4, 16>::new(&cfg, &counts, t).unwrap();
        let mut cands = vec![];
        let mut scratch = [0.0; 4];
        for i in 0..n {
            let r = i * c..(i + 1) * c;
            let cand =
                candidacy(i as u64, &fm[r.clone()], &sm[r.clone()], t, &mut scratch).unwrap();
            // And the candidacy itself against f64.
            let pf = softmax64(
                &fm[r.clone()]
                    .iter()
                    .map(|&v| t as f64 * v as f64)
                    .collect::<Vec<_>>(),
            );
            let ps: Vec<f64> = sm[r.clone()].iter().map(|&v| (v as f64).exp()).collect();
            let am = |v: &[f64]| (0..v.len()).fold(0, |b, j| if v[j] > v[b] { j } else { b });
            let (a1, a2) = (am(&pf), am(&ps));
            match cand {
                Some((cl, conf)) => {
                    assert_eq!((a1, a2), (cl as usize, cl as usize));
                    assert!((conf as f64 - pf[a1].min(ps[a1])).abs() < 1e-5);
                }
                None => assert_ne!(a1, a2),
            }
            assert_eq!(co.push(i as u64, &fm[r.clone()], &sm[r]).unwrap(), cand);
            cands.push(cand);
        }
        let mut out = vec![PseudoLabel::default(); 64];
        let k = co.finish(&mut out).unwrap();
        let got: Vec<(u64, u32)> = out[..k].iter().map(|p| (p.index, p.class)).collect();
        assert_eq!(
            got,
            reference_codecide(&cands, &counts, &cfg),
            "seed {seed}"
        );
    }
}

#[test]
fn trust_hand_cases() {
    let cfg = Config::new(3, 1).unwrap();
    let mut s = [0.0; 3];
    let lp = |p: [f32; 3]| p.map(|v| v.ln());
    // Agreement against the label with low fused probability: suspect.
    let v = judge_label(
        0,
        &[5.0, 0.0, 0.0],
        &lp([0.97, 0.02, 0.01]),
        2,
        Fusion::default(),
        &cfg,
        &mut s,
    )
    .unwrap();
    assert!(v.suspect && v.agreed_class == Some(0));
    // The views disagree with each other: never suspect, however unlikely.
    let v = judge_label(
        0,
        &[5.0, 0.0, 0.0],
        &lp([0.01, 0.98, 0.01]),
        2,
        Fusion::default(),
        &cfg,
        &mut s,
    )
    .unwrap();
    assert!(!v.suspect && v.agreed_class.is_none());
    // The views agree with the label: not suspect.
    let v = judge_label(
        0,
        &[0.0, 0.0, 5.0],
        &lp([0.01, 0.01, 0.98]),
        2,
        Fusion::default(),
        &cfg,
        &mut s,
    )
    .unwrap();
    assert!(!v.suspect && v.label_probability > 0.9);
    // Agreement against the label but the label keeps some mass: not suspect.
    let v = judge_label(
        0,
        &[0.5, 0.0, 0.3],
        &lp([0.5, 0.1, 0.4]),
        2,
        Fusion::default(),
        &cfg,
        &mut s,
    )
    .unwrap();
    assert!(!v.suspect && v.label_probability >= 0.05);
}

#[test]
fn round_zero_seeds_find_a_rare_class() {
    // 1 rare class among 3: the prior-adjusted seed score ranks its members
    // first even though the FM is only mildly sure of them.
    let c = 3;
    let cfg = Config::new(c as u32, 3).unwrap();
    let mut rng = Rng::new(9);
    let mut fm = Vec::new();
    let mut truth = Vec::new();
    for i in 0..600 {
        let y = if i % 60 == 0 { 2 } else { i % 2 };
        truth.push(y);
        fm.extend((0..c).map(|j| (if j == y { 2.0 } else { 0.0 } + rng.normal()) as f32));
    }
    let mut em = PriorEm::<3>::new(&cfg).unwrap();
    let mut p = [0.0; 3];
    let mut probs = Vec::new();
    for r in fm.chunks(c) {
        math::fused_softmax(r, None, 1.0, 0.0, &mut p);
        probs.extend_from_slice(&p);
    }
    em.fit(&probs).unwrap();
    assert!(em.prior()[2] < 0.1);
    let mut lp = [0.0; 3];
    em.log_prior(&mut lp).unwrap();
    let scorer = Scorer::<3>::new(&cfg, &[0, 0, 0], Fusion::default(), &lp).unwrap();
    let mut sel = Selector::<3, 3>::new(&cfg, &[0, 0, 0]).unwrap();
    for (i, r) in fm.chunks(c).enumerate() {
        sel.push_row(&scorer, i as u64, r, None).unwrap();
    }
    let mut out = [Pick::default(); 3];
    sel.finish(&mut out).unwrap();
    let rare_pick = out.iter().find(|p| p.class == 2).unwrap();
    assert_eq!(truth[rare_pick.index as usize], 2);
    assert!(out.iter().all(|p| p.reason == Reason::Seed));
}
