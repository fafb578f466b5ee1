//! The numeric kernels of the encoder: matrix products (the `gemm` crate's kernels, AVX-512 or
//! AVX2 chosen at run time), and the element-wise work written so that the compiler vectorises
//! it: `exp` and `erf` as polynomials (no call per element), reductions over 16 independent sums.
//! Each vectorised loop is compiled three times (AVX-512, AVX2 with FMA, the baseline) and the
//! best the CPU has runs.

use gemm::Parallelism;
use rayon::prelude::*;

/// Lanes of the independent sums a reduction keeps (one AVX-512 register of `f32`).
const LANES: usize = 16;

/// Rows of an output filled per task when the work is shared out.
const ROWS_PER_TASK: usize = 64;

/// Run `f` over `xs` in chunks of `chunk` floats (the last may be shorter), spread over rayon's
/// threads unless `par` is [`Parallelism::None`]; `f` gets each chunk's offset into `xs`.
pub(super) fn each_chunk(
    xs: &mut [f32],
    chunk: usize,
    par: Parallelism,
    f: impl Fn(usize, &mut [f32]) + Sync + Send,
) {
    match par {
        Parallelism::None => xs
            .chunks_mut(chunk)
            .enumerate()
            .for_each(|(i, c)| f(i * chunk, c)),
        _ => xs
            .par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(i, c)| f(i * chunk, c)),
    }
}

