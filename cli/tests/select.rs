//! `coselect select` end to end: outputs, parity with the library, and the
//! error messages a user sees for bad files.

use std::path::{Path, PathBuf};
use std::process::Command;

use coselect_core::Config;
use coselect_cpu::npy::write;
use coselect_cpu::{run_round, Labels, Matrix, Parallelism, Pool};

const ROWS: usize = 400;
const CLASSES: usize = 4;

fn bytes_f32(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 * 8.0 - 4.0
        })
        .collect()
}

struct Files {
    dir: tempfile::TempDir,
    fm: Vec<f32>,
    sm: Vec<f32>,
    labels: Vec<i64>,
}

impl Files {
    fn new() -> Files {
        let dir = tempfile::tempdir().unwrap();
        let fm = noise(ROWS * CLASSES, 7);
        let mut sm: Vec<f32> = fm
            .iter()
            .zip(noise(ROWS * CLASSES, 11))
            .map(|(a, b)| a + 0.5 * b)
            .collect();
        for row in sm.chunks_mut(CLASSES) {
            let lse = coselect_core::math::log_sum_exp(row, 1.0);
            row.iter_mut().for_each(|v| *v -= lse);
        }
        // The first 40 rows are labeled with the FM's class.
        let labels: Vec<i64> = (0..ROWS)
            .map(|i| match i {
                0..40 => coselect_core::math::argmax(&fm[i * CLASSES..(i + 1) * CLASSES]) as i64,
                _ => -1,
            })
            .collect();
        let f = Files {
            dir,
            fm,
            sm,
            labels,
        };
        write(f.path("fm.npy"), "<f4", &[ROWS, CLASSES], &bytes_f32(&f.fm)).unwrap();
        write(f.path("sm.npy"), "<f4", &[ROWS, CLASSES], &bytes_f32(&f.sm)).unwrap();
        let lb: Vec<u8> = f.labels.iter().flat_map(|x| x.to_le_bytes()).collect();
        write(f.path("labels.npy"), "<i8", &[ROWS], &lb).unwrap();
        f
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn coselect(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_coselect"))
        .current_dir(dir)
        .arg("select")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A round on the three files with k = 12.
const ROUND: [&str; 8] = [
    "--fm",
    "fm.npy",
    "--sm",
    "sm.npy",
    "--labeled",
    "labels.npy",
    "--k",
    "12",
];

fn fails_with(dir: &Path, args: &[&str], message: &str) {
    let (ok, _, err) = coselect(dir, args);
    assert!(!ok, "{args:?} succeeded");
    assert_eq!(err.trim(), format!("error: {message}"), "{args:?}");
}

#[test]
fn json_output_equals_the_library_round() {
    let f = Files::new();
    let d = f.dir.path();
    let (ok, out, err) = coselect(d, &[&ROUND[..], &["--threads", "2"]].concat());
    assert!(ok, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let pool = Pool::new(
        Matrix::f32("fm", &f.fm, ROWS, CLASSES).unwrap(),
        Some(Matrix::f32("sm", &f.sm, ROWS, CLASSES).unwrap()),
        Some(Labels::new("labels", f.labels.iter().copied(), CLASSES as u32).unwrap()),
    )
    .unwrap();
    let cfg = Config::new(CLASSES as u32, 12).unwrap();
    let r = run_round(&pool, &cfg, Parallelism::default()).unwrap();
    let q: Vec<u64> = doc["queries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["index"].as_u64().unwrap())
        .collect();
    assert_eq!(q, r.queries.iter().map(|p| p.index).collect::<Vec<_>>());
    let p: Vec<(u64, u64)> = doc["pseudo_labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| (q["index"].as_u64().unwrap(), q["class"].as_u64().unwrap()))
        .collect();
    assert!(!p.is_empty());
    let want: Vec<(u64, u64)> = r
        .pseudo_labels
        .iter()
        .map(|p| (p.index, p.class as u64))
        .collect();
    assert_eq!(p, want);
    assert_eq!(doc["unlabeled"], 360);
    assert!(err.contains("selected 12 of 360 unlabeled rows"), "{err}");
}

#[test]
fn csv_by_extension_and_f16_input() {
    let f = Files::new();
    let d = f.dir.path();
    let (ok, _, err) = coselect(d, &["--fm", "fm.npy", "--k", "8", "--out", "a.csv"]);
    assert!(ok, "{err}");
    let csv = std::fs::read_to_string(f.path("a.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "kind,index,class,score,why");
    assert_eq!(lines.len(), 9);
    assert!(lines[1..]
        .iter()
        .all(|l| l.starts_with("query,") && l.ends_with(",seed")));

    // The same values as f16 and as f32 select the same rows.
    let h: Vec<half::f16> = f.fm.iter().map(|&x| half::f16::from_f32(x)).collect();
    let hb: Vec<u8> = h.iter().flat_map(|x| x.to_le_bytes()).collect();
    write(f.path("fm16.npy"), "<f2", &[ROWS, CLASSES], &hb).unwrap();
    let w: Vec<f32> = h.iter().map(|x| x.to_f32()).collect();
    write(f.path("fm16w.npy"), "<f4", &[ROWS, CLASSES], &bytes_f32(&w)).unwrap();
    let (_, a, _) = coselect(d, &["--fm", "fm16.npy", "--k", "8", "--format", "csv"]);
    let (_, b, _) = coselect(d, &["--fm", "fm16w.npy", "--k", "8", "--format", "csv"]);
    assert!(a.starts_with("kind,"));
    assert_eq!(a, b);
}

/// `--out` is written in place: a longer file from before leaves no tail, a
/// shorter one grows, a file that cannot be cut (`/dev/null`) is written, and
/// the result equals standard output byte for byte.
#[test]
fn the_output_file_is_overwritten_exactly() {
    let f = Files::new();
    let d = f.dir.path();
    let (ok, want, err) = coselect(d, &ROUND);
    assert!(ok, "{err}");
    for before in [vec![b'x'; want.len() * 3], b"{}".to_vec(), Vec::new()] {
        std::fs::write(f.path("o.json"), &before).unwrap();
        let (ok, _, err) = coselect(d, &[&ROUND[..], &["--out", "o.json"]].concat());
        assert!(ok, "{err}");
        assert_eq!(std::fs::read_to_string(f.path("o.json")).unwrap(), want);
    }
    let (ok, _, err) = coselect(
        d,
        &[&ROUND[..], &["--out", "/dev/null", "--format", "json"]].concat(),
    );
    assert!(ok, "{err}");
}

#[test]
fn value_and_shape_errors_name_file_row_and_column() {
    let f = Files::new();
    let d = f.dir.path();
    let mut bad = f.fm.clone();
    bad[17 * CLASSES + 3] = f32::NAN;
    write(f.path("nan.npy"), "<f4", &[ROWS, CLASSES], &bytes_f32(&bad)).unwrap();
    fails_with(
        d,
        &["--fm", "nan.npy", "--k", "3"],
        "nan.npy: NaN at row 17, col 3",
    );

    let mut bad = f.sm.clone();
    bad[5 * CLASSES] = f32::INFINITY;
    write(f.path("inf.npy"), "<f4", &[ROWS, CLASSES], &bytes_f32(&bad)).unwrap();
    fails_with(
        d,
        &["--fm", "fm.npy", "--sm", "inf.npy", "--k", "3"],
        "inf.npy: inf at row 5, col 0",
    );

    let short = &f.sm[..(ROWS - 1) * CLASSES];
    write(
        f.path("short.npy"),
        "<f4",
        &[ROWS - 1, CLASSES],
        &bytes_f32(short),
    )
    .unwrap();
    fails_with(
        d,
        &["--fm", "fm.npy", "--sm", "short.npy", "--k", "3"],
        "short.npy has shape 399x4, fm.npy 400x4",
    );

    // Logits where log-probabilities belong.
    let (ok, _, err) = coselect(d, &["--fm", "fm.npy", "--sm", "fm.npy", "--k", "3"]);
    assert!(!ok);
    assert!(
        err.starts_with("error: fm.npy: row 0 is not log-probabilities (exp sums to "),
        "{err}"
    );

    let mut labels = f.labels.clone();
    labels[9] = 7;
    let lb: Vec<u8> = labels.iter().flat_map(|x| x.to_le_bytes()).collect();
    write(f.path("l7.npy"), "<i8", &[ROWS], &lb).unwrap();
    fails_with(
        d,
        &[
            "--fm",
            "fm.npy",
            "--sm",
            "sm.npy",
            "--labeled",
            "l7.npy",
            "--k",
            "3",
        ],
        "l7.npy: label 7 at row 9 is out of range for 4 classes (use -1 for unlabeled)",
    );
    write(f.path("l3.npy"), "<i8", &[3], &lb[..24]).unwrap();
    fails_with(
        d,
        &["--fm", "fm.npy", "--labeled", "l3.npy", "--k", "3"],
        "l3.npy has 3 labels, fm.npy has 400 rows",
    );
}

#[test]
fn the_co_decision_floor_is_an_option() {
    let f = Files::new();
    let d = f.dir.path();
    let pseudo = |extra: &[&str]| -> Vec<(u64, f64)> {
        let (ok, out, err) = coselect(d, &[&ROUND[..], extra].concat());
        assert!(ok, "{err}");
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        doc["pseudo_labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["index"].as_u64().unwrap(),
                    p["confidence"].as_f64().unwrap(),
                )
            })
            .collect()
    };
    // The pseudo-labels at or above a floor, by row: what a run with that floor must give
    // (the cap does not bind on this pool, and the floor leaves the FlexMatch status alone).
    let above = |v: &[(u64, f64)], floor: f64| -> Vec<(u64, f64)> {
        let mut kept: Vec<_> = v.iter().filter(|&&(_, c)| c >= floor).copied().collect();
        kept.sort_by_key(|p| p.0);
        kept
    };
    let by_row = |mut v: Vec<(u64, f64)>| {
        v.sort_by_key(|p| p.0);
        v
    };
    let default = pseudo(&[]);
    assert_eq!(default, pseudo(&["--co-floor", "0.5"]));
    let low = pseudo(&["--co-floor", "0.3"]);
    let high = pseudo(&["--co-floor", "0.7"]);
    assert!(high.len() < default.len() && default.len() < low.len());
    assert_eq!(by_row(default.clone()), above(&low, 0.5));
    assert_eq!(by_row(high), above(&default, 0.7));
    let (ok, _, err) = coselect(d, &[&ROUND[..], &["--co-floor", "0.9"]].concat());
    assert!(!ok && err.contains("co_floor"), "{err}");
}

/// `--decision-bias` adds the small model's decision bias and changes nothing else: the same
/// queries and pseudo-labels, a bias per class equal to `-tau ln` of the model's mean posterior
/// over every row (labeled rows too), the same in CSV; it needs --sm and a valid strength.
#[test]
fn the_decision_bias_is_an_option() {
    let f = Files::new();
    let d = f.dir.path();
    let json = |extra: &[&str]| -> serde_json::Value {
        let (ok, out, err) = coselect(d, &[&ROUND[..], extra].concat());
        assert!(ok, "{err}");
        serde_json::from_str(&out).unwrap()
    };
    let plain = json(&[]);
    assert!(plain.get("decision_bias").is_none());
    let mut with = json(&["--decision-bias", "0.5"]);
    let bias: Vec<f64> = with["decision_bias"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_f64().unwrap())
        .collect();
    assert_eq!(bias.len(), CLASSES);
    let mut mean = vec![0.0f64; CLASSES];
    for row in f.sm.chunks(CLASSES) {
        for (m, &l) in mean.iter_mut().zip(row) {
            *m += (l as f64).exp() / ROWS as f64;
        }
    }
    for (b, m) in bias.iter().zip(&mean) {
        assert!((b + 0.5 * m.ln()).abs() < 1e-5, "{bias:?} against {mean:?}");
    }
    with.as_object_mut().unwrap().remove("decision_bias");
    assert_eq!(with, plain);
    let (ok, csv, err) = coselect(
        d,
        &[&ROUND[..], &["--decision-bias", "0.5", "--format", "csv"]].concat(),
    );
    assert!(ok, "{err}");
    let rows: Vec<&str> = csv.lines().filter(|l| l.starts_with("bias,")).collect();
    assert_eq!(rows.len(), CLASSES);
    for (c, (row, b)) in rows.iter().zip(&bias).enumerate() {
        let cells: Vec<&str> = row.split(',').collect();
        assert_eq!(cells[..3], ["bias", "", &c.to_string()]);
        assert_eq!(cells[3].parse::<f32>().unwrap(), *b as f32);
    }
    fails_with(
        d,
        &["--fm", "fm.npy", "--k", "3", "--decision-bias", "0.5"],
        "--decision-bias needs the small model's log-probabilities (--sm)",
    );
    for (arg, shown) in [("--decision-bias=-1", "-1"), ("--decision-bias=inf", "inf")] {
        fails_with(
            d,
            &[&ROUND[..], &[arg]].concat(),
            &format!("--decision-bias must be a finite number of at least 0, got {shown}"),
        );
    }
}

#[test]
fn file_and_option_errors() {
    let f = Files::new();
    let d = f.dir.path();
    let full = std::fs::read(f.path("fm.npy")).unwrap();
    std::fs::write(f.path("trunc.npy"), &full[..full.len() - 10]).unwrap();
    fails_with(
        d,
        &["--fm", "trunc.npy", "--k", "3"],
        "trunc.npy: truncated: the header promises 6400 bytes of data, the file has 6390",
    );

    let f64s: Vec<u8> =
        f.fm.iter()
            .flat_map(|x| (*x as f64).to_le_bytes())
            .collect();
    write(f.path("f64.npy"), "<f8", &[ROWS, CLASSES], &f64s).unwrap();
    fails_with(
        d,
        &["--fm", "f64.npy", "--k", "3"],
        "f64.npy: unsupported dtype '<f8': float64; convert with .astype(np.float32)",
    );

    let mut header = full.clone();
    let at = header.windows(5).position(|w| w == b"False").unwrap();
    header.splice(at..at + 5, b"True ".iter().copied());
    std::fs::write(f.path("fortran.npy"), &header).unwrap();
    fails_with(
        d,
        &["--fm", "fortran.npy", "--k", "3"],
        "fortran.npy: column-major (fortran_order) arrays are not supported; save a C-contiguous array (np.ascontiguousarray)",
    );

    std::fs::write(f.path("text.npy"), b"not an array").unwrap();
    fails_with(
        d,
        &["--fm", "text.npy", "--k", "3"],
        "text.npy: not a .npy file (bad magic bytes)",
    );

    let (ok, _, err) = coselect(
        d,
        &["--fm", "fm.npy", "--labeled", "labels.npy", "--k", "3"],
    );
    assert!(
        !ok && err.contains("give the small model's log-probabilities (--sm)"),
        "{err}"
    );
    fails_with(
        d,
        &["--fm", "fm.npy", "--k", "401"],
        "selection: budget k = 401 exceeds the pool of 400 rows",
    );
    fails_with(
        d,
        &["--fm", "fm.npy", "--k", "3", "--out", "picks.txt"],
        "cannot tell the format of picks.txt from its extension: use .json or .csv, or --format",
    );
    fails_with(
        d,
        &["--fm", "fm.npy", "--k", "0"],
        "invalid --k or class count: budget k must be at least 1",
    );
}
