//! The Cortex-M example's round (examples/cortex-m) on the host: the same
//! source (`round.rs`), the same pool bytes (`pool.rs`), run on x86.
//!
//! scripts/cortex-m-qemu.sh runs the firmware on QEMU and passes its output
//! in `COSELECT_QEMU_OUTPUT`; the picks it printed must equal the host's line
//! for line, score bits included. Without that variable only the host side
//! is checked.

use std::fmt::Write as _;

include!("../../examples/cortex-m/pool.rs");
include!("../../examples/cortex-m/src/shape.rs");
include!("../../examples/cortex-m/src/round.rs");

/// The lines the firmware prints for the prior and the picks.
fn host_lines() -> Vec<String> {
    let pool = pool_bytes(ROWS, CLASSES);
    assert_eq!(pool.len(), 2 * ROWS * CLASSES * 4);
    let cfg = config().unwrap();
    let (log_pi, passes) = prior(&pool, &cfg, Fusion::default()).unwrap();
    let mut out = [Pick::default(); K];
    let n = select(&pool, &cfg, Fusion::default(), &log_pi, &mut out).unwrap();
    let mut lines = vec![format!("prior: {passes} EM passes")];
    for (i, p) in out[..n].iter().enumerate() {
        let mut s = String::new();
        write!(s, "{}", pick_line(i, p)).unwrap();
        lines.push(s);
    }
    lines
}

// 22 EM passes over 16,000 values take minutes under miri, and what this
// test guards is float parity across targets, which miri cannot speak to.
#[test]
#[cfg_attr(miri, ignore = "EM over 16,000 values: too slow for the interpreter")]
fn host_round_is_a_full_mixed_selection() {
    let pool = pool_bytes(ROWS, CLASSES);
    let cfg = config().unwrap();
    let (log_pi, passes) = prior(&pool, &cfg, Fusion::default()).unwrap();
    assert!(passes > 1, "EM stopped after {passes} pass");
    let mut out = [Pick::default(); K];
    assert_eq!(
        select(&pool, &cfg, Fusion::default(), &log_pi, &mut out),
        Ok(K)
    );
    let mut rows: Vec<u64> = out.iter().map(|p| p.index).collect();
    rows.sort_unstable();
    rows.dedup();
    assert_eq!(rows.len(), K, "a row picked twice");
    // The pool exercises both scorers (COUNTS puts classes in each mode).
    let seeds = out.iter().filter(|p| p.reason == Reason::Seed).count();
    assert!(seeds > 0 && seeds < K, "{seeds} seed picks of {K}");
}

#[test]
#[cfg_attr(miri, ignore = "EM over 16,000 values: too slow for the interpreter")]
fn qemu_output_equals_the_host_round() {
    let Ok(path) = std::env::var("COSELECT_QEMU_OUTPUT") else {
        eprintln!("COSELECT_QEMU_OUTPUT not set: scripts/cortex-m-qemu.sh runs this check");
        return;
    };
    let text = std::fs::read_to_string(&path).unwrap();
    let qemu: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| l.starts_with("pick ") || l.starts_with("prior: "))
        .collect();
    let host = host_lines();
    assert_eq!(host.len(), K + 1);
    assert_eq!(qemu, host, "QEMU output {path}:\n{text}");
}

use coselect_core::Reason;
