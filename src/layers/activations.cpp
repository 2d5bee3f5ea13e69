// Activations and the `activation` layer. Closed forms (Cho & Saul 2009; Williams 1997; neural-tangents):
//   abrelu(a, b) = a min(x, 0) + b max(x, 0) = a x + (b - a) relu(x):
//     E[φφ] = a b c + (b - a)² R(v1, v2, c),  R = sqrt(v1 v2) (sin θ + (π - θ) cos θ) / (2π),  cos θ = c / sqrt(v1 v2)
//     E[φ'φ'] = a b + (b - a)² (π - θ) / (2π)
//   relu = abrelu(0, 1), leaky_relu(α) = abrelu(α, 1), abs = abrelu(-1, 1)
//   erf(a, b, c) = a erf(b x) + c:  E[φφ] = a² (2/π) asin(2b²c / sqrt((1 + 2b²v1)(1 + 2b²v2))) + c²,
//     E[φ'φ'] = a² b² (4/π) / sqrt((1 + 2b²v1)(1 + 2b²v2) - 4b⁴c²)
//   gelu = x Φ(x) (exact), sign, sin(a, b, c) = a sin(b x + c): formulas derived in docs/kernels.md.
#include "layers/activations.h"

#include <algorithm>
#include <cmath>

#include "layers/common.h"
#include "layers/eigen_views.h"
#include "layers/quadrature.h"
#include "layers/registry_internal.h"

namespace ntk {
namespace {

constexpr double kPi = M_PI;

double safe_rho(double v1, double v2, double c) {
  const double d = std::sqrt(v1 * v2);
  if (!(d > 0)) return 0.0;
  return std::clamp(c / d, -1.0, 1.0);
}

class ABRelu : public Activation {
 public:
  ABRelu(double a, double b, std::string desc) : a_(a), b_(b), desc_(std::move(desc)) {}
  std::string describe() const override { return desc_; }
  double f(double x) const override { return x > 0 ? b_ * x : a_ * x; }
  double df(double x) const override { return x > 0 ? b_ : a_; }
  bool closed_form() const override { return true; }
  void expectations(double v1, double v2, double c, double& e_ff, double& e_dd) const override {
    const double rho = safe_rho(v1, v2, c);
    const double theta = std::acos(rho);
    const double relu_ff = std::sqrt(std::max(v1 * v2, 0.0)) * (std::sqrt(std::max(1 - rho * rho, 0.0)) + (kPi - theta) * rho) / (2 * kPi);
    const double relu_dd = (kPi - theta) / (2 * kPi);
    const double d = b_ - a_;
    e_ff = a_ * b_ * c + d * d * relu_ff;
    e_dd = a_ * b_ + d * d * relu_dd;
  }

 private:
  double a_, b_;
  std::string desc_;
};

class Erf : public Activation {
 public:
  Erf(double a, double b, double c) : a_(a), b_(b), c_(c) {}
  std::string describe() const override {
    return "erf(a=" + layers::fmt_number(a_) + ", b=" + layers::fmt_number(b_) + ", c=" + layers::fmt_number(c_) + ")";
  }
  double f(double x) const override { return a_ * std::erf(b_ * x) + c_; }
  double df(double x) const override { return a_ * b_ * 2.0 / std::sqrt(kPi) * std::exp(-b_ * b_ * x * x); }
  bool closed_form() const override { return true; }
  void expectations(double v1, double v2, double c, double& e_ff, double& e_dd) const override {
    const double b2 = b_ * b_;
    const double d1 = 1 + 2 * b2 * v1, d2 = 1 + 2 * b2 * v2;
    e_ff = a_ * a_ * (2 / kPi) * std::asin(std::clamp(2 * b2 * c / std::sqrt(d1 * d2), -1.0, 1.0)) + c_ * c_;
    e_dd = a_ * a_ * b2 * (4 / kPi) / std::sqrt(d1 * d2 - 4 * b2 * b2 * c * c);
  }

