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
  return math::gauss_hermite_order(pole_distance(params_.kind), v1, v2);
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

namespace {

// φ and φ' of any activation, for the quadrature sums on scalar lanes (the closed forms too: tests check them
// against quadrature).
struct AnyActivation {
  const Activation* act;
  template <class L>
  void fdf(double x, double& f, double& df) const {
    static_assert(L::W == 1, "scalar lanes only");
    f = act->f(x);
    df = act->df(x);
  }
};

}  // namespace

void quadrature_expectations(const Activation& act, bool kinked, int order, double v1, double v2, double c,
                             double& e_ff, double& e_dd) {
  using L = math::ScalarLanes<double>;
  auto run = [&](const auto& fn) {
    if (!kinked) {
      const quadrature::Rule& r = quadrature::gauss_hermite(order);
      math::gauss_hermite_expectations<L>(fn, r.nodes.data(), r.weights.data(), r.size(), v1, v2, c, e_ff,
                                          e_dd);
      return;
    }
    const quadrature::Rule& ang = quadrature::gauss_legendre(math::polar_angle_order(order));
    const quadrature::Rule& rad = quadrature::polar_radius(order);
    math::polar_expectations<L>(fn, ang.nodes.data(), ang.weights.data(), ang.size(), rad.nodes.data(),
                                rad.weights.data(), rad.size(), v1, v2, c, e_ff, e_dd);
  };
  // The quadrature activations through their own fdf (the formula the fast engines vectorise).
  switch (act.params().kind) {
#define NTK_X(kind, type) \
  case ActKind::kind:     \
    run(math::type{});    \
    return;
    NTK_QUADRATURE_ACTIVATIONS(NTK_X)
#undef NTK_X
    default:
      run(AnyActivation{&act});
  }
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
