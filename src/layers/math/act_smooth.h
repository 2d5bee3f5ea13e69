// The activations without a closed-form kernel: the function and its derivative, once, on lanes (fdf<S>: both
// at once, as the quadrature of math/act_quadrature.h evaluates them; f and df: the scalar ones, for finite
// networks, from the same formula). Their Gaussian expectations are computed by quadrature
// (math/act_quadrature.h): Gauss–Hermite for the analytic ones, polar Gauss–Legendre split at the kink for
// elu. pole_distance is the half-width of the strip around the real axis where φ and φ' are analytic (π/2
// for tanh, π for the logistic family); it sets the Gauss–Hermite order.
#pragma once

#include "layers/math/lanes.h"
#include "ntk/layer_step.h"

namespace ntk::math {
inline namespace NTK_ISA {

// The logistic function: with e = exp(-|x|), 1 / (1 + e) for x >= 0 and e / (1 + e) otherwise (neither
// overflows).
template <class S>
NTK_HD inline typename S::V sigmoid_lanes(typename S::V x) {
  using V = typename S::V;
  using T = typename S::Scalar;
  const V one = S::set1(T(1));
  const V e = S::exp(S::zero() - S::abs(x));
  const V d = one + e;
  return S::blend(S::gt(S::zero(), x), one / d, e / d);
}

NTK_HD inline double sigmoid_f(double x) {
  return sigmoid_lanes<ScalarLanes<double>>(x);
}

// f and df of one activation type on scalars, from its fdf<S>.
#define NTK_SMOOTH_SCALAR_F_DF()                        \
  NTK_HD static double f(const ActParams&, double x) {  \
    double y, dy;                                       \
    fdf<ScalarLanes<double>>(x, y, dy);                 \
    return y;                                           \
  }                                                     \
  NTK_HD static double df(const ActParams&, double x) { \
    double y, dy;                                       \
    fdf<ScalarLanes<double>>(x, y, dy);                 \
    return dy;                                          \
  }

struct TanhAct {
  static constexpr ActKind kKind = ActKind::kTanh;
  static constexpr bool kKinked = false;
  static constexpr double kPoleDistance = M_PI / 2;
  template <class S>
  NTK_HD static void fdf(typename S::V x, typename S::V& f, typename S::V& df) {
    using T = typename S::Scalar;
    f = S::tanh(x);
    df = S::set1(T(1)) - f * f;
  }
  NTK_SMOOTH_SCALAR_F_DF()
};

struct SigmoidAct {
  static constexpr ActKind kKind = ActKind::kSigmoid;
  static constexpr bool kKinked = false;
  static constexpr double kPoleDistance = M_PI;
  template <class S>
  NTK_HD static void fdf(typename S::V x, typename S::V& f, typename S::V& df) {
    using T = typename S::Scalar;
    f = sigmoid_lanes<S>(x);
    df = f * (S::set1(T(1)) - f);
  }
  NTK_SMOOTH_SCALAR_F_DF()
};

struct SoftplusAct {
  static constexpr ActKind kKind = ActKind::kSoftplus;
  static constexpr bool kKinked = false;
  static constexpr double kPoleDistance = M_PI;
  // max(x, 0) + log(1 + e^-|x|): no overflow, and exactly log1p(e^x) for x <= 0.
  template <class S>
  NTK_HD static void fdf(typename S::V x, typename S::V& f, typename S::V& df) {
    f = S::max(x, S::zero()) + S::log1p(S::exp(S::zero() - S::abs(x)));
    df = sigmoid_lanes<S>(x);
  }
  NTK_SMOOTH_SCALAR_F_DF()
};

struct SiluAct {
  static constexpr ActKind kKind = ActKind::kSilu;
  static constexpr bool kKinked = false;
  static constexpr double kPoleDistance = M_PI;
  template <class S>
  NTK_HD static void fdf(typename S::V x, typename S::V& f, typename S::V& df) {
    using T = typename S::Scalar;
    const typename S::V one = S::set1(T(1)), s = sigmoid_lanes<S>(x);
    f = x * s;
    df = s * (one + x * (one - s));
  }
  NTK_SMOOTH_SCALAR_F_DF()
};

struct EluAct {
  static constexpr ActKind kKind = ActKind::kElu;
  static constexpr bool kKinked = true;
  static constexpr double kPoleDistance = M_PI;
  // x for x > 0, e^x - 1 otherwise; φ' = e^x there (not expm1 + 1, which loses e^x far left).
  template <class S>
  NTK_HD static void fdf(typename S::V x, typename S::V& f, typename S::V& df) {
    using T = typename S::Scalar;
    const typename S::M pos = S::gt(x, S::zero());
    const typename S::V neg = S::blend(pos, x, S::zero());  // min(x, 0), keeping a NaN
    f = S::blend(pos, S::expm1(neg), x);
    df = S::blend(pos, S::exp(neg), S::set1(T(1)));
  }
  NTK_SMOOTH_SCALAR_F_DF()
};

#undef NTK_SMOOTH_SCALAR_F_DF

}  // namespace NTK_ISA
}  // namespace ntk::math