 private:
  double a_, b_, c_;
};

// GELU, exact: φ(x) = x Φ(x). Derived by Gaussian integration by parts (docs/kernels.md):
//   E[φφ] = c P + (v1 v2 + c² (1 - v1 v2) / ((1+v1)(1+v2))) / (2π sqrt(D)),
//   E[φ'φ'] = P + c (1/(1+v1) + 1/(1+v2)) / (2π sqrt(D)) + c / (2π D^(3/2)),
//   P = 1/4 + asin(c / sqrt((1+v1)(1+v2))) / (2π),  D = (1+v1)(1+v2) - c².
class Gelu : public Activation {
 public:
  std::string describe() const override { return "gelu"; }
  double f(double x) const override { return x * 0.5 * std::erfc(-x / std::sqrt(2.0)); }
  double df(double x) const override {
    return 0.5 * std::erfc(-x / std::sqrt(2.0)) + x * std::exp(-0.5 * x * x) / std::sqrt(2 * kPi);
  }
  bool closed_form() const override { return true; }
  void expectations(double v1, double v2, double c, double& e_ff, double& e_dd) const override {
    const double s = (1 + v1) * (1 + v2);
    const double D = std::max(s - c * c, 1e-300);
    const double P = 0.25 + std::asin(std::clamp(c / std::sqrt(s), -1.0, 1.0)) / (2 * kPi);
    e_ff = c * P + (v1 * v2 + c * c * (1 - v1 * v2) / s) / (2 * kPi * std::sqrt(D));
    e_dd = P + c * (1 / (1 + v1) + 1 / (1 + v2)) / (2 * kPi * std::sqrt(D)) + c / (2 * kPi * D * std::sqrt(D));
  }
};

// sign(x): E[φφ] = (2/π) asin(ρ); its derivative vanishes almost everywhere, so it adds nothing to Θ (as
// neural-tangents' Sign).
class Sign : public Activation {
 public:
  std::string describe() const override { return "sign"; }
  double f(double x) const override { return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0); }
  double df(double) const override { return 0.0; }
  bool closed_form() const override { return true; }
  void expectations(double v1, double v2, double c, double& e_ff, double& e_dd) const override {
    e_ff = (2 / kPi) * std::asin(safe_rho(v1, v2, c));
    e_dd = 0.0;
  }
};

// a sin(b x + c): E[sin(bu + c) sin(bv + c)] = ½ [e^{-b²(v1 + v2 - 2c)/2} - e^{-b²(v1 + v2 + 2c)/2} cos 2c],
// E[cos(bu + c) cos(bv + c)] = ½ [e^{-b²(v1 + v2 - 2c)/2} + e^{-b²(v1 + v2 + 2c)/2} cos 2c].
class Sin : public Activation {
 public:
  Sin(double a, double b, double c) : a_(a), b_(b), c_(c) {}
  std::string describe() const override {
    return "sin(a=" + layers::fmt_number(a_) + ", b=" + layers::fmt_number(b_) + ", c=" + layers::fmt_number(c_) + ")";
  }
  double f(double x) const override { return a_ * std::sin(b_ * x + c_); }
  double df(double x) const override { return a_ * b_ * std::cos(b_ * x + c_); }
  bool closed_form() const override { return true; }
  void expectations(double v1, double v2, double c, double& e_ff, double& e_dd) const override {
    const double b2 = b_ * b_;
    const double minus = std::exp(-0.5 * b2 * (v1 + v2 - 2 * c));
    const double plus = std::exp(-0.5 * b2 * (v1 + v2 + 2 * c)) * std::cos(2 * c_);
    e_ff = a_ * a_ * 0.5 * (minus - plus);
    e_dd = a_ * a_ * b2 * 0.5 * (minus + plus);
  }

