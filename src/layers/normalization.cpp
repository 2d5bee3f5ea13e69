// layernorm: normalises each position over channels, y = (x - mean_c x) / sqrt(var_c x + eps), no parameters.
// Kernel (neural-tangents' LayerNorm over the channel axis, Gaussian inputs only): with v1, v2 the
// self-variances,
//   Σ'(p, q) = Σ(p, q) / sqrt(v1(p) v2(q)),   Θ'(p, q) = Θ(p, q) / sqrt(v1(p) v2(q))   (math/layernorm.h).
// The channel mean of i.i.d. zero-mean Gaussian channels vanishes at infinite width, which is why the input
// must be the output of an affine layer (dense/conv, possibly pooled); after a nonlinearity the mean does not
// vanish. identity: y = x.
#include "layers/common.h"
#include "layers/eigen_views.h"
#include "layers/math/layernorm.h"
#include "layers/registry_internal.h"

namespace ntk::layers {
namespace {

constexpr double kLayerNormEps = math::kLayerNormEpsilon;

class LayerNorm final : public Layer {
 public:
  std::string name() const override { return "layernorm"; }
  std::string describe() const override { return "layernorm"; }
  LayerStep step() const override {
    LayerStep s;
    s.kind = StepKind::kLayerNorm;
    return s;
  }
  bool needs_variances() const override { return true; }
  ExampleShape output_shape(const ExampleShape& in) const override { return in; }

  template <typename T>
  void kernel_impl(PairState<T>& s, const SelfVariances<T>& v, const ExampleShape&,
                   const KernelConfig&) const {
    NTK_THROW_IF_NOT(s.gaussian,
                     "layernorm: its input must be Gaussian (directly after dense or conv, possibly "
                     "pooled), as in neural-tangents; it follows a nonlinearity here");
    using S = math::ScalarLanes<double>;
    const bool with_ntk = !s.ntk.empty();
    const int64_t p1 = s.p1(), p2 = s.diagonal ? 1 : s.p2();
    for (int64_t i = 0; i < p1; ++i)
      for (int64_t j = 0; j < p2; ++j) {
        const int64_t idx = i * p2 + j;
        double a, b1, b2, q;
        math::self_quantities<double>(StepKind::kLayerNorm, v.var1[i], a, b1, q);
        math::self_quantities<double>(StepKind::kLayerNorm, v.var2[s.diagonal ? i : j], a, b2, q);
        double c = s.nngp[idx], t = with_ntk ? s.ntk[idx] : 0.0;
        math::layernorm_map<S>(c, t, with_ntk, b1, b2);
        s.nngp[idx] = static_cast<T>(c);
        if (with_ntk) s.ntk[idx] = static_cast<T>(t);
      }
  }
  NTK_LAYER_KERNEL_DISPATCH

  Tensor forward(const Tensor& x, const LayerParams&, const ExampleShape& in,
                 const LayerSetting&) const override {
    Tensor y(x.shape);
    const int64_t c = in.channels;
    auto X = as_rows(x, c);
    auto Y = as_rows(y, c);
    for (Eigen::Index r = 0; r < X.rows(); ++r) {
      const double mean = X.row(r).mean();
      const double var = (X.row(r).array() - mean).square().mean();
      Y.row(r) = (X.row(r).array() - mean) / std::sqrt(var + kLayerNormEps);
    }
    return y;
  }

  Tensor backward(const Tensor& x, const Tensor& y, const Tensor& grad_y, const LayerParams&,
                  const ExampleShape& in, const LayerSetting&, LayerParams*) const override {
    Tensor g(x.shape);
    const int64_t c = in.channels;
    auto X = as_rows(x, c);
    auto Y = as_rows(y, c);
    auto G = as_rows(grad_y, c);
    auto GX = as_rows(g, c);
    for (Eigen::Index r = 0; r < X.rows(); ++r) {
      const double mean = X.row(r).mean();
      const double var = (X.row(r).array() - mean).square().mean();
      const double inv_std = 1.0 / std::sqrt(var + kLayerNormEps);
      const double g_mean = G.row(r).mean();
      const double gy_mean = (G.row(r).array() * Y.row(r).array()).mean();
      GX.row(r) = inv_std * (G.row(r).array() - g_mean - Y.row(r).array() * gy_mean);
    }
    return g;
  }
};

class Identity final : public Layer {
 public:
  std::string name() const override { return "identity"; }
  std::string describe() const override { return "identity"; }
  LayerStep step() const override { return LayerStep{}; }
  ExampleShape output_shape(const ExampleShape& in) const override { return in; }
  template <typename T>
  void kernel_impl(PairState<T>&, const SelfVariances<T>&, const ExampleShape&, const KernelConfig&) const {}
  NTK_LAYER_KERNEL_DISPATCH
  Tensor forward(const Tensor& x, const LayerParams&, const ExampleShape&,
                 const LayerSetting&) const override {
    return x;
  }
  Tensor backward(const Tensor&, const Tensor&, const Tensor& grad_y, const LayerParams&, const ExampleShape&,
                  const LayerSetting&, LayerParams*) const override {
    return grad_y;
  }
};

}  // namespace

void register_normalization(LayerRegistry& r) {
  r.add({"layernorm",
         "layer",
         {},
         [](const LayerArgs&) { return std::make_shared<LayerNorm>(); },
         "normalises each position over channels (input must come from dense/conv)"});
  r.add({"identity", "layer", {}, [](const LayerArgs&) { return std::make_shared<Identity>(); }, "y = x"});
}

}  // namespace ntk::layers
