//! Measures the cost of the `pseudo` learner on a dataset folder with a stand-in pseudo-labeler
//! shaped like DESIGN.md's co-decision (FM and small model agree, confidence >= 0.8, at most
//! 20 x the smallest human count per class, weight 0.5). It is not the method (that lives in
//! coselect-core); it only gives the training sets a realistic size, to time the harness.
//! `cargo run --release -p coselect-sim --example pseudo_cost -- data/wordnet-nouns`

use std::sync::Arc;

use coselect_sim::*;

struct Agree;

impl PseudoLabeler for Agree {
    fn pseudo_labels(
        &mut self,
        ctx: &LabelerContext<'_>,
        lp: &Matrix,
        _suspects: &[usize],
    ) -> Result<Vec<PseudoLabel>> {
        let c = ctx.n_classes;
        let mut counts = vec![0usize; c];
        for &y in ctx.labels {
            counts[y] += 1;
        }
        let cap = 20 * counts.iter().copied().filter(|&n| n > 0).min().unwrap_or(0);
        let mut cand: Vec<Vec<(f32, usize)>> = vec![Vec::new(); c];
        for i in (0..lp.rows()).filter(|&i| !ctx.is_labeled[i]) {
            let k = lp.argmax_row(i);
            if ctx.fm_log_probs.argmax_row(i) == k {
                let conf = lp.row(i)[k].min(ctx.fm_log_probs.row(i)[k]).exp();
                if conf >= 0.8 {
                    cand[k].push((conf, i));
                }
            }
        }
        let mut out = Vec::new();
        for (k, mut v) in cand.into_iter().enumerate() {
            v.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            out.extend(v.into_iter().take(cap).map(|(_, i)| PseudoLabel {
                index: i,
                class: k,
                weight: 0.5,
            }));
        }
        Ok(out)
    }
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "data/wordnet-nouns".into());
    let ds = Dataset::load(std::path::Path::new(&dir))?;
    let mut cfg = ExperimentConfig::new(vec![Setting::new(Imbalance::Merge { k: 3 }, 0.1, 30, 25)]);
    cfg.labeler = NamedLabeler::new(
        "agree",
        Arc::new(|_: &MethodOptions| Box::new(Agree) as Box<dyn PseudoLabeler>),
    );
    let r = run_experiment(&ds, &cfg)?;
    print!("{}", report::table(&r.summary));
    println!("wall time {:.1} s", r.wall_seconds);
    Ok(())
}
