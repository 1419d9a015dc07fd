//! The block functions against the row functions they mirror: the same
//! bits, lane by lane, on rows full of ties, signed zeros and wide ranges.

use coselect_core::block::{self, Lanes, LANES, NO_CLASS};
use coselect_core::math::{self, NORMALIZATION_TOLERANCE};
use coselect_core::{candidacy_unchecked, Config, Fusion, Scorer};

const C: usize = 7;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Values from a coarse grid (ties are common) or a wide range.
    fn value(&mut self) -> f32 {
        let r = self.next();
        match r % 4 {
            0 => [0.0, -0.0, 1.0, -1.0, 0.5][(r >> 8) as usize % 5],
            1 => ((r >> 8) % 9) as f32 * 0.25 - 1.0,
            _ => ((r >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 60.0,
        }
    }
}

/// `rows` (LANES rows of C) as a block, and the rows themselves.
fn block_of(rng: &mut Rng, log_probs: bool) -> ([Lanes; C], Vec<[f32; C]>) {
    let mut rows = vec![[0.0f32; C]; LANES];
    for r in rows.iter_mut() {
        for v in r.iter_mut() {
            *v = rng.value();
        }
        if log_probs && rng.next() % 4 != 0 {
            let lse = math::log_sum_exp(r, 1.0);
            r.iter_mut().for_each(|v| *v -= lse);
        }
    }
    let mut b = [[0.0f32; LANES]; C];
    for (j, r) in rows.iter().enumerate() {
        for c in 0..C {
            b[c][j] = r[c];
        }
    }
    (b, rows)
}

fn column(b: &[Lanes], j: usize) -> Vec<u32> {
    b.iter().map(|l| l[j].to_bits()).collect()
}

#[test]
fn every_block_function_gives_its_rows_bits() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let cfg = Config::new(C as u32, 4).unwrap();
    // A handful under miri: the interpreter is thousands of times slower.
    let rounds = if cfg!(miri) { 6 } else { 400 };
    for round in 0..rounds {
        let (fm, fm_rows) = block_of(&mut rng, false);
        let (sm, sm_rows) = block_of(&mut rng, true);

        let ok = block::finite(&fm);
        let sums = block::sum_exp(&sm);
        let mut scores = [[0.0f32; LANES]; C];
        block::boundary_scores(&sm, &mut scores);
        let a = 0.25 + (round % 5) as f32 * 0.5;
        let (class, conf) = block::candidacy(&fm, &sm, a);
        // Its two halves, as a host that skips the second may call them.
        let (class2, ps) = block::agreement(&fm, &sm, a);
        let pf = block::fm_confidence(&fm, a);
        let given = block::agreement_given(&fm, &block::top_two(&sm), a);
        let bits = |(c, p): ([u32; LANES], Lanes)| (c, p.map(f32::to_bits));
        assert_eq!(bits(given), bits((class2, ps)));

        // A mix of seed and boundary classes, with and without the small model.
        let counts: Vec<u32> = (0..C).map(|c| ((c + round) % 3) as u32 * 2).collect();
        let log_prior: Vec<f32> = (0..C).map(|_| rng.value().min(0.0) - 0.1).collect();
        let fusion = Fusion { a, b: 0.7 };
        let scorer = Scorer::<C>::new(&cfg, &counts, fusion, &log_prior).unwrap();
        let mut seed = [[0.0f32; LANES]; C];
        scorer.score_block_unchecked(&fm, Some(&sm), &mut seed);
        let fm_only = Scorer::<C>::new(&cfg, &[0; C], fusion, &log_prior).unwrap();
        let mut seed_fm = [[0.0f32; LANES]; C];
        fm_only.score_block_unchecked(&fm, None, &mut seed_fm);

        for j in 0..LANES {
            let (f, s) = (&fm_rows[j], &sm_rows[j]);
            assert_eq!(ok[j], math::check_finite(0, f, C).is_ok());
            let row_ok = math::check_log_probabilities(0, s, C).is_ok();
            assert_eq!(row_ok, (sums[j] - 1.0).abs() <= NORMALIZATION_TOLERANCE);

            let mut want = [0.0f32; C];
            math::boundary_scores(s, &mut want);
            assert_eq!(column(&scores, j), want.map(f32::to_bits), "{s:?}");

            let mut z = [0.0f32; C];
            match candidacy_unchecked(f, s, a, &mut z) {
                Some((c, v)) => assert_eq!((class[j], conf[j].to_bits()), (c, v.to_bits())),
                None => assert_eq!(class[j], NO_CLASS),
            }
            assert_eq!(class2[j], class[j]);
            if class[j] != NO_CLASS {
                assert_eq!(pf[j].min(ps[j]).to_bits(), conf[j].to_bits());
            }

            scorer.score_row_unchecked(f, Some(s), &mut want);
            assert_eq!(column(&seed, j), want.map(f32::to_bits));
            fm_only.score_row_unchecked(f, None, &mut want);
            assert_eq!(column(&seed_fm, j), want.map(f32::to_bits));
        }
    }
}

