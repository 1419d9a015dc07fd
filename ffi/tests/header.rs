//! `include/coselect.h` is what cbindgen makes of this crate today: a
//! drifted header would let C callers compile against a different ABI.
//! `COSELECT_BLESS=1 cargo test -p coselect-ffi --test header` rewrites it.

use std::path::Path;

#[test]
fn header_matches_the_crate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).unwrap();
    let mut fresh = Vec::new();
    cbindgen::Builder::new()
        .with_crate(dir)
        .with_config(config)
        .generate()
        .expect("cbindgen parses the crate")
        .write(&mut fresh);
    let path = dir.join("include/coselect.h");
    if std::env::var_os("COSELECT_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "ffi/include/coselect.h is stale: run `COSELECT_BLESS=1 cargo test -p coselect-ffi --test header` and commit it"
    );
}
