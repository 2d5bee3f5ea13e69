// Activations and the `activation` layer. The function, derivative and closed-form kernel map of each
// activation live in src/layers/math/ (one header each, shared by every engine); this file holds the layer
// (reference-engine map, finite forward/backward), the quadrature for activations without a closed form, and
// the registry entries that turn the architecture language into an ActParams.
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

// Pole distance of the smooth quadrature activations (math/act_smooth.h).
double pole_distance(ActKind kind) {
  switch (kind) {
#define NTK_X(kind, type) \
  case ActKind::kind:     \
    return math::type::kPoleDistance;
    NTK_QUADRATURE_ACTIVATIONS(NTK_X)
#undef NTK_X
    default:
      return kPi;
  }
}

}  // namespace

Activation::Activation(const ActParams& params)
    : params_(params), consts_(math::activation_consts<double>(params)) {}

bool Activation::kinked() const {
  switch (params_.kind) {
#define NTK_X(kind, type) \
  case ActKind::kind:     \
    return math::type::kKinked;
    NTK_QUADRATURE_ACTIVATIONS(NTK_X)
#undef NTK_X
    default:
      return params_.kind == ActKind::kABRelu || params_.kind == ActKind::kSign;
  }
}

int Activation::quadrature_order(double v1, double v2) const {
  if (kinked()) return kDefaultQuadratureOrder;
  const double d = pole_distance(params_.kind) / std::sqrt(std::max({v1, v2, 1e-12}));
  const double n = 0.5 * (23.0 / d) * (23.0 / d);
  return static_cast<int>(std::clamp(std::ceil(n), 32.0, static_cast<double>(kMaxQuadratureOrder)));
}

void Activation::expectations(double v1, double v2, double c, double& e_ff, double& e_dd) const {
  if (!closed_form()) {
    quadrature_expectations(*this, kinked(), quadrature_order(v1, v2), v1, v2, c, e_ff, e_dd);
    return;
  }
  using S = math::ScalarLanes<double>;
  math::SelfLanes<S> x1, x2;
  math::self_quantities<double>(StepKind::kActivation, v1, x1.a, x1.b, x1.q);
  math::self_quantities<double>(StepKind::kActivation, v2, x2.a, x2.b, x2.q);
  double ff = c, dd = 1;
  math::activation_map<S>(consts_, ff, dd, true, x1, x2);
  e_ff = ff;
  e_dd = dd;
}

namespace {

// ---------------- the layer ----------------

class ActivationLayer final : public Layer {
 public:
  ActivationLayer(const ActParams& params, std::string description)
      : act_(params), description_(std::move(description)) {}
  std::string name() const override { return description_; }
  std::string describe() const override { return description_; }
  bool needs_variances() const override { return true; }
  LayerStep step() const override {
    LayerStep s;
    s.kind = StepKind::kActivation;
    s.act = act_.params();
    return s;
  }
  ExampleShape output_shape(const ExampleShape& in) const override { return in; }

  template <typename T>
  void kernel_impl(PairState<T>& s, const SelfVariances<T>& v, const ExampleShape&,
                   const KernelConfig&) const {
    // The closed forms and quadratures are expectations over Gaussian pre-activations; neural-tangents
    // refuses the same cases (e.g. relu, relu without an affine layer in between, or a nonlinearity after
    // flatten).
    NTK_THROW_IF_NOT(s.gaussian,
                     "%s: its input is not Gaussian (it follows a nonlinearity, flatten or a residual "
                     "sum of non-Gaussian branches); put a dense or conv layer before it",
                     description_.c_str());
    const bool with_ntk = !s.ntk.empty();
    const int64_t p1 = s.p1(), p2 = s.diagonal ? 1 : s.p2();
    for (int64_t i = 0; i < p1; ++i)
      for (int64_t j = 0; j < p2; ++j) {
        const int64_t idx = i * p2 + j;
        const double var1 = v.var1[i], var2 = v.var2[s.diagonal ? i : j];
        double e_ff, e_dd;
        act_.expectations(var1, var2, s.nngp[idx], e_ff, e_dd);
        s.nngp[idx] = static_cast<T>(e_ff);
        if (with_ntk) s.ntk[idx] = static_cast<T>(s.ntk[idx] * e_dd);
      }
    s.gaussian = false;
  }
  NTK_LAYER_KERNEL_DISPATCH

  Tensor forward(const Tensor& x, const LayerParams&, const ExampleShape&,
                 const LayerSetting&) const override {
    Tensor y(x.shape);
    for (int64_t i = 0; i < x.size(); ++i) y.data[i] = act_.f(x.data[i]);
    return y;
  }
  Tensor backward(const Tensor& x, const Tensor&, const Tensor& grad_y, const LayerParams&,
                  const ExampleShape&, const LayerSetting&, LayerParams*) const override {
    Tensor g(x.shape);
    for (int64_t i = 0; i < x.size(); ++i) g.data[i] = grad_y.data[i] * act_.df(x.data[i]);
    return g;
  }

