//! Every kernel compiles with NVRTC for sm_90 (H100/H200) and sm_80 (A100),
//! without a GPU: CI installs libnvrtc.so.13 from PyPI (scripts/fetch-nvrtc.sh)
//! and sets COSELECT_REQUIRE_NVRTC=1, which turns a missing library into a
//! failure instead of a skip.

use std::time::Instant;

use coselect_cuda::{compile_source, Error, KernelSource, SOURCES};

/// The benchmark's pool generator compiles too, so gpu-check.sh cannot fail
/// on it.
const BENCH: KernelSource = KernelSource {
    name: "bench_pool.cu",
    source: include_str!("../examples/bench_pool.cu"),
    kernels: &["bench_pool"],
};

#[test]
fn every_kernel_compiles_for_sm90_and_sm80() {
    let required = std::env::var("COSELECT_REQUIRE_NVRTC").is_ok_and(|v| v == "1");
    for arch in ["sm_90", "sm_80"] {
        for src in SOURCES.iter().chain([&BENCH]) {
            let t = Instant::now();
            let c = match compile_source(src, arch) {
                Ok(c) => c,
                Err(Error::Unavailable { reason }) if !required => {
                    println!("SKIPPED: {reason}");
                    return;
                }
                Err(e) => panic!("{e}"),
            };
            let ms = t.elapsed().as_secs_f64() * 1e3;
            assert!(!c.cubin.is_empty(), "{}: empty CUBIN", src.name);
            // Every entry point is in the image under its unmangled name.
            for k in src.kernels {
                assert!(
                    c.cubin.windows(k.len()).any(|w| w == k.as_bytes()),
                    "{}: kernel {k} missing from the {arch} CUBIN",
                    src.name
                );
            }
            println!(
                "{arch} {}: CUBIN {} bytes in {ms:.0} ms; kernels {}{}",
                src.name,
                c.cubin.len(),
                src.kernels.join(", "),
                if c.log.trim().is_empty() {
                    String::new()
                } else {
                    format!("; log: {}", c.log.trim())
                }
            );
        }
        // PTX for the same target, which the driver JIT-compiles for newer cards.
        let virt = arch.replace("sm_", "compute_");
        for src in SOURCES.iter() {
            let c = compile_source(src, &virt).unwrap_or_else(|e| panic!("{e}"));
            assert!(!c.ptx.is_empty());
            println!("{virt} {}: PTX {} bytes", src.name, c.ptx.len());
        }
    }
}
