// sign(x): E[φ(u)φ(v)] = (2/π) asin ρ. Its derivative vanishes almost everywhere, so it adds nothing to Θ
// (as neural-tangents' Sign).
#pragma once

#include "layers/math/correlation.h"

namespace ntk::math {
inline namespace NTK_ISA {

struct SignAct {
  static constexpr ActKind kKind = ActKind::kSign;

  template <class T>
  struct Consts {
    T unused;
  };
  template <class T>
  NTK_HD static void prepare(const ActParams&, Consts<T>& k) {
    k.unused = T(0);
  }

  NTK_HD static double f(const ActParams&, double x) { return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0); }
  NTK_HD static double df(const ActParams&, double) { return 0.0; }

  template <class S>
  NTK_HD static void map(const Consts<typename S::Scalar>&, typename S::V& c, typename S::V& t, bool with_ntk,
                         const SelfLanes<S>& x1, const SelfLanes<S>& x2) {
    using V = typename S::V;
    using T = typename S::Scalar;
    const V rho = clamped_correlation<S>(c, x1.b, x2.b);
    const typename S::M near = S::gt(S::abs(rho), S::set1(near_one<T>()));
    V e = S::set1(T(2 / M_PI)) * S::asin(rho);
    if (S::any(near)) {
      // asin ρ = π/2 - acos ρ, with the angle of the exact correlation
      V r2 = rho, th = S::zero(), sn = S::zero();
      S::exact_correlation(near, c, x1.q, x2.q, r2, th, sn);
      e = S::blend(near, e, S::set1(T(2 / M_PI)) * (S::set1(T(M_PI / 2)) - th));
    }
    c = e;
    if (with_ntk) t = S::zero();
  }
};

}  // namespace NTK_ISA
}  // namespace ntk::math