 private:
  Activation act_;
  std::string description_;
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

std::shared_ptr<const Activation> make_activation(const std::string& name, const std::vector<double>& args) {
  std::string spec = name;
  if (!args.empty()) {
    spec += "(";
    for (size_t i = 0; i < args.size(); ++i) spec += (i ? ", " : "") + layers::fmt_number(args[i]);
    spec += ")";
  }
  Architecture a = Architecture::parse(spec);
  NTK_THROW_IF_NOT(a.ops().size() == 1 && a.ops()[0].layer->step().kind == StepKind::kActivation,
                   "'%s' is not an activation", spec.c_str());
  return std::make_shared<const Activation>(a.ops()[0].layer->step().act);
}

namespace layers {

void register_activations(LayerRegistry& r) {
  using T = ArgSpec::Type;
  // Each entry: the language's name, arguments and help, and the descriptor (and canonical description) its
  // arguments give.
  struct Def {
    const char* name;
    std::vector<ArgSpec> args;
    const char* help;
    ActParams (*params)(const LayerArgs&);
    std::string (*describe)(const LayerArgs&);
  };
  const std::vector<Def> defs = {
      {"relu",
       {},
       "max(x, 0); closed form (arc-cosine kernel)",
       [](const LayerArgs&) {
         return ActParams{ActKind::kABRelu, 0, 1, 0};
       },
       [](const LayerArgs&) { return std::string("relu"); }},
      {"leaky_relu",
       {{"alpha", T::kNumber, "0.01", {}, "slope for x < 0"}},
       "x for x > 0, alpha x otherwise",
       [](const LayerArgs& a) {
         return ActParams{ActKind::kABRelu, a.number("alpha"), 1, 0};
       },
       [](const LayerArgs& a) { return "leaky_relu(alpha=" + fmt_number(a.number("alpha")) + ")"; }},
      {"abrelu",
       {{"a", T::kNumber, "0", {}, "slope for x < 0"}, {"b", T::kNumber, "1", {}, "slope for x > 0"}},
       "a min(x, 0) + b max(x, 0)",
       [](const LayerArgs& a) {
         return ActParams{ActKind::kABRelu, a.number("a"), a.number("b"), 0};
       },
       [](const LayerArgs& a) {
         return "abrelu(a=" + fmt_number(a.number("a")) + ", b=" + fmt_number(a.number("b")) + ")";
       }},
      {"abs",
       {},
       "|x|",
       [](const LayerArgs&) {
         return ActParams{ActKind::kABRelu, -1, 1, 0};
       },
       [](const LayerArgs&) { return std::string("abs"); }},
      {"erf",
       {{"a", T::kNumber, "1", {}, "scale"},
        {"b", T::kNumber, "1", {}, "input scale"},
        {"c", T::kNumber, "0", {}, "shift"}},
       "a erf(b x) + c",
       [](const LayerArgs& a) {
         return ActParams{ActKind::kErf, a.number("a"), a.number("b"), a.number("c")};
       },
       [](const LayerArgs& a) {
         return "erf(a=" + fmt_number(a.number("a")) + ", b=" + fmt_number(a.number("b")) +
                ", c=" + fmt_number(a.number("c")) + ")";
       }},
      {"gelu",
       {},
       "x Φ(x) (exact GELU)",
       [](const LayerArgs&) {
         return ActParams{ActKind::kGelu, 0, 1, 0};
       },
       [](const LayerArgs&) { return std::string("gelu"); }},
      {"sign",
       {},
       "sign(x); adds nothing to the NTK (zero derivative almost everywhere)",
       [](const LayerArgs&) {
         return ActParams{ActKind::kSign, 0, 1, 0};
       },
       [](const LayerArgs&) { return std::string("sign"); }},
      {"sin",
       {{"a", T::kNumber, "1", {}, "scale"},
        {"b", T::kNumber, "1", {}, "frequency"},
        {"c", T::kNumber, "0", {}, "phase"}},
       "a sin(b x + c)",
       [](const LayerArgs& a) {
         return ActParams{ActKind::kSin, a.number("a"), a.number("b"), a.number("c")};
       },
       [](const LayerArgs& a) {
         return "sin(a=" + fmt_number(a.number("a")) + ", b=" + fmt_number(a.number("b")) +
                ", c=" + fmt_number(a.number("c")) + ")";
       }},
      {"tanh",
       {},
       "tanh(x); Gauss–Hermite quadrature",
       [](const LayerArgs&) {
         return ActParams{ActKind::kTanh, 0, 1, 0};
       },
       [](const LayerArgs&) { return std::string("tanh"); }},
      {"sigmoid",
       {},
       "1 / (1 + e^-x); Gauss–Hermite quadrature",
       [](const LayerArgs&) {
         return ActParams{ActKind::kSigmoid, 0, 1, 0};
       },
       [](const LayerArgs&) { return std::string("sigmoid"); }},
      {"softplus",
       {},
       "log(1 + e^x); Gauss–Hermite quadrature",
       [](const LayerArgs&) {
         return ActParams{ActKind::kSoftplus, 0, 1, 0};
       },
       [](const LayerArgs&) { return std::string("softplus"); }},
      {"elu",
       {},
       "x for x > 0, e^x - 1 otherwise; polar quadrature split at the kink",
       [](const LayerArgs&) {
         return ActParams{ActKind::kElu, 0, 1, 0};
       },
       [](const LayerArgs&) { return std::string("elu"); }},
      {"silu",
       {},
       "x sigmoid(x); Gauss–Hermite quadrature",
       [](const LayerArgs&) {
         return ActParams{ActKind::kSilu, 0, 1, 0};
       },
       [](const LayerArgs&) { return std::string("silu"); }},
  };
  for (const auto& d : defs) {
    auto to_params = d.params;
    auto to_text = d.describe;
    r.add({d.name, "activation", d.args,
           [to_params, to_text](const LayerArgs& args) {
             return std::make_shared<ActivationLayer>(to_params(args), to_text(args));
           },
           d.help});
  }
}

}  // namespace layers
}  // namespace ntk
