// Pointwise nonlinearities as values: an activation is its descriptor (ActParams, ntk/layer_step.h); its
// function, derivative and closed-form kernel map are written once in src/layers/math/ and shared by every
// engine. For (u, v) ~ N(0, [[v1, c], [c, v2]]) the analytic map is
//   Σ' = E[φ(u) φ(v)],   Θ' = Θ · E[φ'(u) φ'(v)],
// a closed form where one exists (math/activations.h lists them), else Gauss–Hermite / polar quadrature.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "layers/math/activations.h"
#include "ntk/layer_step.h"

namespace ntk {

class Activation {
 public:
  explicit Activation(const ActParams& params);
  const ActParams& params() const { return params_; }
  bool closed_form() const { return math::is_closed_form(params_.kind); }
  // Whether φ has a kink at 0 (the polar quadrature is split there).
  bool kinked() const;
  double f(double x) const { return math::activation_f(params_, x); }
  double df(double x) const { return math::activation_df(params_, x); }
  // E[φ(u) φ(v)] and E[φ'(u) φ'(v)]: the closed form (the shared map on scalar double lanes) or quadrature at
  // the order quadrature_order(v1, v2).
  void expectations(double v1, double v2, double c, double& e_ff, double& e_dd) const;
  // math::gauss_hermite_order (math/act_quadrature.h): for exp(-23) ≈ 1e-10 (accuracy 1e-8 relative, tested),
  // at least 32 and at most kMaxQuadratureOrder; kinked activations use kDefaultQuadratureOrder.
  int quadrature_order(double v1, double v2) const;

 private:
  ActParams params_;
  math::ActConsts<double> consts_;
};

// Expectations of any activation by quadrature (used by the quadrature activations and by tests of the closed
// forms): smooth functions use an order x order Gauss–Hermite rule; functions with kinks at 0 use polar
// Gauss–Legendre over the sectors between the kink lines.
void quadrature_expectations(const Activation& act, bool kinked, int order, double v1, double v2, double c,
                             double& e_ff, double& e_dd);

// Order of the polar Gauss–Legendre rule for activations with a kink (elu), and the largest Gauss–Hermite
// order the smooth quadrature activations use (their order grows with the input variance; see
// docs/kernels.md).
constexpr int kDefaultQuadratureOrder = math::kPolarOrder;
constexpr int kMaxQuadratureOrder = math::kMaxHermiteOrder;

// An activation written in the architecture language with positional arguments (for tests):
// make_activation("erf", {1, 2, 0.5}) is the activation `erf(1, 2, 0.5)`.
std::shared_ptr<const Activation> make_activation(const std::string& name,
                                                  const std::vector<double>& args = {});

}  // namespace ntk
