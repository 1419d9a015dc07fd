//! The CLI column of docs/errors.md: every bad-input cell run through the
//! built `coselect select`, checking the exit status and the exact message,
//! and checking that docs/errors.md quotes that message in the same row, so
//! the doc cannot drift from what users see.

use std::path::Path;
use std::process::Command;

use coselect_cpu::npy::write;

const ROWS: usize = 6;
const C: usize = 3;

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn i64_bytes(v: &[i64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn fm() -> Vec<f32> {
    (0..ROWS * C).map(|i| ((i * 7) % 5) as f32 - 2.0).collect()
}

fn sm() -> Vec<f32> {
    vec![(1.0f32 / 3.0).ln(); ROWS * C]
}

/// The input files every case draws from, in one directory.
fn files(d: &Path) {
    let w = |name: &str, descr: &str, shape: &[usize], data: &[u8]| {
        write(d.join(name), descr, shape, data).unwrap()
    };
    w("fm.npy", "<f4", &[ROWS, C], &f32_bytes(&fm()));
    w("sm.npy", "<f4", &[ROWS, C], &f32_bytes(&sm()));
    let mut v = fm();
    v[2 * C + 1] = f32::NAN;
    w("nan.npy", "<f4", &[ROWS, C], &f32_bytes(&v));
    let mut v = sm();
    v[C] = f32::INFINITY;
    w("inf.npy", "<f4", &[ROWS, C], &f32_bytes(&v));
    w(
        "neg.npy",
        "<i8",
        &[ROWS],
        &i64_bytes(&[-1, -1, -1, -2, -1, -1]),
    );
    w(
        "sm5.npy",
        "<f4",
        &[ROWS - 1, C],
        &f32_bytes(&sm()[..(ROWS - 1) * C]),
    );
    w("fm1d.npy", "<f4", &[ROWS * C], &f32_bytes(&fm()));
    w("empty.npy", "<f4", &[0, C], &[]);
    w("wide.npy", "<f4", &[1, 4097], &f32_bytes(&[0.0; 4097]));
    w("one.npy", "<f4", &[ROWS, 1], &f32_bytes(&fm()[..ROWS]));
    w(
        "l3.npy",
        "<i8",
        &[ROWS],
        &i64_bytes(&[-1, 3, -1, -1, -1, -1]),
    );
    let f64s: Vec<u8> = fm()
        .iter()
        .flat_map(|&x| (x as f64).to_le_bytes())
        .collect();
    w("f64.npy", "<f8", &[ROWS, C], &f64s);
    w("labf.npy", "<f4", &[ROWS], &f32_bytes(&[0.0; ROWS]));
    let full = std::fs::read(d.join("fm.npy")).unwrap();
    std::fs::write(d.join("trunc.npy"), &full[..full.len() - 3]).unwrap();
    let mut fortran = full.clone();
    let at = fortran.windows(5).position(|w| w == b"False").unwrap();
    fortran.splice(at..at + 5, b"True ".iter().copied());
    std::fs::write(d.join("fortran.npy"), &fortran).unwrap();
}

/// A cell: the matrix row it belongs to, the arguments after `select`, the
/// exit code, and the message after "error: " (a prefix when it ends with
/// "..."; the doc quotes the prefix).
struct Cell {
    row: &'static str,
    args: &'static [&'static str],
    code: i32,
    message: &'static str,
}

const CELLS: &[Cell] = &[
    Cell {
        row: "NaN",
        args: &["--fm", "nan.npy", "--k", "2"],
        code: 1,
        message: "nan.npy: NaN at row 2, col 1",
    },
    Cell {
        row: "Inf",
        args: &["--fm", "fm.npy", "--sm", "inf.npy", "--k", "2"],
        code: 1,
        message: "inf.npy: inf at row 1, col 0",
    },
    Cell {
        row: "negative",
        args: &[
            "--fm",
            "fm.npy",
            "--sm",
            "sm.npy",
            "--labeled",
            "neg.npy",
            "--k",
            "2",
        ],
        code: 1,
        message: "neg.npy: label -2 at row 3 is out of range for 3 classes (use -1 for unlabeled)",
    },
    Cell {
        row: "negative",
        args: &["--fm", "fm.npy", "--k", "-2"],
        code: 2,
        message: "unexpected argument '-2' found...",
    },
    Cell {
        row: "unnormalised",
        args: &["--fm", "fm.npy", "--sm", "fm.npy", "--k", "2"],
        code: 1,
        message: "fm.npy: row 0 is not log-probabilities (exp sums to ...",
    },
    Cell {
        row: "wrong shape",
        args: &["--fm", "fm.npy", "--sm", "sm5.npy", "--k", "2"],
        code: 1,
        message: "sm5.npy has shape 5x3, fm.npy 6x3",
    },
    Cell {
        row: "wrong shape",
        args: &["--fm", "fm1d.npy", "--k", "2"],
        code: 1,
        message: "fm1d.npy: has shape (18,), expected 2-D (rows, classes)",
    },
    Cell {
        row: "wrong stride",
        args: &["--fm", "fortran.npy", "--k", "2"],
        code: 1,
        message: "fortran.npy: column-major (fortran_order) arrays are not supported; save a C-contiguous array (np.ascontiguousarray)",
    },
    Cell {
        row: "k = 0",
        args: &["--fm", "fm.npy", "--k", "0"],
        code: 1,
        message: "invalid --k or class count: budget k must be at least 1",
    },
    Cell {
        row: "k > pool",
        args: &["--fm", "fm.npy", "--k", "7"],
        code: 1,
        message: "selection: budget k = 7 exceeds the pool of 6 rows",
    },
    Cell {
        row: "empty pool",
        args: &["--fm", "empty.npy", "--k", "1"],
        code: 1,
        message: "selection: empty pool",
    },
    Cell {
        row: "too many classes",
        args: &["--fm", "wide.npy", "--k", "1"],
        code: 1,
        message: "the number of classes (columns) is 4097, this host supports at most 4096",
    },
    Cell {
        row: "too many classes",
        args: &["--fm", "one.npy", "--k", "1"],
        code: 1,
        message: "invalid --k or class count: invalid class count 1 (need at least 2, within capacity)",
    },
    Cell {
        row: "labels out of range",
        args: &["--fm", "fm.npy", "--labeled", "l3.npy", "--k", "2"],
        code: 1,
        message: "l3.npy: label 3 at row 1 is out of range for 3 classes (use -1 for unlabeled)",
    },
    Cell {
        row: "truncated file",
        args: &["--fm", "trunc.npy", "--k", "2"],
        code: 1,
        message: "trunc.npy: truncated: the header promises 72 bytes of data, the file has 69",
    },
    Cell {
        row: "wrong dtype",
        args: &["--fm", "f64.npy", "--k", "2"],
        code: 1,
        message: "f64.npy: unsupported dtype '<f8': float64; convert with .astype(np.float32)",
    },
    Cell {
        row: "wrong dtype",
        args: &["--fm", "fm.npy", "--labeled", "labf.npy", "--k", "2"],
        code: 1,
        message: "labf.npy: unsupported dtype 'f32': labels must be int64 (<i8) or int32 (<i4), -1 for unlabeled",
    },
];

fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_coselect"))
        .current_dir(dir)
        .arg("select")
        .args(args)
        .output()
        .unwrap();
    assert!(out.stdout.is_empty(), "{args:?} wrote a result");
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_cli_cell_gives_its_message() {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path());
    // The inputs are fine but for the one defect: the base files select.
    let ok = Command::new(env!("CARGO_BIN_EXE_coselect"))
        .current_dir(dir.path())
        .args(["select", "--fm", "fm.npy", "--sm", "sm.npy", "--k", "2"])
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    for cell in CELLS {
        let (code, err) = run(dir.path(), cell.args);
        assert_eq!(code, cell.code, "{}: {:?}: {err}", cell.row, cell.args);
        let first = err.lines().next().unwrap_or("");
        let want = format!("error: {}", cell.message);
        match want.strip_suffix("...") {
            Some(prefix) => assert!(first.starts_with(prefix), "{}: {first}", cell.row),
            None => assert_eq!(first, want, "{}", cell.row),
        }
    }
}

#[test]
fn docs_quote_every_cli_message_in_its_row() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/errors.md")).unwrap();
    for cell in CELLS {
        let head = format!("| {} |", cell.row);
        let line = doc
            .lines()
            .find(|l| l.starts_with(&head))
            .unwrap_or_else(|| panic!("docs/errors.md has no row {head}"));
        let quoted = cell.message.trim_end_matches("...");
        assert!(
            line.contains(quoted),
            "docs/errors.md row {:?} does not quote {quoted:?}",
            cell.row
        );
    }
}
