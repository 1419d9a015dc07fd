// One selection round over the pool bytes, with coselect-core alone: the EM
// prior, the scorer, the selector. `include!`d by the firmware and by the
// host test, so the two run the same source and any difference in the picks
// comes from the target (its float arithmetic, its libm), not the code.

use coselect_core::math::fused_softmax;
use coselect_core::{Config, Error, Fusion, Pick, PriorEm, Scorer, Selector};

/// Row `i` of matrix `m` (0: FM logits, 1: small-model log-probabilities).
fn pool_row(pool: &[u8], m: usize, i: usize, out: &mut [f32; CLASSES]) {
    let at = (m * ROWS + i) * CLASSES * 4;
    for (o, b) in out.iter_mut().zip(pool[at..at + CLASSES * 4].chunks_exact(4)) {
        *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
}

/// The EM passes of the pool prior; returns `log pi` and the pass count.
/// Never inlined, so the firmware can measure its stack as one call.
#[inline(never)]
fn prior(pool: &[u8], cfg: &Config, fusion: Fusion) -> Result<([f32; CLASSES], u32), Error> {
    let (mut fm, mut sm, mut p) = ([0.0f32; CLASSES], [0.0f32; CLASSES], [0.0f32; CLASSES]);
    let mut em = PriorEm::<CLASSES>::new(cfg)?;
    while !em.is_done() {
        for i in 0..ROWS {
            pool_row(pool, 0, i, &mut fm);
            pool_row(pool, 1, i, &mut sm);
            fused_softmax(&fm, Some(&sm), fusion.a, fusion.b, &mut p);
            em.push(i as u64, &p)?;
        }
        em.end_pass()?;
    }
    let mut log_pi = [0.0f32; CLASSES];
    em.log_prior(&mut log_pi)?;
    Ok((log_pi, em.iterations()))
}

/// Scores every row and selects `K` of them into `out`. Never inlined, as
/// `prior`.
#[inline(never)]
fn select(
    pool: &[u8],
    cfg: &Config,
    fusion: Fusion,
    log_pi: &[f32; CLASSES],
    out: &mut [Pick; K],
) -> Result<usize, Error> {
    let (mut fm, mut sm) = ([0.0f32; CLASSES], [0.0f32; CLASSES]);
    let scorer = Scorer::<CLASSES>::new(cfg, &COUNTS, fusion, log_pi)?;
    let mut sel = Selector::<CLASSES, K>::new(cfg, &COUNTS)?;
    for i in 0..ROWS {
        pool_row(pool, 0, i, &mut fm);
        pool_row(pool, 1, i, &mut sm);
        sel.push_row(&scorer, i as u64, &fm, Some(&sm))?;
    }
    sel.finish(out)
}

/// The round's configuration: the defaults for `CLASSES` and `K`.
fn config() -> Result<Config, Error> {
    Config::new(CLASSES as u32, K as u32)
}

/// One line of the selection as both sides print it; the score as raw bits
/// so that equal lines mean equal floats.
#[allow(dead_code)]
fn pick_line(n: usize, p: &Pick) -> PickLine {
    PickLine(n, *p)
}

struct PickLine(usize, Pick);

impl core::fmt::Display for PickLine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let (n, p) = (self.0, &self.1);
        write!(
            f,
            "pick {n:2} row {:4} class {} {:?} score {:08x}",
            p.index,
            p.class,
            p.reason,
            p.score.to_bits()
        )
    }
}
