//! The core's `exp` against the f64 exponential (correctly rounded to
//! double, far finer than an f32 ulp) over the whole f32 range.

use coselect_core::math::exp;

/// Error of `got` against the exact `want`, in units of the f32 spacing at
/// `want` (the subnormal spacing 2^-149 below the normal range).
fn ulps(got: f32, want: f64) -> f64 {
    let w = want as f32;
    if w.is_infinite() {
        return if got == w { 0.0 } else { f64::INFINITY };
    }
    let spacing = if w.abs() < f32::MIN_POSITIVE {
        f64::from(f32::from_bits(1))
    } else {
        let e = (w.abs().to_bits() >> 23) as i32 - 127;
        2f64.powi(e - 23)
    };
    (f64::from(got) - want).abs() / spacing
}

/// Every `stride`-th f32 bit pattern, both signs, NaN and infinities out.
fn sweep(stride: u32) -> impl Iterator<Item = f32> {
    (0..u32::MAX / stride)
        .map(move |i| f32::from_bits(i * stride))
        .filter(|x| x.is_finite())
}

#[test]
#[cfg_attr(miri, ignore)] // millions of evaluations: minutes in the interpreter
fn within_one_ulp_across_the_range() {
    let (mut worst, mut at, mut n) = (0.0f64, 0.0f32, 0u64);
    for x in sweep(61).chain([
        0.0, -0.0, 1.0, -1.0, 88.72, 88.7228, 88.7229, -87.33, -103.0, -103.3, -103.98,
    ]) {
        let want = f64::from(x).exp();
        let got = exp(x);
        let e = ulps(got, want);
        // For subnormal results this is the absolute error in subnormal
        // steps, which is what a rounded result can promise there.
        assert!(e <= 1.0, "exp({x:e}) = {got:e}, exact {want:e}: {e} ulp");
        if e > worst {
            (worst, at) = (e, x);
        }
        n += 1;
    }
    eprintln!("max error {worst} ulp at x = {at:e}, {n} points");
}

#[test]
fn special_values() {
    assert_eq!(exp(0.0), 1.0);
    assert_eq!(exp(-0.0), 1.0);
    assert_eq!(exp(f32::NEG_INFINITY), 0.0);
    assert_eq!(exp(f32::INFINITY), f32::INFINITY);
    assert!(exp(f32::NAN).is_nan());
    assert!(exp(-f32::NAN).is_nan());
    assert_eq!(exp(89.0), f32::INFINITY);
    assert!(exp(88.72).is_finite());
    assert_eq!(exp(-104.0), 0.0);
    assert!(exp(-103.0) > 0.0, "gradual underflow, not flush to zero");
    assert!(exp(-88.0) > 0.0 && exp(-88.0) < f32::MIN_POSITIVE);
}

#[test]
fn monotone_on_a_fine_grid() {
    let mut prev = 0.0f32;
    let step = if cfg!(miri) { 1.0 / 16.0 } else { 1.0 / 1024.0 };
    let mut x = -105.0f32;
    while x < 89.0 {
        let y = exp(x);
        assert!(y >= prev, "exp not monotone at {x}");
        prev = y;
        x += step;
    }
}
