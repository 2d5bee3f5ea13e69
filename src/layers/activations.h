// Pointwise nonlinearities: the function, its derivative, and the two Gaussian expectations that make up their
// analytic kernel map. For (u, v) ~ N(0, [[v1, c], [c, v2]]):
//   Σ' = E[φ(u) φ(v)],   Θ' = Θ · E[φ'(u) φ'(v)].
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace ntk {

class Activation {
 public:
  virtual ~Activation() = default;
  virtual std::string describe() const = 0;
  virtual double f(double x) const = 0;
  virtual double df(double x) const = 0;
  // E[φ(u) φ(v)] and E[φ'(u) φ'(v)].
  virtual void expectations(double v1, double v2, double c, double& e_ff, double& e_dd) const = 0;
  // True when expectations() is a closed form; false when it is computed by quadrature.
  virtual bool closed_form() const = 0;
};

// Expectations of any activation by quadrature (used by the quadrature activations and by tests of the closed
// forms): smooth functions use an order x order Gauss–Hermite rule; functions with kinks at 0 use polar
// Gauss–Legendre over the sectors between the kink lines.
void quadrature_expectations(const Activation& act, bool kinked, int order, double v1, double v2, double c,
                             double& e_ff, double& e_dd);

// Order of the polar Gauss–Legendre rule for activations with a kink (elu), and the largest Gauss–Hermite order
// the smooth quadrature activations use (their order grows with the input variance; see docs/kernels.md).
constexpr int kDefaultQuadratureOrder = 64;
constexpr int kMaxQuadratureOrder = 400;

// Builds an activation from the architecture language (for tests): e.g. make_activation("erf", {1, 2, 0.5}).
std::shared_ptr<Activation> make_activation(const std::string& name, const std::vector<double>& args = {});

}  // namespace ntk
