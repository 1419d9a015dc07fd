//! Input checks that need no GPU: every bad shape or parameter is a typed
//! error, and a machine without CUDA gets Error::Unavailable, not a panic.

use coselect_core::{Config, Fusion};
use coselect_cuda::{check_inputs, DType, DeviceMatrix, Error, Gpu, HostMatrix, RoundParams};

fn fm(rows: usize, cols: usize) -> DeviceMatrix {
    DeviceMatrix {
        ptr: 0x7000_0000,
        rows,
        cols,
        dtype: DType::F32,
    }
}

#[test]
fn good_inputs_pass() {
    let p = RoundParams::first_round(Config::new(4, 10).unwrap());
    check_inputs(&fm(100, 4), None, &p).unwrap();
}

#[test]
fn bad_shapes_and_parameters_are_typed_errors() {
    let p = RoundParams::first_round(Config::new(4, 10).unwrap());
    let sm = |rows, cols, dtype| DeviceMatrix {
        ptr: 0x9000_0000,
        rows,
        cols,
        dtype,
    };
    let e = |r: coselect_cuda::Result<()>| r.unwrap_err();
    assert!(matches!(
        e(check_inputs(&fm(100, 3), None, &p)),
        Error::Shape { input: "fm", .. }
    ));
    assert!(matches!(
        e(check_inputs(&fm(100, 4), Some(&sm(99, 4, DType::F32)), &p)),
        Error::Shape { input: "sm", .. }
    ));
    assert!(matches!(
        e(check_inputs(&fm(100, 4), Some(&sm(100, 4, DType::F16)), &p)),
        Error::Shape { input: "sm", .. }
    ));
    let mut null = fm(100, 4);
    null.ptr = 0;
    assert!(matches!(
        e(check_inputs(&null, None, &p)),
        Error::Shape { .. }
    ));
    let mut odd = fm(100, 4);
    odd.ptr = 0x7000_0002;
    assert!(matches!(
        e(check_inputs(&odd, None, &p)),
        Error::Shape { .. }
    ));

    let mut q = p.clone();
    q.counts = vec![0; 3];
    assert!(matches!(
        e(check_inputs(&fm(100, 4), None, &q)),
        Error::Shape {
            input: "counts",
            ..
        }
    ));
    let mut q = p.clone();
    q.log_prior[2] = f32::NAN;
    assert!(matches!(
        e(check_inputs(&fm(100, 4), None, &q)),
        Error::Core { .. }
    ));
    let mut q = p.clone();
    q.fusion = Fusion { a: -1.0, b: 0.0 };
    assert!(matches!(
        e(check_inputs(&fm(100, 4), None, &q)),
        Error::Core { .. }
    ));
    let mut q = p.clone();
    q.temperature = 0.0;
    assert!(matches!(
        e(check_inputs(&fm(100, 4), None, &q)),
        Error::Core { .. }
    ));
    // Labels enough for boundary mode, but no small model.
    let mut q = p.clone();
    q.counts = vec![0, 5, 0, 0];
    assert_eq!(
        e(check_inputs(&fm(100, 4), None, &q)),
        Error::MissingSmallModel { class: 1 }
    );
    let big = fm(u32::MAX as usize + 1, 4);
    assert!(matches!(
        e(check_inputs(&big, None, &p)),
        Error::TooLarge { .. }
    ));
    assert!(HostMatrix::f32(&[0.0; 7], 2, 4).is_err());
}

#[test]
fn without_cuda_the_error_is_unavailable() {
    match Gpu::new(0) {
        Ok(g) => println!("a GPU is present ({:?}): nothing to check", g.name()),
        Err(Error::Unavailable { reason }) => println!("as expected: {reason}"),
        Err(e) => panic!("expected Unavailable, got {e}"),
    }
    // A device ordinal that cannot exist is refused the same way.
    if let Err(e) = Gpu::new(10_000) {
        assert!(matches!(e, Error::Unavailable { .. }), "{e}");
    }
}

/// One `Gpu` serves every thread (the C ABI hands it out as a handle).
#[test]
fn the_handle_is_send_and_sync() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Gpu>();
}
