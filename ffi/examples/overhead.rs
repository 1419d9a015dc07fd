//! The cost of the C ABI over the Rust call: one round on the same pool
//! through `coselect_cpu::run_round` and through `coselect_select`,
//! alternated, median of `--repeat` runs each. Used by
//! `benches/compare_ffi.py`, which adds the Python call on the same arrays.
//!
//! `cargo run --release -p coselect-ffi --example overhead -- FM.npy SM.npy LABELS.npy K THREADS REPEAT`

use std::time::Instant;

use coselect_core::Config;
use coselect_cpu::npy::NpyFile;
use coselect_cpu::{run_round, Labels, Parallelism, Pool};
use coselect_ffi::*;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() != 6 {
        return Err("usage: overhead FM.npy SM.npy LABELS.npy K THREADS REPEAT".into());
    }
    let (k, threads, repeat): (u32, usize, usize) = (a[3].parse()?, a[4].parse()?, a[5].parse()?);
    // Read into memory first, so neither path pays page faults the other
    // does not.
    let (fmf, smf, lf) = (
        NpyFile::open(&a[0])?,
        NpyFile::open(&a[1])?,
        NpyFile::open(&a[2])?,
    );
    let (rows, classes) = (fmf.matrix()?.rows(), fmf.matrix()?.cols());
    let fm: Vec<f32> = bytemuck_f32(fmf.data());
    let sm: Vec<f32> = bytemuck_f32(smf.data());
    let labels: Vec<i64> = lf.labels()?.collect();
    let cfg = Config::new(classes as u32, k)?;
    let p = Parallelism {
        threads,
        ..Default::default()
    };
    let mut ccfg = std::mem::MaybeUninit::<coselect_config>::uninit();
    unsafe { coselect_config_init(ccfg.as_mut_ptr(), classes as u32, k) };
    let ccfg = unsafe { ccfg.assume_init() };
    let (mut rust, mut c) = (Vec::new(), Vec::new());
    let mut first: Option<Vec<u64>> = None;
    for _ in 0..repeat {
        let t = Instant::now();
        let pool = Pool::new(
            coselect_cpu::Matrix::f32("fm", &fm, rows, classes)?,
            Some(coselect_cpu::Matrix::f32("sm", &sm, rows, classes)?),
            Some(Labels::new(
                "labels",
                labels.iter().copied(),
                classes as u32,
            )?),
        )?;
        let r = run_round(&pool, &cfg, p)?;
        rust.push(t.elapsed().as_secs_f64());

        let t = Instant::now();
        let fmm = coselect_matrix {
            data: fm.as_ptr(),
            rows,
            cols: classes,
            row_stride: 0,
        };
        let smm = coselect_matrix {
            data: sm.as_ptr(),
            rows,
            cols: classes,
            row_stride: 0,
        };
        let mut picks = vec![coselect_pick::default(); k as usize];
        let mut pseudo = vec![coselect_pseudo_label::default(); rows];
        let (mut n, mut np) = (0usize, 0usize);
        let s = unsafe {
            coselect_select(
                &ccfg,
                &fmm,
                &smm,
                labels.as_ptr(),
                rows,
                threads as u32,
                picks.as_mut_ptr(),
                picks.len(),
                &mut n,
                pseudo.as_mut_ptr(),
                pseudo.len(),
                &mut np,
                std::ptr::null_mut(),
            )
        };
        c.push(t.elapsed().as_secs_f64());
        assert_eq!(s, coselect_status::CoselectOk);
        let ids: Vec<u64> = picks[..n].iter().map(|p| p.index).collect();
        assert_eq!(ids, r.queries.iter().map(|p| p.index).collect::<Vec<_>>());
        first.get_or_insert(ids);
    }
    println!("rust_s {:.6}", median(rust));
    println!("c_abi_s {:.6}", median(c));
    println!(
        "first_ids {:?}",
        &first.unwrap_or_default()[..8.min(k as usize)]
    );
    Ok(())
}

fn bytemuck_f32(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}