 private:
  double a_, b_, c_;
};

// Activations without a closed-form kernel: expectations by quadrature.
class QuadratureActivation : public Activation {
 public:
  // pole_distance: half-width of the strip around the real axis where φ and φ' are analytic (π/2 for tanh, π for
  // the logistic family); it sets the Gauss–Hermite order needed for a given accuracy (see order_for).
  QuadratureActivation(std::string name, double (*f)(double), double (*df)(double), bool kinked, double pole_distance)
      : name_(std::move(name)), f_(f), df_(df), kinked_(kinked), pole_distance_(pole_distance) {}
  std::string describe() const override { return name_; }
  double f(double x) const override { return f_(x); }
  double df(double x) const override { return df_(x); }
  bool closed_form() const override { return false; }
  void expectations(double v1, double v2, double c, double& e_ff, double& e_dd) const override {
    quadrature_expectations(*this, kinked_, order_for(v1, v2), v1, v2, c, e_ff, e_dd);
  }

  // Gauss–Hermite converges like exp(-d sqrt(2n)) for integrands analytic in a strip of half-width d; in the
  // whitened coordinates d = pole_distance / sqrt(max variance). The order is chosen for exp(-23) ≈ 1e-10
  // (accuracy 1e-8 relative, tested), at least 32 and at most kMaxQuadratureOrder.
  int order_for(double v1, double v2) const {
    if (kinked_) return kDefaultQuadratureOrder;
    const double d = pole_distance_ / std::sqrt(std::max({v1, v2, 1e-12}));
    const double n = 0.5 * (23.0 / d) * (23.0 / d);
    return static_cast<int>(std::clamp(std::ceil(n), 32.0, static_cast<double>(kMaxQuadratureOrder)));
  }

 private:
  std::string name_;
  double (*f_)(double);
  double (*df_)(double);
  bool kinked_;
  double pole_distance_;
};

double sigmoid(double x) { return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x)); }
double tanh_f(double x) { return std::tanh(x); }
double tanh_df(double x) {
  double t = std::tanh(x);
  return 1 - t * t;
}
double sigmoid_df(double x) {
  double s = sigmoid(x);
  return s * (1 - s);
}
double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
double elu(double x) { return x > 0 ? x : std::expm1(x); }
double elu_df(double x) { return x > 0 ? 1.0 : std::exp(x); }
double silu(double x) { return x * sigmoid(x); }
double silu_df(double x) {
  double s = sigmoid(x);
  return s * (1 + x * (1 - s));
}

// ---------------- the layer ----------------

class ActivationLayer final : public Layer {
 public:
  explicit ActivationLayer(std::shared_ptr<Activation> act) : act_(std::move(act)) {}
  std::string name() const override { return act_->describe(); }
  std::string describe() const override { return act_->describe(); }
  bool needs_variances() const override { return true; }
  ExampleShape output_shape(const ExampleShape& in) const override { return in; }

  template <typename T>
  void kernel_impl(PairState<T>& s, const SelfVariances<T>& v, const ExampleShape&, const KernelConfig&) const {
    // The closed forms and quadratures are expectations over Gaussian pre-activations; neural-tangents refuses
    // the same cases (e.g. relu, relu without an affine layer in between, or a nonlinearity after flatten).
    NTK_THROW_IF_NOT(s.gaussian, "%s: its input is not Gaussian (it follows a nonlinearity, flatten or a residual "
                     "sum of non-Gaussian branches); put a dense or conv layer before it", act_->describe().c_str());
    const bool with_ntk = !s.ntk.empty();
    const int64_t p1 = s.p1(), p2 = s.diagonal ? 1 : s.p2();
    for (int64_t i = 0; i < p1; ++i)
      for (int64_t j = 0; j < p2; ++j) {
        const int64_t idx = i * p2 + j;
        const double var1 = v.var1[i], var2 = v.var2[s.diagonal ? i : j];
        double e_ff, e_dd;
        act_->expectations(var1, var2, s.nngp[idx], e_ff, e_dd);
        s.nngp[idx] = static_cast<T>(e_ff);
        if (with_ntk) s.ntk[idx] = static_cast<T>(s.ntk[idx] * e_dd);
      }
    s.gaussian = false;
  }
  NTK_LAYER_KERNEL_DISPATCH

