// erf(a, b, c) = a·erf(b·x) + c (Williams 1997; neural-tangents' Erf):
//   E[φ(u)φ(v)]   = a² (2/π) asin(2b²c / sqrt((1 + 2b²v1)(1 + 2b²v2))) + c0²
//   E[φ'(u)φ'(v)] = a² b² (4/π) / sqrt((1 + 2b²v1)(1 + 2b²v2) - 4b⁴c²)
// (c is Σ(x, x'), c0 the activation's shift.)
#pragma once

#include "layers/math/correlation.h"

namespace ntk::math {
inline namespace NTK_ISA {

struct ErfAct {
  static constexpr ActKind kKind = ActKind::kErf;

  template <class T>
  struct Consts {
    T two_b2, a2_2pi, a2b2_4pi, four_b4, c02;
  };
  template <class T>
  NTK_HD static void prepare(const ActParams& p, Consts<T>& k) {
    const double a = p.a, b = p.b;
    k.two_b2 = static_cast<T>(2 * b * b);
    k.a2_2pi = static_cast<T>(a * a * 2 / M_PI);
    k.a2b2_4pi = static_cast<T>(a * a * b * b * 4 / M_PI);
    k.four_b4 = static_cast<T>(4 * b * b * b * b);
    k.c02 = static_cast<T>(p.c * p.c);
  }

  NTK_HD static double f(const ActParams& p, double x) { return p.a * ::erf(p.b * x) + p.c; }
  NTK_HD static double df(const ActParams& p, double x) {
    return p.a * p.b * 2.0 / ::sqrt(M_PI) * ::exp(-p.b * p.b * x * x);
  }

  template <class S>
  NTK_HD static void map(const Consts<typename S::Scalar>& k, typename S::V& c, typename S::V& t,
                         bool with_ntk, const SelfLanes<S>& x1, const SelfLanes<S>& x2) {
    using V = typename S::V;
    using T = typename S::Scalar;
    const V one = S::set1(T(1)), mone = S::set1(T(-1));
    const V two_b2 = S::set1(k.two_b2);
    const V d1 = one + two_b2 * x1.q, d2 = one + two_b2 * x2.q;
    const V prod = d1 * d2;
    V arg = two_b2 * c / S::sqrt(prod);
    arg = S::min(S::max(arg, mone), one);
    if (with_ntk) t = t * (S::set1(k.a2b2_4pi) / S::sqrt(prod - S::set1(k.four_b4) * (c * c)));
    c = S::set1(k.a2_2pi) * S::asin(arg) + S::set1(k.c02);
  }
};

}  // namespace NTK_ISA
}  // namespace ntk::math
