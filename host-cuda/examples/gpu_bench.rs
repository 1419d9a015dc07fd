//! Times coselect-cuda's round (scoring, per-class top-k, pseudo-label
//! candidates, round-robin) on device-resident pools with CUDA events, next
//! to the device-to-device copy bandwidth that bounds it, and leaves the
//! 1M-row pool and its selection on disk for the PyTorch reference
//! (scripts/torch_reference.py) to check.
//!
//! `cargo run --release -p coselect-cuda --example gpu_bench -- --rows 1000000,100000000 --classes 10 --out target/gpu-check`

use std::ffi::c_void;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use coselect_core::Config;
use coselect_cuda::{DType, DeviceMatrix, Gpu, RoundParams, Selection};
use cudarc::driver::{result, sys};
use cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

struct Args {
    rows: Vec<usize>,
    classes: usize,
    k: u32,
    iters: usize,
    check_rows: usize,
    out: PathBuf,
}

fn args() -> Res<Args> {
    let mut a = Args {
        rows: vec![1_000_000, 100_000_000],
        classes: 10,
        k: 256,
        iters: 30,
        check_rows: 1_000_000,
        out: PathBuf::from("target/gpu-check"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--rows" => a.rows = v.split(',').map(str::parse).collect::<Result<_, _>>()?,
            "--classes" => a.classes = v.parse()?,
            "--k" => a.k = v.parse()?,
            "--iters" => a.iters = v.parse()?,
            "--check-rows" => a.check_rows = v.parse()?,
            "--out" => a.out = v.into(),
            _ => return Err(format!("unknown flag {flag}").into()),
        }
    }
    Ok(a)
}

/// The round the benchmark (and the PyTorch reference) runs: a small model
/// and human labels in a mix that puts some classes in seed mode and some in
/// boundary mode, so every kernel path and the co-decision run.
fn params(classes: usize, k: u32) -> Res<RoundParams> {
    let config = Config::new(classes as u32, k)?;
    let counts: Vec<u32> = (0..classes).map(|c| [0, 1, 4, 6][c % 4]).collect();
    let log_prior: Vec<f32> = (0..classes)
        .map(|c| -((classes as f32).ln()) + 0.1 * (c % 3) as f32 - 0.1)
        .collect();
    Ok(RoundParams {
        config,
        counts,
        fusion: coselect_core::Fusion { a: 1.0, b: 0.5 },
        temperature: 1.0,
        log_prior,
        validate: true,
    })
}

struct Events(sys::CUevent, sys::CUevent);

impl Events {
    fn new() -> Res<Self> {
        let f = sys::CUevent_flags::CU_EVENT_DEFAULT;
        Ok(Events(result::event::create(f)?, result::event::create(f)?))
    }

    /// Milliseconds of `work` on `stream`, between two events.
    fn time(&self, stream: sys::CUstream, work: impl FnOnce() -> Res<()>) -> Res<f32> {
        unsafe {
            result::event::record(self.0, stream)?;
            work()?;
            result::event::record(self.1, stream)?;
            result::event::synchronize(self.1)?;
            Ok(result::event::elapsed(self.0, self.1)?)
        }
    }
}

fn median(mut v: Vec<f32>) -> f32 {
    v.sort_by(f32::total_cmp);
    v[v.len() / 2]
}

fn write_npy(path: &PathBuf, data: &[f32], rows: usize, cols: usize) -> Res<()> {
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    f.write_all(b"\x93NUMPY\x01\x00")?;
    f.write_all(&(header.len() as u16).to_le_bytes())?;
    f.write_all(header.as_bytes())?;
    for x in data {
        f.write_all(&x.to_le_bytes())?;
    }
    Ok(())
}

fn selection_json(p: &RoundParams, s: &Selection) -> String {
    let mut j = String::from("{");
    let list = |v: Vec<String>| v.join(", ");
    let _ = write!(
        j,
        "\"classes\": {}, \"k\": {}, \"seed_min\": {}, \"co_confidence\": {}, \"co_floor\": {}, \"cap_factor\": {}, ",
        p.config.classes, p.config.k, p.config.seed_min, p.config.co_confidence, p.config.co_floor, p.config.cap_factor
    );
    let _ = write!(
        j,
        "\"counts\": [{}], \"a\": {}, \"b\": {}, \"temperature\": {}, \"log_prior\": [{}], ",
        list(p.counts.iter().map(|c| c.to_string()).collect()),
        p.fusion.a,
        p.fusion.b,
        p.temperature,
        list(p.log_prior.iter().map(|v| format!("{v:e}")).collect())
    );
    let _ = write!(
        j,
        "\"queries\": [{}], \"pseudo_labels\": [{}]}}",
        list(
            s.queries
                .iter()
                .map(|q| format!("[{}, {}]", q.index, q.class))
                .collect()
        ),
        list(
            s.pseudo_labels
                .iter()
                .map(|q| format!("[{}, {}]", q.index, q.class))
                .collect()
        )
    );
    j
}