  Tensor forward(const Tensor& x, const LayerParams&, const ExampleShape&, Parameterization) const override {
    Tensor y(x.shape);
    for (int64_t i = 0; i < x.size(); ++i) y.data[i] = act_->f(x.data[i]);
    return y;
  }
  Tensor backward(const Tensor& x, const Tensor&, const Tensor& grad_y, const LayerParams&, const ExampleShape&,
                  Parameterization, LayerParams*) const override {
    Tensor g(x.shape);
    for (int64_t i = 0; i < x.size(); ++i) g.data[i] = grad_y.data[i] * act_->df(x.data[i]);
    return g;
  }

 private:
  std::shared_ptr<Activation> act_;
};

}  // namespace

void quadrature_expectations(const Activation& act, bool kinked, int order, double v1, double v2, double c,
                             double& e_ff, double& e_dd) {
  double ff = 0, dd = 0;
  if (!kinked) {
    quadrature::bivariate_gauss_hermite(order, v1, v2, c, [&](double u, double v, double w) {
      ff += w * act.f(u) * act.f(v);
      dd += w * act.df(u) * act.df(v);
    });
    e_ff = ff;
    e_dd = dd;
    return;
  }
  // Kinks at u = 0 and v = 0 are lines through the origin of the whitened plane: integrate in polar
  // coordinates over the sectors between them, where the integrand is smooth (Gauss–Legendre in angle and in
  // radius on [0, 12]; the Gaussian tail beyond is below 1e-31).
  const double s1 = std::sqrt(std::max(v1, 0.0));
  const double a = s1 > 0 ? c / s1 : 0.0;
  const double b = std::sqrt(std::max(v2 - a * a, 0.0));
  std::vector<double> breaks = {0.5 * kPi, 1.5 * kPi};
  double t = std::atan2(-a, b);  // a cos t + b sin t = 0
  for (double tt : {t, t + kPi}) breaks.push_back(std::fmod(tt + 4 * kPi, 2 * kPi));
  breaks.push_back(0.0);
  std::sort(breaks.begin(), breaks.end());
  breaks.push_back(2 * kPi);
  const auto& ang = quadrature::gauss_legendre(order / 2 > 8 ? order / 2 : 8);
  const auto& rad = quadrature::gauss_legendre(order);
  const double r_max = 12.0;
  for (size_t k = 0; k + 1 < breaks.size(); ++k) {
    const double t0 = breaks[k], t1 = breaks[k + 1];
    if (t1 - t0 < 1e-15) continue;
    for (size_t i = 0; i < ang.nodes.size(); ++i) {
      const double th = 0.5 * (t1 - t0) * ang.nodes[i] + 0.5 * (t1 + t0);
      const double wt = 0.5 * (t1 - t0) * ang.weights[i];
      const double ct = std::cos(th), st = std::sin(th);
      for (size_t j = 0; j < rad.nodes.size(); ++j) {
        const double r = 0.5 * r_max * (rad.nodes[j] + 1);
        const double wr = 0.5 * r_max * rad.weights[j] * r * std::exp(-0.5 * r * r);
        const double z1 = r * ct, z2 = r * st;
        const double u = s1 * z1, v = a * z1 + b * z2;
        const double w = wt * wr;
        ff += w * act.f(u) * act.f(v);
        dd += w * act.df(u) * act.df(v);
      }
    }
  }
  e_ff = ff / (2 * kPi);
  e_dd = dd / (2 * kPi);
}