#[test]
fn bad_values_are_flagged_in_their_lane() {
    let mut x = [[0.1f32; LANES]; 3];
    x[1][2] = f32::NAN;
    x[0][9] = f32::NEG_INFINITY;
    x[2][15] = f32::INFINITY;
    let ok = block::finite(&x);
    for (j, ok) in ok.iter().enumerate() {
        assert_eq!(*ok, ![2, 9, 15].contains(&j), "lane {j}");
    }
}

/// `surely_normalized` accepts only rows the exact check accepts, and
/// accepts the rows a softmax writes: rows of 1 to 4096 classes shifted so
/// that their exact sums crowd both edges of the tolerance.
#[test]
fn surely_normalized_accepts_only_what_the_exact_check_accepts() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let tol = NORMALIZATION_TOLERANCE;
    let rounds = if cfg!(miri) { 1 } else { 40 };
    // Miri takes minutes over the thousands of classes.
    let sizes: &[usize] = if cfg!(miri) {
        &[1, 2, 3, 10]
    } else {
        &[1, 2, 3, 10, 100, 1000, 4096]
    };
    let (mut accepted, mut normalized) = (0usize, 0usize);
    for &classes in sizes {
        for round in 0..rounds {
            let mut b = vec![[0.0f32; LANES]; classes];
            let mut rows = vec![vec![0.0f32; classes]; LANES];
            for (j, r) in rows.iter_mut().enumerate() {
                let spread = [0.5f32, 4.0, 30.0][(round + j) % 3];
                for v in r.iter_mut() {
                    *v = ((rng.next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * spread;
                }
                if j % 5 == 0 {
                    r[0] = -200.0; // a term that underflows
                }
                let lse = math::log_sum_exp(r, 1.0);
                // Sums of 1 + d tol with d in [-1.3, 1.3], or exactly normalised.
                let d = ((rng.next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 2.6;
                let shift = match j % 4 {
                    0 => 0.0,
                    _ => (1.0 + d * tol).ln(),
                };
                r.iter_mut().for_each(|v| *v = *v - lse + shift);
                for c in 0..classes {
                    b[c][j] = r[c];
                }
            }
            let sure = block::surely_normalized(&b, tol);
            let sums = block::sum_exp(&b);
            for j in 0..LANES {
                let exact = (sums[j] - 1.0).abs() <= tol;
                assert_eq!(
                    exact,
                    math::check_log_probabilities(0, &rows[j], classes).is_ok()
                );
                assert!(!sure[j] || exact, "{classes} classes, sum {}", sums[j]);
                if (sums[j] - 1.0).abs() <= 1e-5 {
                    normalized += 1;
                    accepted += sure[j] as usize;
                }
            }
        }
    }
    // Every row that a softmax wrote (off by well under 1e-5) is settled.
    assert_eq!(accepted, normalized);
    assert!(normalized > 0);
}

/// Rows whose exact sums sit just outside the tolerance, by less than the
/// margin, are never accepted; a row with a term above 1 is never accepted;
/// a tolerance of 1 or more accepts nothing.
#[test]
fn surely_normalized_rejects_rows_just_outside_and_large_tolerances() {
    let tol = NORMALIZATION_TOLERANCE;
    // Miri runs a corner of the grid: the full one takes it minutes.
    let sizes: &[usize] = if cfg!(miri) {
        &[1, 10]
    } else {
        &[1, 2, 10, 100, 1000]
    };
    let steps: Vec<u32> = if cfg!(miri) {
        vec![1, 20]
    } else {
        (1..=20).collect()
    };
    for &classes in sizes {
        for &k in &steps {
            for sign in [-1.0f32, 1.0] {
                // Equal terms summing to 1 + sign (tol + k 1e-6).
                let target = 1.0 + sign * (tol + k as f32 * 1e-6);
                let v = (target / classes as f32).ln();
                let b = vec![[v; LANES]; classes];
                let exact = block::sum_exp(&b);
                let sure = block::surely_normalized(&b, tol);
                for j in 0..LANES {
                    assert!(
                        !sure[j] || (exact[j] - 1.0).abs() <= tol,
                        "{classes}, {k}, {sign}"
                    );
                }
            }
        }
    }
    // A term of 3 (exp 20.1): clamped to e by the coarse exp, still rejected.
    let mut b = vec![[-30.0f32; LANES]; 4];
    b[2] = [3.0; LANES];
    assert_eq!(block::surely_normalized(&b, tol), [false; LANES]);
    // At a tolerance the bound does not cover, nothing is sure.
    assert_eq!(block::surely_normalized(&b, 5.0), [false; LANES]);
    let ok = vec![[0.0f32; LANES]; 1];
    assert_eq!(block::surely_normalized(&ok, 1.0), [false; LANES]);
    assert_eq!(block::surely_normalized(&ok, 0.5), [true; LANES]);
}

/// `exp_coarse` within its stated bound over its whole range, and as
/// stated outside it.
#[test]
fn exp_coarse_is_within_its_bound() {
    let steps = if cfg!(miri) { 1000 } else { 4_000_000 };
    let mut worst = 0.0f64;
    for i in 0..=steps {
        let x = -86.0 + 87.0 * i as f32 / steps as f32;
        let want = (x as f64).exp();
        // The polynomial's 2.9e-6, and 2^-23 |x| from rounding x log2(e).
        let err = (math::exp_coarse(x) as f64 / want - 1.0).abs();
        worst = worst.max(err - 1.2e-7 * x.abs() as f64);
    }
    assert!(worst < 3e-6, "{worst}");
    assert_eq!(math::exp_coarse(f32::INFINITY), math::exp_coarse(1.0));
    assert!(math::exp_coarse(-1000.0) < 5e-38 && math::exp_coarse(-1000.0) > 0.0);
}

/// `boundary_scores_reaching` skips a block only when no class of any lane
/// scores at or above the floor, and otherwise writes exactly
/// `boundary_scores`: floors at, just above and just below the scores
/// themselves, on rows full of ties and signed zeros, with infinities and
/// NaN in some lanes.
#[test]
fn boundary_scores_reaching_skips_only_blocks_below_the_floor() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Under miri (minutes per thousand block calls) a few rounds, with the special values and
    // the ties, and a sample of the score-derived floors.
    let rounds = if cfg!(miri) { 3 } else { 300 };
    let every = if cfg!(miri) { 16 } else { 1 };
    let specials = [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 0.0, -0.0];
    for round in 0..rounds {
        let (mut sm, _) = block_of(&mut rng, true);
        // Every third block gets a few special values.
        if round % 3 == 0 {
            for _ in 0..3 {
                let r = rng.next();
                let (c, j) = ((r % C as u64) as usize, ((r >> 8) % LANES as u64) as usize);
                sm[c][j] = specials[(r >> 16) as usize % specials.len()];
            }
        }
        // A whole block equal (ties everywhere) now and then (not on the rounds of special
        // values, which it would overwrite).
        if round % 7 == 1 {
            sm = [[rng.value(); LANES]; C];
        }
        let mut want = [[0.0f32; LANES]; C];
        block::boundary_scores(&sm, &mut want);
        let flat: Vec<f32> = want.iter().flatten().copied().collect();
        let best = flat
            .iter()
            .copied()
            .filter(|s| !s.is_nan())
            .fold(f32::NEG_INFINITY, f32::max);
        let mut floors = vec![f32::NEG_INFINITY, f32::INFINITY, f32::NAN, 0.0, -0.0];
        for &s in flat.iter().step_by(every) {
            if s.is_finite() {
                floors.extend([s, up(s), down(s)]);
            }
        }
        floors.extend([best, up(best), down(best)]);
        for floor in floors {
            let reached = flat.iter().any(|&s| s >= floor);
            let mut out = [[7.0f32; LANES]; C];
            let got = block::boundary_scores_reaching(&sm, &block::top_two(&sm), floor, &mut out);
            assert_eq!(got, reached, "floor {floor}, best {best}, {sm:?}");
            let expect = match got {
                true => want,
                false => [[7.0f32; LANES]; C],
            };
            let bits = |b: &[Lanes; C]| b.map(|l| l.map(f32::to_bits));
            assert_eq!(bits(&out), bits(&expect));
        }
    }
}

/// The next f32 above a finite `x` (`f32::next_up` needs Rust 1.86).
fn up(x: f32) -> f32 {
    match x {
        0.0 => f32::from_bits(1),
        x if x > 0.0 => f32::from_bits(x.to_bits() + 1),
        x => f32::from_bits(x.to_bits() - 1),
    }
}

/// The next f32 below a finite `x`.
fn down(x: f32) -> f32 {
    -up(-x)
}
