// The AVX-512 lane types of the fast engines: vmath::Lanes<T> (the intrinsics of fast_math.h's inline acos
// and sqrt) and Simd<T> (what the layers' shared math, src/layers/math/, and the engines use), over 8 float64
// or 16 float32 lanes with __mmask8/__mmask16 masks. Include only inside an AVX-512 target region with
// NTK_ISA = avx512 (fast_fc_avx512.cpp, fast_cntk_avx512.cpp): see fast_isa.h.
#pragma once

#include <immintrin.h>

extern "C" {
__m512d Sleef_acosd8_u35avx512f(__m512d);
__m512d Sleef_asind8_u35avx512f(__m512d);
__m512d Sleef_expd8_u10avx512f(__m512d);
__m512d Sleef_expm1d8_u10avx512f(__m512d);
__m512d Sleef_log1pd8_u10avx512f(__m512d);
__m512d Sleef_tanhd8_u10avx512f(__m512d);
__m512 Sleef_acosf16_u35avx512f(__m512);
__m512 Sleef_asinf16_u35avx512f(__m512);
__m512 Sleef_expf16_u10avx512f(__m512);
__m512 Sleef_expm1f16_u10avx512f(__m512);
__m512 Sleef_log1pf16_u10avx512f(__m512);
__m512 Sleef_tanhf16_u10avx512f(__m512);
}

#include "kernel/fast_math.h"

namespace ntk::fast {
namespace NTK_ISA {
namespace vmath {

template <>
struct Lanes<double> {
  using T = double;
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
  static V sqrt_fast(V x) { return sqrt_goldschmidt<Lanes<double>>(x); }
};

template <>
struct Lanes<float> {
  using T = float;
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
  static V sqrt_fast(V x) { return sqrt_goldschmidt<Lanes<float>>(x); }
  static V sin_root(V x) { return sqrt_fast(x); }  // the 16-lane divider is slower still
};

}  // namespace vmath

template <class T>
struct Simd;

template <>
struct Simd<double> {
  using T = double;
  using Scalar = double;
  using V = __m512d;
  using M = __mmask8;
  static constexpr int W = 8;
  static constexpr double kEps = 2.220446049250313e-16;
  static inline V set1(double x) { return _mm512_set1_pd(x); }
  static inline V zero() { return _mm512_setzero_pd(); }
  static inline V load(const double* p) { return _mm512_loadu_pd(p); }
  // p[0], p[2], ..., p[2W - 2] (reads p[0 .. 2W)).
  static inline V load_even(const double* p) {
    return _mm512_permutex2var_pd(load(p), _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14), load(p + 8));
  }
  static inline V loadm(M m, const double* p) { return _mm512_maskz_loadu_pd(m, p); }
  static inline void store(double* p, V v) { _mm512_storeu_pd(p, v); }
  static inline void storem(double* p, M m, V v) { _mm512_mask_storeu_pd(p, m, v); }
  static inline void stream(double* p, V v) { _mm512_stream_pd(p, v); }  // p 64-byte aligned
  // Lane r = p[r * W + l] for the lanes of m: column l of a row-major W x W block.
  static inline V column(const double* p, int64_t l, M m) {
    const __m256i idx = _mm256_add_epi32(_mm256_setr_epi32(0, 8, 16, 24, 32, 40, 48, 56),
                                         _mm256_set1_epi32(static_cast<int>(l)));
    return _mm512_mask_i32gather_pd(zero(), m, idx, p, 8);
  }
  static inline M tail(int64_t n) { return n >= W ? M(0xFF) : M((1u << n) - 1u); }
  static inline V sqrt(V x) { return _mm512_sqrt_pd(x); }
  static inline V min(V a, V b) { return _mm512_min_pd(a, b); }
  static inline V max(V a, V b) { return _mm512_max_pd(a, b); }
  static inline V acos(V x) { return Sleef_acosd8_u35avx512f(x); }
  static inline V asin(V x) { return Sleef_asind8_u35avx512f(x); }
  template <math::AcosRange kRange = math::AcosRange::kAny>
  static NTK_ALWAYS_INLINE void acos_sin(V rho, V& theta, V& sn) {
    vmath::acos_sin<vmath::Lanes<double>, kRange>(rho, theta, sn);
  }
  static inline V exp(V x) { return Sleef_expd8_u10avx512f(x); }
  // The quadrature activations' φ and φ' (math/act_smooth.h).
  static inline V expm1(V x) { return Sleef_expm1d8_u10avx512f(x); }
  static inline V log1p(V x) { return Sleef_log1pd8_u10avx512f(x); }
  static inline V tanh(V x) { return Sleef_tanhd8_u10avx512f(x); }
  static inline M gt(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ); }
  static inline M lt(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ); }
  static inline M le(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_LE_OQ); }
  static inline V blend(M m, V a, V b) { return _mm512_mask_blend_pd(m, a, b); }  // m ? b : a
  static inline double sum(V v) { return _mm512_reduce_add_pd(v); }
  static inline V abs(V v) { return _mm512_abs_pd(v); }
  // a·b + c with one rounding. Written out where wanted: the engines are compiled with -ffp-contract=off, so
  // the same formula rounds the same way wherever it is inlined.
  static inline V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static inline V mul_add(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static inline bool any(M m) { return m != 0; }
  // ρ = c / sqrt(v1 v2) (0 when v1 v2 = 0), θ = acos ρ, sqrt(1 - ρ²) on the lanes of m.
  static inline void exact_correlation(M m, V c, V v1, V v2, V& rho, V& theta, V& sn) {
    const V p = v1 * v2;
    V d = _mm512_sqrt_pd(p);
    // Outside double's normal range (variances beyond 1e154 or below 1e-154): math::sqrt_product per lane.
    const __mmask8 out = _mm512_cmp_pd_mask(p, set1(1.7976931348623157e308), _CMP_NLE_UQ) |
                         _mm512_cmp_pd_mask(p, set1(2.2250738585072014e-308), _CMP_LT_OQ);
    if (out) {
      alignas(64) double a[8], b[8], r[8];
      _mm512_store_pd(a, v1);
      _mm512_store_pd(b, v2);
      _mm512_store_pd(r, d);
      for (int l = 0; l < 8; ++l)
        if (out >> l & 1) r[l] = math::sqrt_product(a[l], b[l]);
      d = _mm512_load_pd(r);
    }
    V r = c / d;
    r = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(d, zero(), _CMP_GT_OQ), zero(), r);
    r = min(max(r, set1(-1)), set1(1));
    rho = blend(m, rho, r);
    // θ and sqrt(1 - ρ²) = sqrt((1 - |ρ|)(1 + |ρ|)) by the inline acos_sin (fast_math.h, within 2 ulp of
    // libm): no out-of-line call on this path either.
    V th, s;
    vmath::acos_sin<vmath::Lanes<double>>(r, th, s);
    theta = blend(m, theta, th);
    sn = blend(m, sn, s);
  }
};

