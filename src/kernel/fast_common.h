// Shared pieces of the fast kernel engines (fast_fc.cpp, fast_cntk.cpp):
//   - the architecture, compiled into a flat list of FastStep (the closed-form maps of dense/conv layers, the
//     closed-form activations, layernorm, residual fork/join, the gap/flatten readouts); anything else makes
//     the compile fail and KernelEngine::create falls back to the reference engine;
//   - AVX-512 vector traits over float (16 lanes) and double (8 lanes): SLEEF's vector acos/asin/exp, and the
//     inline acos/sqrt of fast_math.h for the arc-cosine maps;
//   - the activation maps on vectors of pairs.
//
// Every vector routine is compiled for AVX-512 through `#pragma GCC target` (the rest of the library is not),
// and is only reached after KernelEngine::create has checked the CPU (fast_dispatch.cpp). The translation
// units are compiled with -ffp-contract=off so that one formula gives bit-identical results wherever it is
// inlined: the self-variances recorded by prepare() and the pair (i, i) computed by a tile then agree
// exactly, which makes the correlation of an input with itself exactly 1, as in the reference engine.
#pragma once

#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "kernel/fast_math.h"
#include "ntk/arch.h"
#include "ntk/error.h"
#include "ntk/kernel.h"
#include "ntk/kernel_engine.h"

extern "C" {
__m512d Sleef_acosd8_u35avx512f(__m512d);
__m512d Sleef_asind8_u35avx512f(__m512d);
__m512d Sleef_expd8_u10avx512f(__m512d);
__m512 Sleef_acosf16_u35avx512f(__m512);
__m512 Sleef_asinf16_u35avx512f(__m512);
__m512 Sleef_expf16_u10avx512f(__m512);
}

namespace ntk::fast {

enum class ActKind { kABRelu, kErf, kGelu, kSign, kSin };

struct FastStep {
  enum Kind { kAffine, kConv, kAct, kLayerNorm, kFork, kJoin, kGap, kFlatten };
  Kind kind = kAffine;
  // kAffine (dense) and kConv: Σ' = w2 · mean_in + b2, Θ' = own + w2 · Θ_mean, own = Σ' (NTK
  // parameterization) or n_in · mean_in + bias_term (standard), 0 when not trainable.
  double w2 = 1, b2 = 0, n_in = 1, bias_term = 0;
  bool trainable = true;
  // kConv (stride 1): k x k window, low-side padding, same or valid.
  int k = 1, pad_lo = 0;
  bool valid = false;
  // kAct
  ActKind act = ActKind::kABRelu;
  double a = 0, b = 1, c = 0;
  // kAct, kLayerNorm: index of the self-variance slot
  int slot = -1;
  // image size at the step's input (kConv, kAct, kLayerNorm on images; kGap/kFlatten)
  int64_t h = 1, w = 1;
};

struct FastPlan {
  bool ok = false;
  std::string why;  // reason for falling back (for tests and logs)
  std::vector<FastStep> steps;
  int slots = 0;
  int max_stack = 0;
  ExampleShape in;
  Parameterization param = Parameterization::kNtk;
};

// Compiles the architecture for the fast engines. `images`: the CNTK engine (image input; only stride-1
// same/valid convolutions, then one gap or flatten readout); otherwise the FC engine (vector input).
FastPlan compile_plan(const Architecture& arch, const ExampleShape& in, Parameterization p, bool images);

// compile_plan for x1, or nullopt with the reason in *why (outside the fast path, or residual blocks nested
// deeper than the engines' fixed stacks of 8).
std::optional<FastPlan> compile_fast_plan(const Architecture& arch, const Tensor& x1, Parameterization p,
                                          bool images, std::string* why);

}  // namespace ntk::fast

// ------------------------------------------------------------------------------------------------------------
// Vector code (AVX-512).
// GCC 12 false positives: the intrinsics' undefined pass-through operands (_mm512_maskz_loadu_*, and
// _mm512_min/max_pd once unrolled).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")

