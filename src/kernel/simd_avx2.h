// The AVX2 + FMA lane types of the fast engines, for x86-64 CPUs without AVX-512 (AMD Zen 1-3, Intel client
// cores, virtual machines that hide AVX-512): vmath::Lanes<T> and Simd<T> as in simd_avx512.h, over 4 float64
// or 8 float32 lanes. AVX2 has no mask registers, so Simd's masks M are bitmasks like AVX-512's (lane l is
// bit l; the engines test and combine them as integers) and are widened to vector masks where an instruction
// needs one. Include only inside an AVX2 target region with NTK_ISA = avx2 (see fast_isa.h).
#pragma once

#include <immintrin.h>

extern "C" {
__m256d Sleef_acosd4_u35avx2(__m256d);
__m256d Sleef_asind4_u35avx2(__m256d);
__m256d Sleef_expd4_u10avx2(__m256d);
__m256d Sleef_expm1d4_u10avx2(__m256d);
__m256d Sleef_log1pd4_u10avx2(__m256d);
__m256d Sleef_tanhd4_u10avx2(__m256d);
__m256 Sleef_acosf8_u35avx2(__m256);
__m256 Sleef_asinf8_u35avx2(__m256);
__m256 Sleef_expf8_u10avx2(__m256);
__m256 Sleef_expm1f8_u10avx2(__m256);
__m256 Sleef_log1pf8_u10avx2(__m256);
__m256 Sleef_tanhf8_u10avx2(__m256);
}

#include "kernel/fast_math.h"

