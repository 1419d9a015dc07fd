//! The C ABI with arbitrary shapes, strides, values and state bytes, all
//! within the buffers given: no call may panic (`COSELECT_INTERNAL`), every
//! count stays within its buffer, and every successful selection picks
//! distinct unlabeled rows.
#![no_main]

use std::ptr::{null, null_mut};

use arbitrary::Arbitrary;
use coselect_ffi::*;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    classes: u8,
    rows: u8,
    stride_extra: u8,
    k: u8,
    with_sm: bool,
    with_labels: bool,
    values: Vec<u32>,
    labels: Vec<i8>,
    split: u8,
    state_noise: Vec<(u16, u8)>,
    raw_state: Vec<u8>,
}

fn ok(s: coselect_status) -> bool {
    assert_ne!(s, coselect_status::CoselectInternal, "a call panicked");
    s == coselect_status::CoselectOk
}

fuzz_target!(|inp: Input| {
    let classes = 2 + (inp.classes % 5) as usize;
    let rows = (inp.rows % 48) as usize;
    let stride = classes + (inp.stride_extra % 3) as usize;
    let len = rows * stride;
    // Values: mostly tame (so rounds succeed), sometimes raw bits (NaN, Inf).
    let val = |i: usize| -> f32 {
        let v = inp
            .values
            .get(i % inp.values.len().max(1))
            .copied()
            .unwrap_or(0);
        if v % 17 == 0 {
            f32::from_bits(v)
        } else {
            (v % 4000) as f32 / 500.0 - 4.0
        }
    };
    let fm: Vec<f32> = (0..len).map(val).collect();
    // Small-model rows as log-softmax of other values, normalised per row
    // (so most are valid log-probabilities).
    let mut sm: Vec<f32> = (0..len).map(|i| val(i + 7)).collect();
    for r in 0..rows {
        let row = &mut sm[r * stride..r * stride + classes];
        let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let lse = m + row.iter().map(|x| (x - m).exp()).sum::<f32>().ln();
        row.iter_mut().for_each(|x| *x -= lse);
    }
    let labels: Vec<i64> = (0..rows)
        .map(|i| {
            let l = inp.labels.get(i).copied().unwrap_or(-1) as i64;
            if l < -1 {
                -1
            } else {
                l % (classes as i64 + 1)
            }
        })
        .collect();
    let mut cfg = std::mem::MaybeUninit::<coselect_config>::uninit();
    if !ok(unsafe {
        coselect_config_init(cfg.as_mut_ptr(), classes as u32, 1 + (inp.k % 12) as u32)
    }) {
        return;
    }
    let cfg = unsafe { cfg.assume_init() };
    let k = cfg.k as usize;
    let fmm = coselect_matrix {
        data: if rows == 0 { null() } else { fm.as_ptr() },
        rows,
        cols: classes,
        row_stride: stride,
    };
    let smm = coselect_matrix {
        data: if rows == 0 { null() } else { sm.as_ptr() },
        rows,
        cols: classes,
        row_stride: stride,
    };
    let sm_ptr = if inp.with_sm {
        &smm as *const _
    } else {
        null()
    };
    let (lab_ptr, n_lab) = if inp.with_labels {
        (labels.as_ptr(), rows)
    } else {
        (null(), 0)
    };

    // One whole round.
    let mut picks = vec![coselect_pick::default(); k];
    let mut pseudo = vec![coselect_pseudo_label::default(); rows];
    let (mut n, mut np) = (usize::MAX, usize::MAX);
    let s = unsafe {
        coselect_select(
            &cfg,
            &fmm,
            sm_ptr,
            lab_ptr,
            n_lab,
            1,
            picks.as_mut_ptr(),
            k,
            &mut n,
            pseudo.as_mut_ptr(),
            rows,
            &mut np,
            null_mut(),
        )
    };
    if ok(s) {
        assert!(n <= k && np <= rows);
        let mut seen: Vec<u64> = picks[..n].iter().map(|p| p.index).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), n, "a row picked twice");
        for p in &picks[..n] {
            assert!(
                (p.index as usize) < rows && (!inp.with_labels || labels[p.index as usize] < 0)
            );
            assert!((p.class_id as usize) < classes);
        }
    }

    // The same pool in two selector shards, shipped as bytes (perturbed
    // when the input says so), merged, finished.
    let mut a = null_mut();
    if !ok(unsafe {
        coselect_selector_new_from_pool(&cfg, &fmm, sm_ptr, lab_ptr, n_lab, 1, &mut a)
    }) {
        return;
    }
    let cut = if rows == 0 {
        0
    } else {
        inp.split as usize % (rows + 1)
    };
    let ids: Vec<u64> = (0..rows as u64).collect();
    // Rows from..to of either matrix, in place (same stride).
    let part = |m: &[f32], from: usize, to: usize| coselect_matrix {
        data: if to > from {
            m[from * stride..].as_ptr()
        } else {
            null()
        },
        rows: to - from,
        cols: classes,
        row_stride: stride,
    };
    let (f1, s1) = (part(&fm, 0, cut), part(&sm, 0, cut));
    let _ = ok(unsafe {
        coselect_selector_push(
            a,
            &f1,
            if inp.with_sm { &s1 } else { null() },
            ids.as_ptr(),
            cut,
        )
    });
    let mut len = 0usize;
    let _ = unsafe { coselect_selector_to_bytes(a, null_mut(), 0, &mut len) };
    let mut bytes = vec![0u8; len];
    if ok(unsafe { coselect_selector_to_bytes(a, bytes.as_mut_ptr(), len, &mut len) }) {
        for &(at, x) in &inp.state_noise {
            if !bytes.is_empty() {
                let i = at as usize % bytes.len();
                bytes[i] ^= x;
            }
        }
        let mut b = null_mut();
        if ok(unsafe { coselect_selector_from_bytes(bytes.as_ptr(), bytes.len(), &mut b) }) {
            let (f2, s2) = (part(&fm, cut, rows), part(&sm, cut, rows));
            let _ = ok(unsafe {
                coselect_selector_push(
                    b,
                    &f2,
                    if inp.with_sm { &s2 } else { null() },
                    ids[cut..].as_ptr(),
                    rows - cut,
                )
            });
            let _ = ok(unsafe { coselect_selector_merge(a, b) });
            unsafe { coselect_selector_free(b) };
        }
    }
    let (mut n2, mut np2) = (0usize, 0usize);
    if ok(unsafe {
        coselect_selector_finish(
            a,
            picks.as_mut_ptr(),
            k,
            &mut n2,
            pseudo.as_mut_ptr(),
            rows,
            &mut np2,
        )
    }) {
        assert!(n2 <= k && np2 <= rows);
    }
    unsafe { coselect_selector_free(a) };

    // Arbitrary bytes as states.
    let mut h = null_mut();
    if ok(unsafe {
        coselect_selector_from_bytes(inp.raw_state.as_ptr(), inp.raw_state.len(), &mut h)
    }) {
        unsafe { coselect_selector_free(h) };
    }
    let mut p = null_mut();
    if ok(unsafe { coselect_prior_from_bytes(inp.raw_state.as_ptr(), inp.raw_state.len(), &mut p) })
    {
        let mut done = 0u32;
        let _ = ok(unsafe { coselect_prior_push(p, &fmm, sm_ptr) });
        let _ = ok(unsafe { coselect_prior_end_pass(p, &mut done) });
        unsafe { coselect_prior_free(p) };
    }
});
