// sin(a, b, c) = a·sin(b·x + c0). With m = exp(-b²(v1 + v2 - 2c)/2) and p = exp(-b²(v1 + v2 + 2c)/2)·cos 2c0:
//   E[φ(u)φ(v)]   = a² (m - p) / 2
//   E[φ'(u)φ'(v)] = a² b² (m + p) / 2
#pragma once

#include "layers/math/correlation.h"

namespace ntk::math {
inline namespace NTK_ISA {

struct SinAct {
  static constexpr ActKind kKind = ActKind::kSin;

  template <class T>
  struct Consts {
    T neg_half_b2, cos2c, a2_half, a2b2_half;
  };
  template <class T>
  NTK_HD static void prepare(const ActParams& p, Consts<T>& k) {
    k.neg_half_b2 = static_cast<T>(-0.5 * p.b * p.b);
    k.cos2c = static_cast<T>(::cos(2 * p.c));
    k.a2_half = static_cast<T>(p.a * p.a * 0.5);
    k.a2b2_half = static_cast<T>(p.a * p.a * p.b * p.b * 0.5);
  }

  NTK_HD static double f(const ActParams& p, double x) { return p.a * ::sin(p.b * x + p.c); }
  NTK_HD static double df(const ActParams& p, double x) { return p.a * p.b * ::cos(p.b * x + p.c); }

  template <class S>
  NTK_HD static void map(const Consts<typename S::Scalar>& k, typename S::V& c, typename S::V& t,
                         bool with_ntk, const SelfLanes<S>& x1, const SelfLanes<S>& x2) {
    using V = typename S::V;
    const V sumv = x1.q + x2.q, nh = S::set1(k.neg_half_b2);
    const V m = S::exp(nh * (sumv - (c + c)));
    const V p = S::exp(nh * (sumv + (c + c))) * S::set1(k.cos2c);
    if (with_ntk) t = t * (S::set1(k.a2b2_half) * (m + p));
    c = S::set1(k.a2_half) * (m - p);
  }
};

}  // namespace NTK_ISA
}  // namespace ntk::math
