// Inline vector math for the fast kernel engines: square roots without the divider unit and the joint
// (acos ρ, sqrt(1 - ρ²)) of the arc-cosine kernels, on AVX-512 vectors of float64 (8 lanes) and float32
// (16 lanes).
//
// Why not SLEEF here: the arc-cosine map is the inner loop of every ReLU-family kernel, and an out-of-line
// call (SLEEF 3.5 has no inline headers) makes every vector register caller-saved, so several pairs cannot be
// kept in flight across it; vsqrtpd on 512-bit vectors issues one every ~16 cycles, which alone would bound
// the fused layer pass. Both functions are a few fused multiply-adds that the compiler interleaves freely.
//
// Accuracy (tests/kernel/fast_math_test.cpp): sqrt within 1 ulp; acos within 2 ulp (float64) / 2 ulp
// (float32) and sqrt(1 - ρ²) within 2 ulp (float64), checked against libm on dense grids and at the end
// points.
#pragma once

#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")

namespace ntk::fast::vmath {

// asin(u) = u + u·w·P(w), w ∈ [0, 1/4]: Chebyshev interpolants of (asin(√w)/√w - 1)/w, lowest degree first
// (scripts/gen_asin_polynomial.py 11 4; relative error of P 1.3e-15 and 3.8e-7, i.e. < 0.05 ulp of asin).
inline constexpr double kAsinP64[12] = {0.1666666666666665,   0.07500000000020764,   0.044642857103423646,
                                        0.03038194736709848,  0.02237204763174451,   0.017355259955786323,
                                        0.013929652902326633, 0.011875494382636922,  0.0078029494773533175,
                                        0.01603551434914882,  -0.010749050339697808, 0.028169218060881414};
inline constexpr float kAsinP32[5] = {0.16666672414795305f, 0.07498855072600821f, 0.04500138006991017f,
                                      0.026554542206161328f, 0.038085023561092654f};

// sqrt(x) for x ≥ 0 from the 14-bit reciprocal square root estimate, one Goldschmidt step (28 bits) and one
// Newton correction of the root (which doubles the bits again); 0 for x below the smallest normal (the
// estimate treats subnormals as 0), which is below anything the kernels can resolve.
inline __m512d sqrt_pd(__m512d x) {
  const __m512d half = _mm512_set1_pd(0.5);
  const __m512d y = _mm512_rsqrt14_pd(x);
  __m512d g = _mm512_mul_pd(x, y), h = _mm512_mul_pd(half, y);
  const __m512d r = _mm512_fnmadd_pd(g, h, half);
  g = _mm512_fmadd_pd(g, r, g);
  h = _mm512_fmadd_pd(h, r, h);
  const __m512d d = _mm512_fnmadd_pd(g, g, x);
  g = _mm512_fmadd_pd(d, h, g);
  const __mmask8 normal = _mm512_cmp_pd_mask(x, _mm512_set1_pd(2.2250738585072014e-308), _CMP_GE_OQ);
  return _mm512_maskz_mov_pd(normal, g);
}

inline __m512 sqrt_ps(__m512 x) {
  const __m512 half = _mm512_set1_ps(0.5f);
  const __m512 y = _mm512_rsqrt14_ps(x);
  __m512 g = _mm512_mul_ps(x, y), h = _mm512_mul_ps(half, y);
  const __m512 r = _mm512_fnmadd_ps(g, h, half);
  g = _mm512_fmadd_ps(g, r, g);
  h = _mm512_fmadd_ps(h, r, h);
  const __m512 d = _mm512_fnmadd_ps(g, g, x);
  g = _mm512_fmadd_ps(d, h, g);
  const __mmask16 normal = _mm512_cmp_ps_mask(x, _mm512_set1_ps(1.17549435e-38f), _CMP_GE_OQ);
  return _mm512_maskz_mov_ps(normal, g);
}

// Which ρ a call of acos_sin_pd/ps may see. kAny: all of [-1, 1]. The others let a caller that has checked a
// whole vector (as the engines do, for rows of pairs together) drop the other branch's work: kUpper, every
// lane in (1/2, 1] (deep ReLU networks, where correlations climb towards 1); kCentral, every lane in [-1/2,
// 1/2]. On its range each gives bit for bit the result of kAny (the same operations on the same values).
enum class AcosRange { kAny, kUpper, kCentral };

// θ = acos ρ and sn = sqrt(1 - ρ²) for ρ ∈ [-1, 1]. For |ρ| ≤ 1/2, acos ρ = π/2 - asin ρ; above,
// acos |ρ| = 2 asin(sqrt((1 - |ρ|)/2)), where 1 - |ρ| is exact, so θ keeps full relative accuracy as ρ → 1
// (where the kernels' derivatives are steepest); acos(-|ρ|) = π - acos |ρ|.
template <AcosRange kRange = AcosRange::kAny>
inline void acos_sin_pd(__m512d rho, __m512d& theta, __m512d& sn) {
  const __m512d one = _mm512_set1_pd(1.0), half = _mm512_set1_pd(0.5);
  const __m512d a = kRange == AcosRange::kUpper ? rho : _mm512_abs_pd(rho);
  const __m512d one_minus = _mm512_sub_pd(one, a);
  const __m512d z = _mm512_mul_pd(one_minus, half);
  __m512d w, u;
  __mmask8 big = 0;
  if (kRange == AcosRange::kUpper) {
    w = z, u = sqrt_pd(z);
  } else if (kRange == AcosRange::kCentral) {
    w = _mm512_mul_pd(a, a), u = a;
  } else {
    big = _mm512_cmp_pd_mask(a, half, _CMP_GT_OQ);
    w = _mm512_mask_blend_pd(big, _mm512_mul_pd(a, a), z);
    u = _mm512_mask_blend_pd(big, a, sqrt_pd(z));
  }
  __m512d p = _mm512_set1_pd(kAsinP64[11]);
  for (int k = 10; k >= 0; --k) p = _mm512_fmadd_pd(p, w, _mm512_set1_pd(kAsinP64[k]));
  const __m512d as = _mm512_fmadd_pd(_mm512_mul_pd(u, w), p, u);  // asin u
  const __m512d pi = _mm512_set1_pd(3.141592653589793), pi_2 = _mm512_set1_pd(1.5707963267948966);
  // The divider's square root here (correctly rounded, and it runs beside the FMA ports that sqrt_pd and the
  // polynomial keep busy).
  sn = _mm512_sqrt_pd(_mm512_mul_pd(one_minus, _mm512_add_pd(one, a)));
  if (kRange == AcosRange::kUpper) {
    theta = _mm512_add_pd(as, as);
    return;
  }
  const __m512d th = kRange == AcosRange::kCentral ? _mm512_sub_pd(pi_2, as)
                                                   : _mm512_mask_blend_pd(big, _mm512_sub_pd(pi_2, as),
                                                                          _mm512_add_pd(as, as));  // acos |ρ|
  const __mmask8 neg = _mm512_cmp_pd_mask(rho, _mm512_setzero_pd(), _CMP_LT_OQ);
  theta = _mm512_mask_blend_pd(neg, th, _mm512_sub_pd(pi, th));
}

template <AcosRange kRange = AcosRange::kAny>
inline void acos_sin_ps(__m512 rho, __m512& theta, __m512& sn) {
  const __m512 one = _mm512_set1_ps(1.0f), half = _mm512_set1_ps(0.5f);
  const __m512 a = kRange == AcosRange::kUpper ? rho : _mm512_abs_ps(rho);
  const __m512 one_minus = _mm512_sub_ps(one, a);
  const __m512 z = _mm512_mul_ps(one_minus, half);
  __m512 w, u;
  __mmask16 big = 0;
  if (kRange == AcosRange::kUpper) {
    w = z, u = sqrt_ps(z);
  } else if (kRange == AcosRange::kCentral) {
    w = _mm512_mul_ps(a, a), u = a;
  } else {
    big = _mm512_cmp_ps_mask(a, half, _CMP_GT_OQ);
    w = _mm512_mask_blend_ps(big, _mm512_mul_ps(a, a), z);
    u = _mm512_mask_blend_ps(big, a, sqrt_ps(z));
  }
  __m512 p = _mm512_set1_ps(kAsinP32[4]);
  for (int k = 3; k >= 0; --k) p = _mm512_fmadd_ps(p, w, _mm512_set1_ps(kAsinP32[k]));
  const __m512 as = _mm512_fmadd_ps(_mm512_mul_ps(u, w), p, u);
  const __m512 pi = _mm512_set1_ps(3.14159265f), pi_2 = _mm512_set1_ps(1.57079633f);
  sn = sqrt_ps(_mm512_mul_ps(one_minus, _mm512_add_ps(one, a)));
  if (kRange == AcosRange::kUpper) {
    theta = _mm512_add_ps(as, as);
    return;
  }
  const __m512 th = kRange == AcosRange::kCentral
                        ? _mm512_sub_ps(pi_2, as)
                        : _mm512_mask_blend_ps(big, _mm512_sub_ps(pi_2, as), _mm512_add_ps(as, as));
  const __mmask16 neg = _mm512_cmp_ps_mask(rho, _mm512_setzero_ps(), _CMP_LT_OQ);
  theta = _mm512_mask_blend_ps(neg, th, _mm512_sub_ps(pi, th));
}

}  // namespace ntk::fast::vmath

#pragma GCC pop_options
