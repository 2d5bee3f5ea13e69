// Lane types for the layer math (src/layers/math/*.h). Every closed-form map is written once, as an inline
// template over a lane type S that provides a vector V of S::W values of type S::T, a mask M, and the handful
// of operations the maps use. Three lane types exist or are planned:
//   - ScalarLanes<T> (here): one value, plain C++ math; the reference engine (in double) and the CUDA engine
//     (one thread per value, through NTK_HD);
//   - Simd<T> (src/kernel/simd_avx512.h, simd_avx2.h): AVX-512 or AVX2 vectors of doubles or floats, for the
//     fast CPU engines;
// so the math headers use no std containers, no exceptions and no virtual calls, and mark every function
// NTK_HD.
#pragma once

#include <cmath>

#include "ntk/layer_step.h"

// Each instruction set compiles this math in its own inline namespace, ntk::math::NTK_ISA: a translation unit
// of the fast engines defines NTK_ISA (avx512, avx2; cuda for the device code) before it includes any of
// these headers, inside its `#pragma GCC target` region, so that its instantiations (scalar ones included)
// never merge at link time with the baseline ones the reference engine uses (src/kernel/fast_isa.h).
#ifndef NTK_ISA
#define NTK_ISA generic
#endif
#define NTK_STRINGIFY_(x) #x
#define NTK_STRINGIFY(x) NTK_STRINGIFY_(x)

#if defined(__CUDACC__)
#define NTK_HD __host__ __device__
#define NTK_ALWAYS_INLINE __forceinline__
#else
#define NTK_HD
#define NTK_ALWAYS_INLINE __attribute__((always_inline)) inline
#endif

namespace ntk::math {
inline namespace NTK_ISA {

// The descriptor types (ntk/layer_step.h) under their short names.
using ntk::ActKind;
using ntk::ActParams;
using ntk::AffineParams;
using ntk::LayerStep;
using ntk::Padding;
using ntk::StepKind;
using ntk::WindowParams;

// Which correlations ρ a call of acos_sin may see. kAny: all of [-1, 1]. The others let a caller that has
// checked a whole vector drop the other branch's work: kUpper, every lane in (1/2, 1] (deep ReLU networks,
// where correlations climb towards 1); kCentral, every lane in [-1/2, 1/2]. On its range each gives bit for
// bit the result of kAny.
enum class AcosRange { kAny, kUpper, kCentral };

// sqrt(v1 v2) for v1, v2 >= 0, rounded as if the product were formed exactly in range: outside double's
// normal range (variances beyond 1e154 or below 1e-154) both factors are first scaled by even powers of two,
// which is exact, so that an input's correlation with itself stays exactly 1 at any scale.
NTK_HD inline double sqrt_product(double v1, double v2) {
  const double p = v1 * v2;
  if ((p <= 1.7976931348623157e308 && p >= 2.2250738585072014e-308) || v1 == 0 || v2 == 0) return ::sqrt(p);
  const int k1 = ::ilogb(v1) & ~1, k2 = ::ilogb(v2) & ~1;
  return ::ldexp(::sqrt(::ldexp(v1, -k1) * ::ldexp(v2, -k2)), (k1 + k2) / 2);
}

template <class T>
struct ScalarLanes {
  using Scalar = T;
  using V = T;
  using M = bool;
  static constexpr int W = 1;
  NTK_HD static V set1(T x) { return x; }
  NTK_HD static V zero() { return T(0); }
  // a·b + c. Scalar code is built for the baseline ISA, where a fused multiply-add is a library call: two
  // roundings here (the vector lane types fuse).
  NTK_HD static V mul_add(V a, V b, V c) { return a * b + c; }
  NTK_HD static V sqrt(V x) { return ::sqrt(x); }
  NTK_HD static V min(V a, V b) { return a < b ? a : b; }
  NTK_HD static V max(V a, V b) { return a > b ? a : b; }
  NTK_HD static V abs(V a) { return ::fabs(a); }
  NTK_HD static V acos(V x) { return ::acos(x); }
  NTK_HD static V asin(V x) { return ::asin(x); }
  NTK_HD static V exp(V x) { return ::exp(x); }
  NTK_HD static V expm1(V x) { return ::expm1(x); }
  NTK_HD static V log1p(V x) { return ::log1p(x); }
  NTK_HD static V tanh(V x) { return ::tanh(x); }
  NTK_HD static V load(const T* p) { return *p; }
  NTK_HD static T sum(V x) { return x; }
  NTK_HD static M gt(V a, V b) { return a > b; }
  NTK_HD static M le(V a, V b) { return a <= b; }
  NTK_HD static V blend(M m, V a, V b) { return m ? b : a; }  // m ? b : a, as the vector types
  NTK_HD static bool any(M m) { return m; }
  // θ = acos ρ and sqrt(1 - ρ²) (every range is the general one here).
  template <AcosRange kRange = AcosRange::kAny>
  NTK_HD static void acos_sin(V rho, V& theta, V& sn) {
    theta = ::acos(rho);
    sn = ::sqrt(max(T(1) - rho * rho, T(0)));
  }
  // ρ = c / sqrt(v1 v2) (0 when v1 v2 = 0) clamped to [-1, 1], θ = acos ρ, sqrt(1 - ρ²), computed in double
  // (the exact path of the correlation near ±1, see math/correlation.h).
  NTK_HD static void exact_correlation(M m, V c, V v1, V v2, V& rho, V& theta, V& sn) {
    if (!m) return;
    const double d = sqrt_product(static_cast<double>(v1), static_cast<double>(v2));
    double r = d > 0 ? static_cast<double>(c) / d : 0.0;
    r = r < -1 ? -1 : (r > 1 ? 1 : r);
    rho = static_cast<T>(r);
    theta = static_cast<T>(::acos(r));
    const double s = 1 - r * r;
    sn = static_cast<T>(::sqrt(s > 0 ? s : 0.0));
  }
  static constexpr T kEpsilon = sizeof(T) == 4 ? T(1.1920929e-07) : T(2.220446049250313e-16);
};

}  // namespace NTK_ISA
}  // namespace ntk::math
