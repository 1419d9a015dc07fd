//! Writes the fixed pool (pool.rs) into OUT_DIR for `include_bytes!`, and
//! memory.x where cortex-m-rt's link.x finds it.

use std::path::PathBuf;

include!("pool.rs");
include!("src/shape.rs");

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    std::fs::write(out.join("pool.bin"), pool_bytes(ROWS, CLASSES)).unwrap();
    std::fs::copy("memory.x", out.join("memory.x")).unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    for f in ["pool.rs", "src/shape.rs", "memory.x", "build.rs"] {
        println!("cargo:rerun-if-changed={f}");
    }
}
