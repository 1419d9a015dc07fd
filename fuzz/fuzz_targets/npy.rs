//! Arbitrary bytes as a `.npy` file: the header parser and the memory-mapped
//! reader must refuse or accept them without panicking, and whatever they
//! accept must be readable to its last element.
#![no_main]

use std::io::Write;
use std::sync::OnceLock;

use coselect_cpu::npy::{Header, NpyFile};
use libfuzzer_sys::fuzz_target;

/// One file per fuzzing process, rewritten for every input: `NpyFile` only
/// opens paths (it maps them), and a fresh temp file per input would spend
/// the run in the file system. /dev/shm keeps it in memory where it exists.
fn path() -> &'static std::path::Path {
    static PATH: OnceLock<std::path::PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("coselect-fuzz-npy-{}.npy", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let parsed = Header::parse(data);
    let p = path();
    {
        let mut f = std::fs::File::create(p).unwrap();
        f.write_all(data).unwrap();
    }
    let Ok(file) = NpyFile::open(p) else {
        return;
    };
    // A file that opens has a header that parses on its own.
    let header = parsed.expect("open accepted a header that parse refuses");
    assert_eq!(&header, file.header());
    let elements = header
        .elements()
        .expect("open accepted an overflowing shape");
    assert_eq!(file.data().len(), elements * header.dtype.size());
    if let Ok(m) = file.matrix() {
        let mut buf = vec![0.0f32; m.cols()];
        let mut sum = 0.0f32;
        for i in 0..m.rows() {
            sum += m.row(i, &mut buf).iter().sum::<f32>();
        }
        std::hint::black_box(sum);
    }
    let labels = file.labels().map(|l| l.count());
    if let Ok(n) = labels {
        assert_eq!(n, file.rows());
    }
});
