// The activations without a closed-form kernel: the function and its derivative. Their Gaussian expectations
// are computed by quadrature (src/layers/quadrature.cpp): Gauss–Hermite for the analytic ones, polar
// Gauss–Legendre split at the kink for elu. pole_distance is the half-width of the strip around the real axis
// where φ and φ' are analytic (π/2 for tanh, π for the logistic family); it sets the Gauss–Hermite order.
#pragma once

#include "layers/math/lanes.h"
#include "ntk/layer_step.h"

namespace ntk::math {
inline namespace NTK_ISA {

NTK_HD inline double sigmoid_f(double x) {
  return x >= 0 ? 1 / (1 + ::exp(-x)) : ::exp(x) / (1 + ::exp(x));
}

struct TanhAct {
  static constexpr ActKind kKind = ActKind::kTanh;
  static constexpr bool kKinked = false;
  static constexpr double kPoleDistance = M_PI / 2;
  NTK_HD static double f(const ActParams&, double x) { return ::tanh(x); }
  NTK_HD static double df(const ActParams&, double x) {
    const double t = ::tanh(x);
    return 1 - t * t;
  }
};

struct SigmoidAct {
  static constexpr ActKind kKind = ActKind::kSigmoid;
  static constexpr bool kKinked = false;
  static constexpr double kPoleDistance = M_PI;
  NTK_HD static double f(const ActParams&, double x) { return sigmoid_f(x); }
  NTK_HD static double df(const ActParams&, double x) {
    const double s = sigmoid_f(x);
    return s * (1 - s);
  }
};

struct SoftplusAct {
  static constexpr ActKind kKind = ActKind::kSoftplus;
  static constexpr bool kKinked = false;
  static constexpr double kPoleDistance = M_PI;
  NTK_HD static double f(const ActParams&, double x) {
    return x > 0 ? x + ::log1p(::exp(-x)) : ::log1p(::exp(x));
  }
  NTK_HD static double df(const ActParams&, double x) { return sigmoid_f(x); }
};

struct SiluAct {
  static constexpr ActKind kKind = ActKind::kSilu;
  static constexpr bool kKinked = false;
  static constexpr double kPoleDistance = M_PI;
  NTK_HD static double f(const ActParams&, double x) { return x * sigmoid_f(x); }
  NTK_HD static double df(const ActParams&, double x) {
    const double s = sigmoid_f(x);
    return s * (1 + x * (1 - s));
  }
};

struct EluAct {
  static constexpr ActKind kKind = ActKind::kElu;
  static constexpr bool kKinked = true;
  static constexpr double kPoleDistance = M_PI;
  NTK_HD static double f(const ActParams&, double x) { return x > 0 ? x : ::expm1(x); }
  NTK_HD static double df(const ActParams&, double x) { return x > 0 ? 1.0 : ::exp(x); }
};

}  // namespace NTK_ISA
}  // namespace ntk::math