namespace ntk::fast {

template <class T>
struct Simd;

template <>
struct Simd<double> {
  using T = double;
  using V = __m512d;
  using M = __mmask8;
  static constexpr int W = 8;
  static constexpr double kEps = 2.220446049250313e-16;
  static inline V set1(double x) { return _mm512_set1_pd(x); }
  static inline V zero() { return _mm512_setzero_pd(); }
  static inline V load(const double* p) { return _mm512_loadu_pd(p); }
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
  template <vmath::AcosRange kRange = vmath::AcosRange::kAny>
  static inline void acos_sin(V rho, V& theta, V& sn) {
    vmath::acos_sin_pd<kRange>(rho, theta, sn);
  }
  static inline V exp(V x) { return Sleef_expd8_u10avx512f(x); }
  static inline M gt(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ); }
  static inline M lt(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ); }
  static inline M le(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_LE_OQ); }
  static inline V blend(M m, V a, V b) { return _mm512_mask_blend_pd(m, a, b); }  // m ? b : a
  static inline double sum(V v) { return _mm512_reduce_add_pd(v); }
  static inline V abs(V v) { return _mm512_abs_pd(v); }
  // a·b + c with one rounding. Written out where wanted: the engines are compiled with -ffp-contract=off, so
  // the same formula rounds the same way wherever it is inlined.
  static inline V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  // ρ = c / sqrt(v1 v2) (0 when v1 v2 = 0), θ = acos ρ, sqrt(1 - ρ²) on the lanes of m.
  static inline void exact_correlation(M m, V c, V v1, V v2, V& rho, V& theta, V& sn) {
    const V d = _mm512_sqrt_pd(v1 * v2);
    V r = c / d;
    r = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(d, zero(), _CMP_GT_OQ), zero(), r);
    r = min(max(r, set1(-1)), set1(1));
    rho = blend(m, rho, r);
    theta = blend(m, theta, acos(r));
    sn = blend(m, sn, sqrt(max(set1(1) - r * r, zero())));
  }
};

