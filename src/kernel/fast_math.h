// Inline vector math for the fast kernel engines: square roots without the divider unit and the joint
// (acos ρ, sqrt(1 - ρ²)) of the arc-cosine kernels, on AVX-512 vectors of float64 (8 lanes) and float32
// (16 lanes).
//
// Why not SLEEF here: the arc-cosine map is the inner loop of every ReLU-family kernel, and an out-of-line
// call (SLEEF 3.5 has no inline headers) makes every vector register caller-saved, so several pairs cannot be
// kept in flight across it. Why not the divider for every root: vsqrtpd on 512-bit vectors issues one every
// ~20 cycles here, so two per pair and layer would bound the fused layer pass; acos_sin uses it once
// (float64) and otherwise fused multiply-adds that the compiler interleaves freely.
//
// Accuracy (tests/kernel/test_fast_math.cpp): sqrt within 1 ulp; acos within 2 ulp (float64) / 2 ulp
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

// The intrinsics the functions below need, for float64 (8 lanes) and float32 (16 lanes), so that each
// function is written once.
template <class T>
struct Lanes;

template <>
struct Lanes<double> {
  using V = __m512d;
  using M = __mmask8;
  static constexpr const double* kAsinP = kAsinP64;
  static constexpr int kAsinDegree = 11;
  static constexpr double kSmallestNormal = 2.2250738585072014e-308;
  static constexpr double kPi = 3.141592653589793, kHalfPi = 1.5707963267948966;
  static V set1(double x) { return _mm512_set1_pd(x); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static V sub(V a, V b) { return _mm512_sub_pd(a, b); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V fnma(V a, V b, V c) { return _mm512_fnmadd_pd(a, b, c); }  // c - a·b
  static V abs(V a) { return _mm512_abs_pd(a); }
  static V rsqrt14(V a) { return _mm512_rsqrt14_pd(a); }
  static V zero_unless(M m, V a) { return _mm512_maskz_mov_pd(m, a); }
  static V blend(M m, V a, V b) { return _mm512_mask_blend_pd(m, a, b); }  // m ? b : a
  static M gt(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ); }
  static M ge(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_GE_OQ); }
  static M lt(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ); }
  // sqrt(1 - ρ²) by the divider's square root (correctly rounded, and it runs beside the FMA ports that
  // sqrt_fast and the polynomial keep busy).
  static V sin_root(V x) { return _mm512_sqrt_pd(x); }
};

template <>
struct Lanes<float> {
  using V = __m512;
  using M = __mmask16;
  static constexpr const float* kAsinP = kAsinP32;
  static constexpr int kAsinDegree = 4;
  static constexpr float kSmallestNormal = 1.17549435e-38f;
  static constexpr float kPi = 3.14159265f, kHalfPi = 1.57079633f;
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V fnma(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
  static V abs(V a) { return _mm512_abs_ps(a); }
  static V rsqrt14(V a) { return _mm512_rsqrt14_ps(a); }
  static V zero_unless(M m, V a) { return _mm512_maskz_mov_ps(m, a); }
  static V blend(M m, V a, V b) { return _mm512_mask_blend_ps(m, a, b); }
  static M gt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static M ge(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
  static M lt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static V sin_root(V x);  // sqrt_fast (below): the 16-lane divider is slower still
};

// sqrt(x) for x ≥ 0 from the 14-bit reciprocal square root estimate, one Goldschmidt step (28 bits) and one
// Newton correction of the root (which doubles the bits again); 0 for x below the smallest normal (the
// estimate treats subnormals as 0), which is below anything the kernels can resolve.
template <class T>
inline typename Lanes<T>::V sqrt_fast(typename Lanes<T>::V x) {
  using L = Lanes<T>;
  const auto half = L::set1(T(0.5));
  const auto y = L::rsqrt14(x);
  auto g = L::mul(x, y), h = L::mul(half, y);
  const auto r = L::fnma(g, h, half);
  g = L::fma(g, r, g);
  h = L::fma(h, r, h);
  const auto d = L::fnma(g, g, x);
  g = L::fma(d, h, g);
  return L::zero_unless(L::ge(x, L::set1(L::kSmallestNormal)), g);
}

inline __m512 Lanes<float>::sin_root(__m512 x) {
  return sqrt_fast<float>(x);
}

inline __m512d sqrt_pd(__m512d x) {
  return sqrt_fast<double>(x);
}
inline __m512 sqrt_ps(__m512 x) {
  return sqrt_fast<float>(x);
}

// Which ρ a call of acos_sin may see. kAny: all of [-1, 1]. The others let a caller that has checked a whole
// vector (as the engines do, for rows of pairs together) drop the other branch's work: kUpper, every lane in
// (1/2, 1] (deep ReLU networks, where correlations climb towards 1); kCentral, every lane in [-1/2, 1/2]. On
// its range each gives bit for bit the result of kAny (the same operations on the same values).
enum class AcosRange { kAny, kUpper, kCentral };

// θ = acos ρ and sn = sqrt(1 - ρ²) for ρ ∈ [-1, 1]. For |ρ| ≤ 1/2, acos ρ = π/2 - asin ρ; above,
// acos |ρ| = 2 asin(sqrt((1 - |ρ|)/2)), where 1 - |ρ| is exact, so θ keeps full relative accuracy as ρ → 1
// (where the kernels' derivatives are steepest); acos(-|ρ|) = π - acos |ρ|.
template <class T, AcosRange kRange = AcosRange::kAny>
inline void acos_sin(typename Lanes<T>::V rho, typename Lanes<T>::V& theta, typename Lanes<T>::V& sn) {
  using L = Lanes<T>;
  using V = typename L::V;
  const V one = L::set1(T(1)), half = L::set1(T(0.5));
  const V a = kRange == AcosRange::kUpper ? rho : L::abs(rho);
  const V one_minus = L::sub(one, a);
  const V z = L::mul(one_minus, half);
  V w, u;
  typename L::M big = 0;
  if (kRange == AcosRange::kUpper) {
    w = z, u = sqrt_fast<T>(z);
  } else if (kRange == AcosRange::kCentral) {
    w = L::mul(a, a), u = a;
  } else {
    big = L::gt(a, half);
    w = L::blend(big, L::mul(a, a), z);
    u = L::blend(big, a, sqrt_fast<T>(z));
  }
  V p = L::set1(L::kAsinP[L::kAsinDegree]);
  for (int k = L::kAsinDegree - 1; k >= 0; --k) p = L::fma(p, w, L::set1(L::kAsinP[k]));
  const V as = L::fma(L::mul(u, w), p, u);  // asin u
  sn = L::sin_root(L::mul(one_minus, L::add(one, a)));
  if (kRange == AcosRange::kUpper) {
    theta = L::add(as, as);
    return;
  }
  const V half_pi_minus = L::sub(L::set1(L::kHalfPi), as);
  const V th = kRange == AcosRange::kCentral ? half_pi_minus : L::blend(big, half_pi_minus, L::add(as, as));
  theta = L::blend(L::lt(rho, L::set1(T(0))), th, L::sub(L::set1(L::kPi), th));  // acos |ρ| -> acos ρ
}

template <AcosRange kRange = AcosRange::kAny>
inline void acos_sin_pd(__m512d rho, __m512d& theta, __m512d& sn) {
  acos_sin<double, kRange>(rho, theta, sn);
}
template <AcosRange kRange = AcosRange::kAny>
inline void acos_sin_ps(__m512 rho, __m512& theta, __m512& sn) {
  acos_sin<float, kRange>(rho, theta, sn);
}

}  // namespace ntk::fast::vmath

#pragma GCC pop_options