/// `out[r] = bias + x[r] · wᵀ` for each of `rows` rows: `x` is `rows × inp`, `w` is
/// `out × inp` (a linear layer's weight as stored), `out` is `rows × out_dim`. Without a bias
/// (`None`) the product alone is written, for a step that adds the bias itself.
#[allow(clippy::too_many_arguments)]
pub(super) fn linear(
    x: &[f32],
    rows: usize,
    inp: usize,
    w: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    par: Parallelism,
) {
    let out_dim = out.len() / rows.max(1);
    assert_eq!(x.len(), rows * inp);
    assert_eq!(w.len(), out_dim * inp);
    assert_eq!(out.len(), rows * out_dim);
    if let Some(bias) = bias {
        assert_eq!(bias.len(), out_dim);
        each_chunk(out, ROWS_PER_TASK * out_dim, par, |_, chunk| {
            for row in chunk.chunks_exact_mut(out_dim) {
                row.copy_from_slice(bias);
            }
        });
    }
    // SAFETY: the three matrices are in bounds for the strides given (checked above); `out`
    // does not overlap `x` or `w`.
    unsafe {
        gemm::gemm(
            rows,
            out_dim,
            inp,
            out.as_mut_ptr(),
            1,
            out_dim as isize,
            bias.is_some(),
            x.as_ptr(),
            1,
            inp as isize,
            w.as_ptr(),
            inp as isize,
            1,
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}

/// A strided view of a matrix for [`product`]: element `(r, c)` is at `ptr + r*rs + c*cs`.
#[derive(Clone, Copy)]
pub(super) struct View {
    pub ptr: *const f32,
    pub rs: isize,
    pub cs: isize,
}

/// `dst (m × n, row stride dst_rs) = scale · a (m × k) · b (k × n)`, on this thread.
///
/// # Safety
/// Every element the views and `dst` address must be in bounds, and `dst` must not overlap
/// either input.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn product(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut f32,
    dst_rs: isize,
    a: View,
    b: View,
    scale: f32,
) {
    // SAFETY: the caller keeps every addressed element in bounds and `dst` apart.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_rs,
            false,
            a.ptr,
            a.cs,
            a.rs,
            b.ptr,
            b.cs,
            b.rs,
            0.0,
            scale,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

macro_rules! dispatch {
    ($(#[$doc:meta])* $name:ident, $body:ident, ($($arg:ident: $ty:ty),*) $(-> $ret:ty)?) => {
        $(#[$doc])*
        pub(super) fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                unsafe fn wide($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn narrow($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has the features the function is compiled for.
                    return unsafe { wide($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: as above.
                    return unsafe { narrow($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}

dispatch!(
    /// GELU as BERT defines it, `x · Φ(x) = x/2 · (1 + erf(x/√2))`, of each row of `xs` plus
    /// `bias` (rows of `bias.len()`), in place.
    gelu, gelu_body, (xs: &mut [f32], bias: &[f32])
);
dispatch!(
    /// Softmax of one row, in place.
    softmax, softmax_body, (xs: &mut [f32])
);
dispatch!(
    /// Layer normalisation of each row of `xs` (rows of `w.len()`), with weight and bias.
    layer_norm, layer_norm_body, (xs: &mut [f32], w: &[f32], b: &[f32], eps: f32)
);
dispatch!(
    /// `xs[r] = layer_norm(xs[r] + bias + residual[r])` for each row: a linear layer's bias
    /// and the residual connection added in the norm's own pass.
    add_norm, add_norm_body,
    (xs: &mut [f32], bias: &[f32], residual: &[f32], w: &[f32], b: &[f32], eps: f32)
);

/// `e^x` for `x` in `[-87, 88]` (clamped outside), relative error under 1e-6: `2^n · e^r` with
/// `|r| ≤ ln 2 / 2` and a degree-6 polynomial.
#[inline(always)]
pub(super) fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    // ln 2 in two parts, so that `x - n·ln 2` keeps its low bits.
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // SAFETY: `n` is a whole number in [-126, 127] (x was clamped), so it fits an i32; the
    // unchecked conversion is one vector instruction where `as` (saturating) is not.
    let n = unsafe { n.to_int_unchecked::<i32>() };
    p * f32::from_bits(((n + 127) as u32) << 23)
}

/// `erf(x)`, absolute error under 1.5e-7 (Abramowitz and Stegun 7.1.26).
#[inline(always)]
pub(super) fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152 + t * 1.061_405_4))));
    (1.0 - poly * exp(-a * a)).copysign(x)
}

#[inline(always)]
fn gelu_body(xs: &mut [f32], bias: &[f32]) {
    for row in xs.chunks_exact_mut(bias.len()) {
        for (x, b) in row.iter_mut().zip(bias) {
            let v = *x + b;
            *x = 0.5 * v * (1.0 + erf(v * std::f32::consts::FRAC_1_SQRT_2));
        }
    }
}

/// The sum of `xs`, over [`LANES`] independent sums (a single running sum is a chain of
/// dependent additions the compiler does not vectorise).
#[inline(always)]
fn sum(xs: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    acc.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}

#[inline(always)]
fn max(xs: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = if x > *a { x } else { *a };
        }
    }
    acc.iter()
        .chain(chunks.remainder())
        .fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m })
}

#[inline(always)]
fn softmax_body(xs: &mut [f32]) {
    let top = max(xs);
    for x in xs.iter_mut() {
        *x = exp(*x - top);
    }
    let inv = 1.0 / sum(xs);
    for x in xs.iter_mut() {
        *x *= inv;
    }
}

#[inline(always)]
fn add_norm_body(xs: &mut [f32], bias: &[f32], residual: &[f32], w: &[f32], b: &[f32], eps: f32) {
    let n = w.len();
    for (row, res) in xs.chunks_exact_mut(n).zip(residual.chunks_exact(n)) {
        for ((x, bias), res) in row.iter_mut().zip(bias).zip(res) {
            *x += bias + res;
        }
    }
    layer_norm_body(xs, w, b, eps);
}

#[inline(always)]
fn layer_norm_body(xs: &mut [f32], w: &[f32], b: &[f32], eps: f32) {
    let n = w.len();
    for row in xs.chunks_exact_mut(n) {
        let mean = sum(row) / n as f32;
        for x in row.iter_mut() {
            *x -= mean;
        }
        let mut sq = [0.0f32; LANES];
        let mut chunks = row.chunks_exact(LANES);
        for c in &mut chunks {
            for (a, x) in sq.iter_mut().zip(c) {
                *a += x * x;
            }
        }
        let var = (sq.iter().sum::<f32>() + chunks.remainder().iter().map(|x| x * x).sum::<f32>())
            / n as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for ((x, w), b) in row.iter_mut().zip(w).zip(b) {
            *x = *x * inv * w + b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_and_erf_agree_with_the_standard_library() {
        let mut worst_exp = 0.0f64;
        let mut worst_erf = 0.0f64;
        for i in -8000..=8000 {
            let x = i as f32 / 100.0;
            let want = (x as f64).exp();
            worst_exp = worst_exp.max(((exp(x) as f64 - want) / want).abs());
            let x = i as f32 / 1000.0;
            let want = erf_f64(x as f64);
            worst_erf = worst_erf.max((erf(x) as f64 - want).abs());
        }
        assert!(worst_exp < 1e-6, "exp relative error {worst_exp}");
        assert!(worst_erf < 1e-6, "erf absolute error {worst_erf}");
    }

    /// erf by its Taylor series (|x| ≤ 3) or 1 beyond, in f64: exact to about 1e-12 there.
    fn erf_f64(x: f64) -> f64 {
        if x.abs() > 5.0 {
            return x.signum();
        }
        let (mut term, mut total, mut n) = (x, x, 0.0);
        while term.abs() > 1e-17 * total.abs().max(1e-300) && n < 400.0 {
            n += 1.0;
            term *= -x * x / n;
            total += term / (2.0 * n + 1.0);
        }
        total * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let mut xs: Vec<f32> = (0..37).map(|i| (i as f32 * 0.37).sin() * 9.0).collect();
        let orig = xs.clone();
        softmax(&mut xs);
        assert!((xs.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        let top = orig.iter().cloned().fold(f32::MIN, f32::max);
        let denom: f64 = orig.iter().map(|&x| ((x - top) as f64).exp()).sum();
        for (p, x) in xs.iter().zip(&orig) {
            let want = ((x - top) as f64).exp() / denom;
            assert!((*p as f64 - want).abs() < 1e-6, "{p} vs {want}");
        }
    }

    #[test]
    fn layer_norm_gives_zero_mean_unit_variance_before_its_weights() {
        let mut xs: Vec<f32> = (0..2 * 40).map(|i| i as f32 * 0.5 - 3.0).collect();
        let w = vec![1.0; 40];
        let b = vec![0.0; 40];
        layer_norm(&mut xs, &w, &b, 1e-12);
        for row in xs.chunks(40) {
            let mean: f32 = row.iter().sum::<f32>() / 40.0;
            let var: f32 = row.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / 40.0;
            assert!(
                mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4,
                "{mean} {var}"
            );
        }
    }

    #[test]
    fn linear_adds_its_bias_to_the_product_and_add_norm_its_bias_and_residual() {
        // x: 2 × 3, w: 2 × 3 (out × in).
        let x = [1.0, 2.0, 3.0, -1.0, 0.0, 1.0];
        let w = [1.0, 0.0, 1.0, 0.5, 0.5, 0.5];
        let bias = [10.0, 20.0];
        let mut out = [0.0; 4];
        linear(&x, 2, 3, &w, Some(&bias), &mut out, Parallelism::None);
        assert_eq!(out, [10.0 + 4.0, 20.0 + 3.0, 10.0 + 0.0, 20.0]);
        // The product alone, then GELU with the bias added.
        linear(&x, 2, 3, &w, None, &mut out, Parallelism::None);
        assert_eq!(out, [4.0, 3.0, 0.0, 0.0]);
        gelu(&mut out, &[0.0, -3.0]);
        let g = |v: f64| 0.5 * v * (1.0 + erf_f64(v / std::f64::consts::SQRT_2));
        for (got, want) in out.iter().zip([g(4.0), g(0.0), g(0.0), g(-3.0)]) {
            assert!((*got as f64 - want).abs() < 1e-6, "{got} vs {want}");
        }
        // add_norm is the layer norm of the product plus the bias plus the residual.
        let product = [4.0, 3.0, -2.0, 0.0, 0.5, 7.0];
        let (bias, residual) = ([1.0, -1.0, 0.5], [1.0, 1.0, 2.0, 2.0, -3.0, 0.25]);
        let (nw, nb) = ([1.0, 2.0, 0.5], [0.0, 0.1, -0.2]);
        let mut want: Vec<f32> = product
            .iter()
            .enumerate()
            .map(|(i, p)| p + bias[i % 3] + residual[i])
            .collect();
        layer_norm(&mut want, &nw, &nb, 1e-12);
        let mut got = product;
        add_norm(&mut got, &bias, &residual, &nw, &nb, 1e-12);
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-6, "{got:?} vs {want:?}");
        }
    }
}