/// Fills fm and sm with bench_pool.cu's synthetic rows.
fn generate_pool(
    f: &cudarc::driver::CudaFunction,
    stream: sys::CUstream,
    fm: u64,
    sm: u64,
    rows: usize,
    classes: usize,
    palette: u64,
) -> Res<()> {
    let (mut fm_v, mut sm_v, mut rows_v, mut c_v) = (fm, sm, rows as u64, classes as u32);
    let (mut seed_v, mut pal_v) = (20_260_101u64 + rows as u64, palette);
    let mut gen_args: [*mut c_void; 6] = [
        &mut fm_v as *mut u64 as *mut c_void,
        &mut sm_v as *mut u64 as *mut c_void,
        &mut rows_v as *mut u64 as *mut c_void,
        &mut c_v as *mut u32 as *mut c_void,
        &mut seed_v as *mut u64 as *mut c_void,
        &mut pal_v as *mut u64 as *mut c_void,
    ];
    unsafe {
        result::launch_kernel(
            f.cu_function(),
            (rows.div_ceil(256).min(65_535 * 16) as u32, 1, 1),
            (256, 1, 1),
            0,
            stream,
            &mut gen_args,
        )?;
        result::stream::synchronize(stream)?;
    }
    Ok(())
}

fn main() -> Res<()> {
    let a = args()?;
    std::fs::create_dir_all(&a.out)?;
    let gpu = match Gpu::new(0) {
        Ok(g) => g,
        Err(e) => {
            println!("SKIPPED: {e}");
            return Ok(());
        }
    };
    let t = std::time::Instant::now();
    let arch = gpu.warm_up()?;
    println!(
        "device: {} ({arch}); NVRTC compile and load {:.2} s",
        gpu.name()?,
        t.elapsed().as_secs_f64()
    );
    gpu.context().bind_to_thread()?;
    let stream = result::stream::create(result::stream::StreamKind::NonBlocking)?;
    let gen_src = include_str!("bench_pool.cu");
    let ptx = compile_ptx_with_opts(
        gen_src,
        CompileOptions {
            arch: Some("compute_80"),
            ..Default::default()
        },
    )?;
    let module = gpu.context().load_module(ptx)?;
    let generate = module.load_function("bench_pool")?;
    let ev = Events::new()?;
    let mut lines = String::new();
    let c = a.classes;
    let params = params(c, a.k)?;
    for &rows in &a.rows {
        let bytes = rows * c * 4;
        let (fm, sm, scratch) = unsafe {
            (
                result::malloc_sync(bytes)?,
                result::malloc_sync(bytes)?,
                result::malloc_sync(2 * bytes)?,
            )
        };
        generate_pool(&generate, stream, fm, sm, rows, c, 0)?;
        // Copy bandwidth: the input's bytes (fm and sm) copied device to device.
        let mut copy = Vec::new();
        for i in 0..a.iters + 3 {
            let ms = ev.time(stream, || unsafe {
                result::memcpy_dtod_async(scratch, fm, bytes, stream)?;
                result::memcpy_dtod_async(scratch + bytes as u64, sm, bytes, stream)?;
                Ok(())
            })?;
            if i >= 3 {
                copy.push(ms);
            }
        }
        let copy_ms = median(copy);
        let read = 2 * bytes;
        let copy_gbps = read as f64 / (copy_ms as f64 * 1e-3) / 1e9;
        let m = |ptr| DeviceMatrix {
            ptr,
            rows,
            cols: c,
            dtype: DType::F32,
        };
        let mut sel = None;
        let mut times = Vec::new();
        for i in 0..a.iters + 3 {
            let ms = ev.time(stream, || {
                let s = unsafe {
                    gpu.select_on_device(m(fm), Some(m(sm)), None, &params, stream as u64)?
                };
                sel = Some(s);
                Ok(())
            })?;
            if i >= 3 {
                times.push(ms);
            }
        }
        let sel = sel.ok_or("no run")?;
        let (med, min) = (
            median(times.clone()),
            times.iter().copied().fold(f32::MAX, f32::min),
        );
        // The floor: reading the input once at the measured copy bandwidth.
        let floor_ms = copy_ms;
        println!(
            "{rows} x {c} f32, k {}: median {med:.3} ms (min {min:.3}) over {} runs; \
             input {:.1} MB; copy {copy_gbps:.0} GB/s; floor {floor_ms:.3} ms; {:.2}x floor; \
             {} queries, {} pseudo-labels",
            a.k,
            a.iters,
            read as f64 / 1e6,
            med / floor_ms,
            sel.queries.len(),
            sel.pseudo_labels.len()
        );
        let _ = writeln!(
            lines,
            "{{\"rows\": {rows}, \"classes\": {c}, \"k\": {}, \"bytes_read\": {read}, \"copy_ms\": {copy_ms}, \"copy_gbps\": {copy_gbps}, \"median_ms\": {med}, \"min_ms\": {min}, \"runs\": {}}}",
            a.k, a.iters
        );
        if rows == a.check_rows {
            generate_pool(&generate, stream, fm, sm, rows, c, 4096)?;
            let sel =
                unsafe { gpu.select_on_device(m(fm), Some(m(sm)), None, &params, stream as u64)? };
            let mut h_fm = vec![0.0f32; rows * c];
            let mut h_sm = vec![0.0f32; rows * c];
            unsafe {
                result::memcpy_dtoh_sync(&mut h_fm, fm)?;
                result::memcpy_dtoh_sync(&mut h_sm, sm)?;
            }
            write_npy(&a.out.join("fm.npy"), &h_fm, rows, c)?;
            write_npy(&a.out.join("sm.npy"), &h_sm, rows, c)?;
            std::fs::write(a.out.join("selection.json"), selection_json(&params, &sel))?;
        }
        unsafe {
            result::free_sync(fm)?;
            result::free_sync(sm)?;
            result::free_sync(scratch)?;
        }
    }
    std::fs::write(a.out.join("rust_times.jsonl"), lines)?;
    std::fs::write(a.out.join("device.txt"), format!("{}\n", gpu.name()?))?;
    Ok(())
}