template <>
struct Simd<float> {
  using T = float;
  using V = __m512;
  using M = __mmask16;
  static constexpr int W = 16;
  static constexpr float kEps = 1.1920929e-07f;
  static inline V set1(float x) { return _mm512_set1_ps(x); }
  static inline V zero() { return _mm512_setzero_ps(); }
  static inline V load(const float* p) { return _mm512_loadu_ps(p); }
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
  template <vmath::AcosRange kRange = vmath::AcosRange::kAny>
  static inline void acos_sin(V rho, V& theta, V& sn) {
    vmath::acos_sin_ps<kRange>(rho, theta, sn);
  }
  static inline V exp(V x) { return Sleef_expf16_u10avx512f(x); }
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

// Per-slot self quantities stored for each input (and each position, for images), from its self-variance v:
//   activations: A = sqrt(v), B = 1 / sqrt(v) (0 when v = 0), Q = v;  layernorm: B = 1 / sqrt(v + eps).
template <class T>
inline void self_quantities(const FastStep& st, T v, T& a, T& b, T& q) {
  a = 0;
  b = 0;
  q = v;
  if (st.kind == FastStep::kLayerNorm) {
    b = static_cast<T>(1.0 / std::sqrt(static_cast<double>(v) + 1e-12));
    return;
  }
  const T s = std::sqrt(v > T(0) ? v : T(0));
  a = s;
  b = s > T(0) ? T(1) / s : T(0);
}

// Constants of one activation, as scalars (broadcast where used: containers of vector types would need
// 64-byte aligned allocation).
template <class S>
struct ActConsts {
  using T = typename S::T;
  T ab, dba2, near, two_b2, a2_2pi, a2b2_4pi, c02, four_b4, a2b2_half, a2_half, neg_half_b2, cos2c, dmin;
  bool relu;  // ABRelu with a = 0, b = 1
  explicit ActConsts(const FastStep& st) {
    const double a = st.a, b = st.b, c0 = st.c;
    ab = T(a * b);
    dba2 = T((b - a) * (b - a));
    near = std::is_same<T, float>::value ? T(1 - 1e-3) : T(1 - 1e-6);
    two_b2 = T(2 * b * b);
    a2_2pi = T(a * a * 2 / M_PI);
    a2b2_4pi = T(a * a * b * b * 4 / M_PI);
    c02 = T(c0 * c0);
    four_b4 = T(4 * b * b * b * b);
    a2b2_half = T(a * a * b * b * 0.5);
    a2_half = T(a * a * 0.5);
    neg_half_b2 = T(-0.5 * b * b);
    cos2c = T(std::cos(2 * c0));
    dmin = std::is_same<T, float>::value ? T(1e-37) : T(1e-300);
    relu = ab == T(0) && dba2 == T(1);
  }
};

// The correlation ρ = c · (1/sqrt v1) · (1/sqrt v2) of a vector of pairs, clamped to [-1, 1].
template <class S>
inline typename S::V clamped_correlation(typename S::V c, typename S::V r1, typename S::V r2) {
  using T = typename S::T;
  return S::min(S::max(c * (r1 * r2), S::set1(T(-1))), S::set1(T(1)));
}

// θ = acos ρ and sqrt(1 - ρ²) of a vector of correlations (from clamped_correlation; kRange as in
// vmath::acos_sin_pd). Lanes with |ρ| near 1, where θ is ill-conditioned, are recomputed as the reference
// engine does (c / sqrt(v1 v2), in double), so that an input's correlation with itself is exactly 1 and
// degenerate inputs (e.g. one channel) round the same way.
template <class S, vmath::AcosRange kRange = vmath::AcosRange::kAny>
__attribute__((always_inline)) inline void angle(const ActConsts<S>& k, typename S::V c, typename S::V v1,
                                                 typename S::V v2, typename S::V& rho, typename S::V& theta,
                                                 typename S::V& sn) {
  S::template acos_sin<kRange>(rho, theta, sn);
  const typename S::M near = S::gt(S::abs(rho), S::set1(k.near));
  if (near) S::exact_correlation(near, c, v1, v2, rho, theta, sn);
}

// Constants of one step as scalars (an activation's in `act`; inv_k2 = 1 / k² of a convolution's window).
template <class S>
struct StepConsts {
  using T = typename S::T;
  T w2, b2, n_in, bias, inv_k2;
  ActConsts<S> act;
  explicit StepConsts(const FastStep& st)
      : w2(T(st.w2)),
        b2(T(st.b2)),
        n_in(T(st.n_in)),
        bias(T(st.bias_term)),
        inv_k2(T(1) / static_cast<T>(st.k * st.k)),
        act(st) {}
};

// The map of a dense layer (and of a convolution on the window means c and t): Σ' = w2 · c + b2,
// Θ' = own + w2 · Θ with own = Σ' (NTK parameterization) or n_in · c + bias (standard), 0 when not trainable.
template <class S>
inline void affine_map(const StepConsts<S>& k, const FastStep& st, bool ntk_param, typename S::V& c,
                       typename S::V& t, bool with_ntk) {
  using V = typename S::V;
  const V w2 = S::set1(k.w2);
  const V sigma = S::fma(w2, c, S::set1(k.b2));
  if (with_ntk) {
    V own = S::zero();
    if (st.trainable) own = ntk_param ? sigma : S::fma(S::set1(k.n_in), c, S::set1(k.bias));
    t = S::fma(w2, t, own);
  }
  c = sigma;
}

// ABRelu (a·min(x, 0) + b·max(x, 0)) on a vector of pairs with correlations rho: the arc-cosine kernels of
// degree 1 (Σ) and 0 (the derivative, for Θ). kRelu (a = 0, b = 1) leaves out the terms that are then exact
// identities (a zero product added, a factor one), so it equals the general formula bit for bit.
template <class S, vmath::AcosRange kRange, bool kRelu>
__attribute__((always_inline)) inline void arc_cosine_map(const ActConsts<S>& k, typename S::V rho,
                                                          typename S::V& c, typename S::V& t, bool with_ntk,
                                                          typename S::V a1, typename S::V q1,
                                                          typename S::V a2, typename S::V q2) {
  using V = typename S::V;
  using T = typename S::T;
  const V pi = S::set1(T(M_PI)), inv2pi = S::set1(T(1.0 / (2 * M_PI)));
  V theta, sn;
  angle<S, kRange>(k, c, q1, q2, rho, theta, sn);
  const V pt = pi - theta;
  const V d = a1 * a2;
  const V ff = d * S::fma(pt, rho, sn) * inv2pi;
  if (kRelu) {
    if (with_ntk) t = t * (pt * inv2pi);
    c = ff;
  } else {
    const V ab = S::set1(k.ab), dba2 = S::set1(k.dba2);
    if (with_ntk) t = t * S::fma(dba2, pt * inv2pi, ab);
    c = S::fma(ab, c, dba2 * ff);
  }
}

// arc_cosine_map on R rows of pairs together: row r is input i0 + r (scalars A1, B1, Q1 at [r]) against the
// same vector of inputs (a2, b2, q2). The rows' dependency chains are independent and unrolled side by side,
// and when every lane of every row has ρ in (1/2, 1] (deep ReLU networks) or in [-1/2, 1/2], acos_sin skips
// the other branch's work. Bit for bit apply_act on each row.
template <class S, int R, bool kRelu>
inline void arc_cosine_rows(const ActConsts<S>& k, typename S::V* c, typename S::V* t, bool with_ntk,
                            const typename S::T* A1, const typename S::T* B1, const typename S::T* Q1,
                            typename S::V a2, typename S::V b2, typename S::V q2) {
  using V = typename S::V;
  using T = typename S::T;
  using M = typename S::M;
  using vmath::AcosRange;
  V rho[R];
  const V half = S::set1(T(0.5));
  M upper = S::tail(S::W), central = S::tail(S::W);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    rho[r] = clamped_correlation<S>(c[r], S::set1(B1[r]), b2);
    upper &= S::gt(rho[r], half);
    central &= S::le(S::abs(rho[r]), half);
  }
  auto all_rows = [&](auto range) {
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
      arc_cosine_map<S, decltype(range)::value, kRelu>(k, rho[r], c[r], t[r], with_ntk, S::set1(A1[r]),
                                                       S::set1(Q1[r]), a2, q2);
  };
  if (upper == S::tail(S::W))
    all_rows(std::integral_constant<AcosRange, AcosRange::kUpper>());
  else if (central == S::tail(S::W))
    all_rows(std::integral_constant<AcosRange, AcosRange::kCentral>());
  else
    all_rows(std::integral_constant<AcosRange, AcosRange::kAny>());
}

