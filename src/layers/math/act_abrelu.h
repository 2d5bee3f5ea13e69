// abrelu(a, b) = a·min(x, 0) + b·max(x, 0) = a·x + (b - a)·relu(x), and its special cases relu (0, 1),
// leaky_relu(α) (α, 1), abs (-1, 1). With ρ = c / sqrt(v1 v2) = cos θ (Cho & Saul 2009, the arc-cosine
// kernels of degree 1 and 0):
//   E[φ(u)φ(v)]   = a·b·c + (b - a)² · sqrt(v1 v2) · (sin θ + (π - θ) cos θ) / (2π)
//   E[φ'(u)φ'(v)] = a·b + (b - a)² · (π - θ) / (2π)
#pragma once

#include "layers/math/correlation.h"

namespace ntk::math {
inline namespace NTK_ISA {

struct ABReluAct {
  static constexpr ActKind kKind = ActKind::kABRelu;

  template <class T>
  struct Consts {
    T ab, dba2;  // a·b, (b - a)²
    bool relu;   // a = 0, b = 1
  };
  template <class T>
  NTK_HD static void prepare(const ActParams& p, Consts<T>& k) {
    k.ab = static_cast<T>(p.a * p.b);
    k.dba2 = static_cast<T>((p.b - p.a) * (p.b - p.a));
    k.relu = k.ab == T(0) && k.dba2 == T(1);
  }

  NTK_HD static double f(const ActParams& p, double x) { return x > 0 ? p.b * x : p.a * x; }
  NTK_HD static double df(const ActParams& p, double x) { return x > 0 ? p.b : p.a; }

  // The map on a vector of pairs whose correlations rho (from clamped_correlation) are given. kRange: which
  // correlations may occur (AcosRange); kRelu (a = 0, b = 1) leaves out the terms that are then exact
  // identities (a zero product added, a factor one), so it equals the general formula bit for bit. kExact:
  // as in angle.
  template <class S, AcosRange kRange, bool kRelu, bool kExact = true>
  NTK_HD NTK_ALWAYS_INLINE static void map_correlated(const Consts<typename S::Scalar>& k, typename S::V rho,
                                                      typename S::V& c, typename S::V& t, bool with_ntk,
                                                      typename S::V a1, typename S::V q1, typename S::V a2,
                                                      typename S::V q2) {
    using V = typename S::V;
    using T = typename S::Scalar;
    const V pi = S::set1(T(M_PI)), inv2pi = S::set1(T(1.0 / (2 * M_PI)));
    V theta, sn;
    angle<S, kRange, kExact>(c, q1, q2, rho, theta, sn);
    const V pt = pi - theta;
    const V d = a1 * a2;
    const V ff = d * S::mul_add(pt, rho, sn) * inv2pi;
    if (kRelu) {
      if (with_ntk) t = t * (pt * inv2pi);
      c = ff;
    } else {
      const V ab = S::set1(k.ab), dba2 = S::set1(k.dba2);
      if (with_ntk) t = t * S::mul_add(dba2, pt * inv2pi, ab);
      c = S::mul_add(ab, c, dba2 * ff);
    }
  }

  template <class S>
  NTK_HD static void map(const Consts<typename S::Scalar>& k, typename S::V& c, typename S::V& t,
                         bool with_ntk, const SelfLanes<S>& x1, const SelfLanes<S>& x2) {
    map_correlated<S, AcosRange::kAny, false>(k, clamped_correlation<S>(c, x1.b, x2.b), c, t, with_ntk, x1.a,
                                              x1.q, x2.a, x2.q);
  }
};

}  // namespace NTK_ISA
}  // namespace ntk::math