namespace ntk::fast {
namespace NTK_ISA {
namespace vmath {

template <>
struct Lanes<double> {
  using T = double;
  using V = __m256d;
  using M = __m256d;  // a vector mask (all bits of a lane set)
  static constexpr const double* kAsinP = kAsinP64;
  static constexpr int kAsinDegree = 11;
  static constexpr double kSmallestNormal = 2.2250738585072014e-308;
  static constexpr double kPi = 3.141592653589793, kHalfPi = 1.5707963267948966;
  static V set1(double x) { return _mm256_set1_pd(x); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  static V sub(V a, V b) { return _mm256_sub_pd(a, b); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V fnma(V a, V b, V c) { return _mm256_fnmadd_pd(a, b, c); }
  static V abs(V a) { return _mm256_andnot_pd(_mm256_set1_pd(-0.0), a); }
  static V blend(M m, V a, V b) { return _mm256_blendv_pd(a, b, m); }
  static M gt(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_GT_OQ); }
  static M ge(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_GE_OQ); }
  static M lt(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_LT_OQ); }
  // No reciprocal-square-root estimate for float64 in AVX2: the divider's correctly rounded root.
  static V sqrt_fast(V x) { return _mm256_sqrt_pd(x); }
  static V sin_root(V x) { return _mm256_sqrt_pd(x); }
};

template <>
struct Lanes<float> {
  using T = float;
  using V = __m256;
  using M = __m256;
  static constexpr const float* kAsinP = kAsinP32;
  static constexpr int kAsinDegree = 4;
  static constexpr float kSmallestNormal = 1.17549435e-38f;
  static constexpr float kPi = 3.14159265f, kHalfPi = 1.57079633f;
  static V set1(float x) { return _mm256_set1_ps(x); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V fnma(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }
  static V abs(V a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  static V blend(M m, V a, V b) { return _mm256_blendv_ps(a, b, m); }
  static M gt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  static M ge(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
  static M lt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  // The 12-bit rsqrt estimate plus corrections would cost as much as the 8-lane root, which is cheap here.
  static V sqrt_fast(V x) { return _mm256_sqrt_ps(x); }
  static V sin_root(V x) { return _mm256_sqrt_ps(x); }
};

}  // namespace vmath

template <class T>
struct Simd;

template <>
struct Simd<double> {
  using T = double;
  using Scalar = double;
  using V = __m256d;
  using M = unsigned;  // bit l: lane l
  static constexpr int W = 4;
  static constexpr unsigned kFull = 0xF;
  static inline __m256d vmask(M m) {
    const __m256i bits = _mm256_setr_epi64x(1, 2, 4, 8);
    return _mm256_castsi256_pd(
        _mm256_cmpeq_epi64(_mm256_and_si256(_mm256_set1_epi64x(static_cast<long long>(m)), bits), bits));
  }
  static inline M bits(__m256d v) { return static_cast<M>(_mm256_movemask_pd(v)); }
  static inline V set1(double x) { return _mm256_set1_pd(x); }
  static inline V zero() { return _mm256_setzero_pd(); }
  static inline V load(const double* p) { return _mm256_loadu_pd(p); }
  // p[0], p[2], ..., p[2W - 2] (reads p[0 .. 2W)).
  static inline V load_even(const double* p) {
    return _mm256_permute4x64_pd(_mm256_unpacklo_pd(load(p), load(p + 4)), _MM_SHUFFLE(3, 1, 2, 0));
  }
  static inline V loadm(M m, const double* p) {
    return m == kFull ? _mm256_loadu_pd(p) : _mm256_maskload_pd(p, _mm256_castpd_si256(vmask(m)));
  }
  static inline void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  static inline void storem(double* p, M m, V v) {
    if (m == kFull)
      _mm256_storeu_pd(p, v);
    else
      _mm256_maskstore_pd(p, _mm256_castpd_si256(vmask(m)), v);
  }
  static inline void stream(double* p, V v) { _mm256_stream_pd(p, v); }  // p 32-byte aligned
  // Lane r = p[r * W + l] for the lanes of m: column l of a row-major W x W block.
  static inline V column(const double* p, int64_t l, M m) {
    const __m128i idx = _mm_add_epi32(_mm_setr_epi32(0, 4, 8, 12), _mm_set1_epi32(static_cast<int>(l)));
    return _mm256_mask_i32gather_pd(zero(), p, idx, vmask(m), 8);
  }
  static inline M tail(int64_t n) { return n >= W ? kFull : M((1u << n) - 1u); }
  static inline V sqrt(V x) { return _mm256_sqrt_pd(x); }
  static inline V min(V a, V b) { return _mm256_min_pd(a, b); }
  static inline V max(V a, V b) { return _mm256_max_pd(a, b); }
  static inline V acos(V x) { return Sleef_acosd4_u35avx2(x); }
  static inline V asin(V x) { return Sleef_asind4_u35avx2(x); }
  template <math::AcosRange kRange = math::AcosRange::kAny>
  static NTK_ALWAYS_INLINE void acos_sin(V rho, V& theta, V& sn) {
    vmath::acos_sin<vmath::Lanes<double>, kRange>(rho, theta, sn);
  }
  static inline V exp(V x) { return Sleef_expd4_u10avx2(x); }
  // The quadrature activations' φ and φ' (math/act_smooth.h).
  static inline V expm1(V x) { return Sleef_expm1d4_u10avx2(x); }
  static inline V log1p(V x) { return Sleef_log1pd4_u10avx2(x); }
  static inline V tanh(V x) { return Sleef_tanhd4_u10avx2(x); }
  static inline M gt(V a, V b) { return bits(_mm256_cmp_pd(a, b, _CMP_GT_OQ)); }
  static inline M lt(V a, V b) { return bits(_mm256_cmp_pd(a, b, _CMP_LT_OQ)); }
  static inline M le(V a, V b) { return bits(_mm256_cmp_pd(a, b, _CMP_LE_OQ)); }
  static inline V blend(M m, V a, V b) { return _mm256_blendv_pd(a, b, vmask(m)); }  // m ? b : a
  static inline double sum(V v) {
    const __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
  }
  static inline V abs(V v) { return _mm256_andnot_pd(_mm256_set1_pd(-0.0), v); }
  static inline V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static inline V mul_add(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static inline bool any(M m) { return m != 0; }
  // ρ = c / sqrt(v1 v2) (0 when v1 v2 = 0), θ = acos ρ, sqrt(1 - ρ²) on the lanes of m.
  static inline void exact_correlation(M m, V c, V v1, V v2, V& rho, V& theta, V& sn) {
    const V p = _mm256_mul_pd(v1, v2);
    V d = _mm256_sqrt_pd(p);
    // Outside double's normal range (variances beyond 1e154 or below 1e-154): math::sqrt_product per lane.
    const int out =
        _mm256_movemask_pd(_mm256_or_pd(_mm256_cmp_pd(p, set1(1.7976931348623157e308), _CMP_NLE_UQ),
                                        _mm256_cmp_pd(p, set1(2.2250738585072014e-308), _CMP_LT_OQ)));
    if (out) {
      alignas(32) double a[4], b[4], r[4];
      _mm256_store_pd(a, v1);
      _mm256_store_pd(b, v2);
      _mm256_store_pd(r, d);
      for (int l = 0; l < 4; ++l)
        if (out >> l & 1) r[l] = math::sqrt_product(a[l], b[l]);
      d = _mm256_load_pd(r);
    }
    V r = _mm256_div_pd(c, d);
    r = _mm256_blendv_pd(zero(), r, _mm256_cmp_pd(d, zero(), _CMP_GT_OQ));
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
  using V = __m256;
  using M = unsigned;
  static constexpr int W = 8;
  static constexpr unsigned kFull = 0xFF;
  static inline __m256 vmask(M m) {
    const __m256i bits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    return _mm256_castsi256_ps(
        _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(static_cast<int>(m)), bits), bits));
  }
  static inline M bits(__m256 v) { return static_cast<M>(_mm256_movemask_ps(v)); }
  static inline V set1(float x) { return _mm256_set1_ps(x); }
  static inline V zero() { return _mm256_setzero_ps(); }
  static inline V load(const float* p) { return _mm256_loadu_ps(p); }
  // p[0], p[2], ..., p[2W - 2] (reads p[0 .. 2W)).
  static inline V load_even(const float* p) {
    const __m256 pairs = _mm256_shuffle_ps(load(p), load(p + 8), _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(pairs), _MM_SHUFFLE(3, 1, 2, 0)));
  }
  static inline V loadm(M m, const float* p) {
    return m == kFull ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, _mm256_castps_si256(vmask(m)));
  }
  static inline void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static inline void storem(float* p, M m, V v) {
    if (m == kFull)
      _mm256_storeu_ps(p, v);
    else
      _mm256_maskstore_ps(p, _mm256_castps_si256(vmask(m)), v);
  }
  static inline void stream(float* p, V v) { _mm256_stream_ps(p, v); }
  static inline V column(const float* p, int64_t l, M m) {
    const __m256i idx = _mm256_add_epi32(_mm256_setr_epi32(0, 8, 16, 24, 32, 40, 48, 56),
                                         _mm256_set1_epi32(static_cast<int>(l)));
    return _mm256_mask_i32gather_ps(zero(), p, idx, vmask(m), 4);
  }
  static inline M tail(int64_t n) { return n >= W ? kFull : M((1u << n) - 1u); }
  static inline V sqrt(V x) { return _mm256_sqrt_ps(x); }
  static inline V min(V a, V b) { return _mm256_min_ps(a, b); }
  static inline V max(V a, V b) { return _mm256_max_ps(a, b); }
  static inline V acos(V x) { return Sleef_acosf8_u35avx2(x); }
  static inline V asin(V x) { return Sleef_asinf8_u35avx2(x); }
  template <math::AcosRange kRange = math::AcosRange::kAny>
  static NTK_ALWAYS_INLINE void acos_sin(V rho, V& theta, V& sn) {
    vmath::acos_sin<vmath::Lanes<float>, kRange>(rho, theta, sn);
  }
  static inline V exp(V x) { return Sleef_expf8_u10avx2(x); }
  // The quadrature activations' φ and φ' (math/act_smooth.h).
  static inline V expm1(V x) { return Sleef_expm1f8_u10avx2(x); }
  static inline V log1p(V x) { return Sleef_log1pf8_u10avx2(x); }
  static inline V tanh(V x) { return Sleef_tanhf8_u10avx2(x); }
  static inline M gt(V a, V b) { return bits(_mm256_cmp_ps(a, b, _CMP_GT_OQ)); }
  static inline M lt(V a, V b) { return bits(_mm256_cmp_ps(a, b, _CMP_LT_OQ)); }
  static inline M le(V a, V b) { return bits(_mm256_cmp_ps(a, b, _CMP_LE_OQ)); }
  static inline V blend(M m, V a, V b) { return _mm256_blendv_ps(a, b, vmask(m)); }
  // Sum in double (the halves widened), so long readout sums lose nothing to float rounding.
  static inline double sum(V v) {
    const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v)),
                  hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    return Simd<double>::sum(lo) + Simd<double>::sum(hi);
  }
  static inline V abs(V v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }
  static inline V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static inline V mul_add(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static inline bool any(M m) { return m != 0; }
  // As Simd<double>::exact_correlation, computed in double from the float inputs (as the reference engine).
  static inline void exact_correlation(M m, V c, V v1, V v2, V& rho, V& theta, V& sn) {
    using D = Simd<double>;
    __m256d r[2], th[2], s[2];
    for (int h = 0; h < 2; ++h) {
      const __m256d cd = _mm256_cvtps_pd(half(c, h)), a = _mm256_cvtps_pd(half(v1, h)),
                    b = _mm256_cvtps_pd(half(v2, h));
      __m256d rr = D::zero(), tt = D::zero(), ss = D::zero();
      D::exact_correlation(D::kFull, cd, a, b, rr, tt, ss);
      r[h] = rr, th[h] = tt, s[h] = ss;
    }
    rho = blend(m, rho, join(r[0], r[1]));
    theta = blend(m, theta, join(th[0], th[1]));
    sn = blend(m, sn, join(s[0], s[1]));
  }
  static inline __m128 half(V v, int h) {
    return h == 0 ? _mm256_castps256_ps128(v) : _mm256_extractf128_ps(v, 1);
  }
  static inline V join(__m256d lo, __m256d hi) {
    return _mm256_set_m128(_mm256_cvtpd_ps(hi), _mm256_cvtpd_ps(lo));
  }
};

}  // namespace NTK_ISA
}  // namespace ntk::fast
