//! `coselect simulate --baselines-from`: ours alone against a stored run's baselines, through the
//! command line; a stored run of another experiment is a clear error, not a table.

use std::path::Path;
use std::process::Command;

fn simulate(data: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_coselect"))
        .arg("simulate")
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out)
        .args([
            "--merge",
            "3",
            "--batch",
            "10",
            "--rounds",
            "3",
            "--no-plots",
            "--quiet",
        ])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn ours_is_compared_with_stored_baselines_and_other_experiments_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    coselect_sim::synthetic::write_blobs(&data, 300, 8, 4, 3).unwrap();
    let base = dir.path().join("base");
    let o = simulate(
        &data,
        &base,
        &["--seeds", "2", "--strategies", "random,margin"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let ours = dir.path().join("ours");
    let stored = base.join("results.json");
    let stored = stored.to_str().unwrap();
    let o = simulate(
        &data,
        &ours,
        &[
            "--seeds",
            "2",
            "--strategies",
            "ours",
            "--baselines-from",
            stored,
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ours.join("summary.json")).unwrap()).unwrap();
    let comparisons = summary["comparisons"].as_array().unwrap();
    assert_eq!(comparisons.len(), 2, "plain and +PL");
    for c in comparisons {
        let best = c["best_baseline"].as_str().unwrap();
        assert!(best == "random" || best == "margin", "{best}");
        let rows: Vec<&str> = c["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["strategy"].as_str().unwrap())
            .collect();
        assert_eq!(rows, ["random", "margin", "ours"]);
    }
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("random") && stdout.contains("ours"),
        "{stdout}"
    );

    // Refusals: a non-zero exit and the reason on standard error.
    let refused = |extra: &[&str]| {
        let mut args = vec!["--strategies", "ours", "--baselines-from"];
        args.extend_from_slice(extra);
        let o = simulate(&data, &dir.path().join("refused"), &args);
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let err = refused(&[stored, "--seeds", "3"]);
    assert!(
        err.contains("another experiment") && err.contains("seeds"),
        "{err}"
    );
    let missing = dir.path().join("nothing.json");
    assert!(refused(&[missing.to_str().unwrap()]).contains("nothing.json"));
}