std::shared_ptr<Activation> make_activation(const std::string& name, const std::vector<double>& args) {
  auto arg = [&](size_t i, double dflt) { return i < args.size() ? args[i] : dflt; };
  if (name == "relu") return std::make_shared<ABRelu>(0.0, 1.0, "relu");
  if (name == "leaky_relu") {
    double alpha = arg(0, 0.01);
    return std::make_shared<ABRelu>(alpha, 1.0, "leaky_relu(alpha=" + layers::fmt_number(alpha) + ")");
  }
  if (name == "abrelu") {
    double a = arg(0, 0.0), b = arg(1, 1.0);
    return std::make_shared<ABRelu>(a, b, "abrelu(a=" + layers::fmt_number(a) + ", b=" + layers::fmt_number(b) + ")");
  }
  if (name == "abs") return std::make_shared<ABRelu>(-1.0, 1.0, "abs");
  if (name == "erf") return std::make_shared<Erf>(arg(0, 1.0), arg(1, 1.0), arg(2, 0.0));
  if (name == "gelu") return std::make_shared<Gelu>();
  if (name == "sign") return std::make_shared<Sign>();
  if (name == "sin") return std::make_shared<Sin>(arg(0, 1.0), arg(1, 1.0), arg(2, 0.0));
  if (name == "tanh") return std::make_shared<QuadratureActivation>("tanh", tanh_f, tanh_df, false, kPi / 2);
  if (name == "sigmoid") return std::make_shared<QuadratureActivation>("sigmoid", sigmoid, sigmoid_df, false, kPi);
  if (name == "softplus") return std::make_shared<QuadratureActivation>("softplus", softplus, sigmoid, false, kPi);
  if (name == "elu") return std::make_shared<QuadratureActivation>("elu", elu, elu_df, true, kPi);
  if (name == "silu") return std::make_shared<QuadratureActivation>("silu", silu, silu_df, false, kPi);
  NTK_THROW("unknown activation '%s'", name.c_str());
}

namespace layers {

void register_activations(LayerRegistry& r) {
  using T = ArgSpec::Type;
  struct Def {
    const char* name;
    std::vector<ArgSpec> args;
    const char* help;
  };
  const std::vector<Def> defs = {
      {"relu", {}, "max(x, 0); closed form (arc-cosine kernel)"},
      {"leaky_relu", {{"alpha", T::kNumber, "0.01", {}, "slope for x < 0"}}, "x for x > 0, alpha x otherwise"},
      {"abrelu",
       {{"a", T::kNumber, "0", {}, "slope for x < 0"}, {"b", T::kNumber, "1", {}, "slope for x > 0"}},
       "a min(x, 0) + b max(x, 0)"},
      {"abs", {}, "|x|"},
      {"erf",
       {{"a", T::kNumber, "1", {}, "scale"}, {"b", T::kNumber, "1", {}, "input scale"}, {"c", T::kNumber, "0", {}, "shift"}},
       "a erf(b x) + c"},
      {"gelu", {}, "x Φ(x) (exact GELU)"},
      {"sign", {}, "sign(x); adds nothing to the NTK (zero derivative almost everywhere)"},
      {"sin",
       {{"a", T::kNumber, "1", {}, "scale"}, {"b", T::kNumber, "1", {}, "frequency"}, {"c", T::kNumber, "0", {}, "phase"}},
       "a sin(b x + c)"},
      {"tanh", {}, "tanh(x); Gauss–Hermite quadrature"},
      {"sigmoid", {}, "1 / (1 + e^-x); Gauss–Hermite quadrature"},
      {"softplus", {}, "log(1 + e^x); Gauss–Hermite quadrature"},
      {"elu", {}, "x for x > 0, e^x - 1 otherwise; polar quadrature split at the kink"},
      {"silu", {}, "x sigmoid(x); Gauss–Hermite quadrature"},
  };
  for (const auto& d : defs) {
    std::string name = d.name;
    std::vector<std::string> arg_names;
    for (const auto& a : d.args) arg_names.push_back(a.name);
    r.add({name, "activation", d.args,
           [name, arg_names](const LayerArgs& args) {
             std::vector<double> values;
             for (const auto& n : arg_names) values.push_back(args.number(n));
             return std::make_shared<ActivationLayer>(make_activation(name, values));
           },
           d.help});
  }
}

}  // namespace layers
}  // namespace ntk