template <>
struct Simd<float> {
  using T = float;
  using Scalar = float;
  using V = __m512;
  using M = __mmask16;
  static constexpr int W = 16;
  static constexpr float kEps = 1.1920929e-07f;
  static inline V set1(float x) { return _mm512_set1_ps(x); }
  static inline V zero() { return _mm512_setzero_ps(); }
  static inline V load(const float* p) { return _mm512_loadu_ps(p); }
  // p[0], p[2], ..., p[2W - 2] (reads p[0 .. 2W)).
  static inline V load_even(const float* p) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return _mm512_permutex2var_ps(load(p), even, load(p + 16));
  }
  static inline V loadm(M m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
  static inline void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static inline void storem(float* p, M m, V v) { _mm512_mask_storeu_ps(p, m, v); }
  static inline void stream(float* p, V v) { _mm512_stream_ps(p, v); }
  static inline V column(const float* p, int64_t l, M m) {
    const __m512i idx = _mm512_add_epi32(
        _mm512_setr_epi32(0, 16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240),
        _mm512_set1_epi32(static_cast<int>(l)));
    return _mm512_mask_i32gather_ps(zero(), m, idx, p, 4);
  }
  static inline M tail(int64_t n) { return n >= W ? M(0xFFFF) : M((1u << n) - 1u); }
  static inline V sqrt(V x) { return _mm512_sqrt_ps(x); }
  static inline V min(V a, V b) { return _mm512_min_ps(a, b); }
  static inline V max(V a, V b) { return _mm512_max_ps(a, b); }
  static inline V acos(V x) { return Sleef_acosf16_u35avx512f(x); }
  static inline V asin(V x) { return Sleef_asinf16_u35avx512f(x); }
  template <math::AcosRange kRange = math::AcosRange::kAny>
  static NTK_ALWAYS_INLINE void acos_sin(V rho, V& theta, V& sn) {
    vmath::acos_sin<vmath::Lanes<float>, kRange>(rho, theta, sn);
  }
  static inline V exp(V x) { return Sleef_expf16_u10avx512f(x); }
  // The quadrature activations' φ and φ' (math/act_smooth.h).
  static inline V expm1(V x) { return Sleef_expm1f16_u10avx512f(x); }
  static inline V log1p(V x) { return Sleef_log1pf16_u10avx512f(x); }
  static inline V tanh(V x) { return Sleef_tanhf16_u10avx512f(x); }
  static inline M gt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static inline M lt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static inline M le(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
  static inline V blend(M m, V a, V b) { return _mm512_mask_blend_ps(m, a, b); }
  // Sum in double (two halves widened), so long readout sums lose nothing to float rounding.
  static inline double sum(V v) {
    __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    __m512d hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
    return _mm512_reduce_add_pd(lo) + _mm512_reduce_add_pd(hi);
  }
  static inline V abs(V v) { return _mm512_abs_ps(v); }
  static inline V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static inline V mul_add(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static inline bool any(M m) { return m != 0; }
  // As Simd<double>::exact_correlation, computed in double from the float inputs (as the reference engine
  // does).
  static inline void exact_correlation(M m, V c, V v1, V v2, V& rho, V& theta, V& sn) {
    using D = Simd<double>;
    __m512d r[2], th[2], s[2];
    for (int h = 0; h < 2; ++h) {
      const __m512d cd = _mm512_cvtps_pd(half(c, h)), a = _mm512_cvtps_pd(half(v1, h)),
                    b = _mm512_cvtps_pd(half(v2, h));
      __m512d rr = D::zero(), tt = D::zero(), ss = D::zero();
      D::exact_correlation(0xFF, cd, a, b, rr, tt, ss);
      r[h] = rr, th[h] = tt, s[h] = ss;
    }
    rho = blend(m, rho, join(r[0], r[1]));
    theta = blend(m, theta, join(th[0], th[1]));
    sn = blend(m, sn, join(s[0], s[1]));
  }
  static inline __m256 half(V v, int h) {
    return h == 0 ? _mm512_castps512_ps256(v) : _mm512_extractf32x8_ps(v, 1);
  }
  static inline V join(__m512d lo, __m512d hi) {
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(lo)), _mm512_cvtpd_ps(hi), 1);
  }
};

}  // namespace NTK_ISA
}  // namespace ntk::fast
