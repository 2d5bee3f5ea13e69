// gelu(x) = x·Φ(x), exact. Gaussian integration by parts (docs/kernels.md) gives, with
// s = (1 + v1)(1 + v2), D = s - c², P = 1/4 + asin(c / sqrt(s)) / (2π):
//   E[φ(u)φ(v)]   = c·P + (v1 v2 + c² (1 - v1 v2) / s) / (2π sqrt(D))
//   E[φ'(u)φ'(v)] = P + c (1/(1 + v1) + 1/(1 + v2)) / (2π sqrt(D)) + c / (2π D^(3/2))
#pragma once

#include "layers/math/correlation.h"

namespace ntk::math {
inline namespace NTK_ISA {

struct GeluAct {
  static constexpr ActKind kKind = ActKind::kGelu;

  template <class T>
  struct Consts {
    T dmin;  // D is kept above this (D → 0 only for identical inputs of infinite variance)
  };
  template <class T>
  NTK_HD static void prepare(const ActParams&, Consts<T>& k) {
    k.dmin = sizeof(T) == 4 ? T(1e-37) : T(1e-300);
  }

  NTK_HD static double f(const ActParams&, double x) { return x * 0.5 * ::erfc(-x / ::sqrt(2.0)); }
  NTK_HD static double df(const ActParams&, double x) {
    return 0.5 * ::erfc(-x / ::sqrt(2.0)) + x * ::exp(-0.5 * x * x) / ::sqrt(2 * M_PI);
  }

  template <class S>
  NTK_HD static void map(const Consts<typename S::Scalar>& k, typename S::V& c, typename S::V& t,
                         bool with_ntk, const SelfLanes<S>& x1, const SelfLanes<S>& x2) {
    using V = typename S::V;
    using T = typename S::Scalar;
    const V one = S::set1(T(1)), mone = S::set1(T(-1));
    const V inv2pi = S::set1(T(1.0 / (2 * M_PI))), two_pi = S::set1(T(2 * M_PI));
    const V p1 = one + x1.q, p2 = one + x2.q;
    const V s = p1 * p2;
    const V D = S::max(s - c * c, S::set1(k.dmin));
    V arg = c / S::sqrt(s);
    arg = S::min(S::max(arg, mone), one);
    const V P = S::set1(T(0.25)) + S::asin(arg) * inv2pi;
    const V sd = S::sqrt(D);
    const V v12 = x1.q * x2.q;
    const V ff = c * P + (v12 + c * c * (one - v12) / s) / (two_pi * sd);
    if (with_ntk) {
      const V dd = P + c * (one / p1 + one / p2) / (two_pi * sd) + c / (two_pi * D * sd);
      t = t * dd;
    }
    c = ff;
  }
};

}  // namespace NTK_ISA
}  // namespace ntk::math