// One activation on a vector of pairs. c, t: Σ and Θ (updated); (a1, b1), (a2, b2): the self quantities of
// the two inputs (see self_quantities).
template <class S>
inline void apply_act(const FastStep& st, const ActConsts<S>& k, typename S::V& c, typename S::V& t,
                      bool with_ntk, typename S::V a1, typename S::V b1, typename S::V q1, typename S::V a2,
                      typename S::V b2, typename S::V q2) {
  using V = typename S::V;
  using T = typename S::T;
  const V one = S::set1(T(1)), mone = S::set1(T(-1)), zero = S::zero();
  const V inv2pi = S::set1(T(1.0 / (2 * M_PI))), two_pi = S::set1(T(2 * M_PI));
  switch (st.act) {
    case ActKind::kABRelu:
      arc_cosine_map<S, vmath::AcosRange::kAny, false>(k, clamped_correlation<S>(c, b1, b2), c, t, with_ntk,
                                                       a1, q1, a2, q2);
      break;
    case ActKind::kSign: {
      const V rho = S::min(S::max(c * (b1 * b2), mone), one);
      const auto near = S::gt(S::abs(rho), S::set1(k.near));
      V e = S::set1(T(2 / M_PI)) * S::asin(rho);
      if (near) {
        // asin ρ = sign(ρ) (π/2 - acos |ρ|) with the angle of the exact correlation
        V r2 = rho, th, sn;
        S::exact_correlation(near, c, q1, q2, r2, th, sn);
        const V hp = S::set1(T(M_PI / 2));
        e = S::blend(near, e, S::set1(T(2 / M_PI)) * (hp - th));  // asin = π/2 - acos
      }
      c = e;
      if (with_ntk) t = zero;
      break;
    }
    case ActKind::kErf: {
      const V two_b2 = S::set1(k.two_b2);
      const V d1 = one + two_b2 * q1, d2 = one + two_b2 * q2;
      const V prod = d1 * d2;
      V arg = two_b2 * c / S::sqrt(prod);
      arg = S::min(S::max(arg, mone), one);
      if (with_ntk) t = t * (S::set1(k.a2b2_4pi) / S::sqrt(prod - S::set1(k.four_b4) * (c * c)));
      c = S::set1(k.a2_2pi) * S::asin(arg) + S::set1(k.c02);
      break;
    }
    case ActKind::kGelu: {
      const V p1 = one + q1, p2 = one + q2;
      const V s = p1 * p2;
      const V D = S::max(s - c * c, S::set1(k.dmin));
      V arg = c / S::sqrt(s);
      arg = S::min(S::max(arg, mone), one);
      const V P = S::set1(T(0.25)) + S::asin(arg) * inv2pi;
      const V sd = S::sqrt(D);
      const V v12 = q1 * q2;
      const V ff = c * P + (v12 + c * c * (one - v12) / s) / (two_pi * sd);
      if (with_ntk) {
        const V dd = P + c * (one / p1 + one / p2) / (two_pi * sd) + c / (two_pi * D * sd);
        t = t * dd;
      }
      c = ff;
      break;
    }
    case ActKind::kSin: {
      const V sumv = q1 + q2, nh = S::set1(k.neg_half_b2);
      const V m = S::exp(nh * (sumv - (c + c)));
      const V p = S::exp(nh * (sumv + (c + c))) * S::set1(k.cos2c);
      if (with_ntk) t = t * (S::set1(k.a2b2_half) * (m + p));
      c = S::set1(k.a2_half) * (m - p);
      break;
    }
  }
}

}  // namespace ntk::fast

#pragma GCC pop_options
