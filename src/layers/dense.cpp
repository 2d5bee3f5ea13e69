// dense: a fully-connected layer over the channel axis (per position for images).
//   NTK parameterization:      y = (w_std / sqrt(n_in)) x W + b_std b,   W, b ~ N(0, 1)
//   standard parameterization: y = x W + b,   W ~ N(0, w_std^2 / n_in),  b ~ N(0, b_std^2)
//   μP: multipliers and initial stds by the layer's place (ntk/layer.h, affine_scaling)
// Kernel (neural-tangents' Dense): math/affine.h.
#include "layers/common.h"
#include "layers/eigen_views.h"
#include "layers/math/affine.h"
#include "layers/registry_internal.h"

namespace ntk::layers {
namespace {

class Dense final : public Layer {
 public:
  explicit Dense(AffineArgs a) : a_(a) {}
  std::string name() const override { return "dense"; }
  std::string describe() const override { return "dense(" + a_.describe() + ")"; }

  ExampleShape output_shape(const ExampleShape& in) const override {
    ExampleShape out = in;
    out.channels = a_.width;
    return out;
  }

  LayerStep step() const override {
    LayerStep s;
    s.kind = StepKind::kDense;
    s.affine = a_.params();
    return s;
  }

  template <typename T>
  void kernel_impl(PairState<T>& s, const SelfVariances<T>&, const ExampleShape& in,
                   const KernelConfig& cfg) const {
    using S = math::ScalarLanes<T>;
    const math::AffineConsts<T> k = math::affine_consts<T>(a_.params(), static_cast<double>(in.channels));
    const bool ntk_param = cfg.parameterization == Parameterization::kNtk;
    const bool with_ntk = !s.ntk.empty();
    T unused = 0;
    for (size_t i = 0; i < s.nngp.size(); ++i)
      math::affine_map<S>(k, ntk_param, s.nngp[i], with_ntk ? s.ntk[i] : unused, with_ntk);
    s.gaussian = true;
  }
  NTK_LAYER_KERNEL_DISPATCH

  bool has_params() const override { return true; }
  bool trainable() const override { return a_.trainable; }

  LayerParams init_params(const ExampleShape& in, const LayerSetting& p,
                          std::mt19937_64& rng) const override {
    return a_.init(scaling(in, p), in.channels, rng);
  }

  // Multipliers and initial stds of W and b (ntk/layer.h, affine_scaling: the only place they are set).
  AffineScaling scaling(const ExampleShape& in, const LayerSetting& p) const {
    return a_.scaling(p, in.channels, in.channels);
  }

  Tensor forward(const Tensor& x, const LayerParams& params, const ExampleShape& in,
                 const LayerSetting& p) const override {
    Tensor y(batch_shape(x.rows(), output_shape(in)));
    const AffineScaling sc = scaling(in, p);
    auto X = as_rows(x, in.channels);
    auto Y = as_rows(y, a_.width);
    Y.noalias() = sc.w_mult * (X * params.tensors[0]);
    if (a_.has_bias()) Y.rowwise() += sc.b_mult * params.tensors[1].row(0);
    return y;
  }

  Tensor backward(const Tensor& x, const Tensor&, const Tensor& grad_y, const LayerParams& params,
                  const ExampleShape& in, const LayerSetting& p, LayerParams* grads) const override {
    const AffineScaling sc = scaling(in, p);
    const double ws = sc.w_mult;
    auto X = as_rows(x, in.channels);
    auto G = as_rows(grad_y, a_.width);
    Tensor grad_x(x.shape);
    as_rows(grad_x, in.channels).noalias() = ws * (G * params.tensors[0].transpose());
    if (grads != nullptr) {
      grads->tensors[0].noalias() += ws * (X.transpose() * G);
      if (a_.has_bias()) grads->tensors[1].row(0) += sc.b_mult * G.colwise().sum();
    }
    return grad_x;
  }

  void add_empirical_ntk(const Tensor& x1, const Tensor& d1, const Tensor& x2, const Tensor& d2,
                         const LayerParams& params, const ExampleShape& in, const LayerSetting& p,
                         Matrix& ntk) const override {
    if (!a_.trainable) return;
    const AffineScaling sc = scaling(in, p);
    const double ws = sc.w_mult, bs = sc.b_mult;
    const int64_t n1 = x1.rows(), n2 = x2.rows(), pos = in.positions();
    if (!in.spatial) {
      // <x1 ⊗ d1, x2 ⊗ d2> = (x1 . x2)(d1 . d2): no per-example gradient is formed.
      RowMat dd = as_rows(d1, a_.width) * as_rows(d2, a_.width).transpose();
      RowMat xx = (ws * ws) * (as_rows(x1, in.channels) * as_rows(x2, in.channels).transpose());
      if (a_.has_bias()) xx.array() += bs * bs;
      ntk.array() += dd.array() * xx.array();
      return;
    }
    // Per position: dW = sum_p x_p ⊗ d_p; per-example gradients of this layer only.
    auto grads_of = [&](const Tensor& x, const Tensor& d, int64_t n, RowMat& gw, RowMat& gb) {
      gw.resize(n, in.channels * a_.width);
      gb.resize(n, a_.width);
      for (int64_t i = 0; i < n; ++i) {
        ConstRowMap xi(x.row(i), pos, in.channels);
        ConstRowMap di(d.row(i), pos, a_.width);
        RowMat g = ws * (xi.transpose() * di);
        gw.row(i) = Eigen::Map<const Eigen::RowVectorXd>(g.data(), g.size());
        gb.row(i) = bs * di.colwise().sum();
      }
    };
    RowMat gw1, gb1, gw2, gb2;
    grads_of(x1, d1, n1, gw1, gb1);
    grads_of(x2, d2, n2, gw2, gb2);
    ntk.noalias() += gw1 * gw2.transpose();
    if (a_.has_bias()) ntk.noalias() += gb1 * gb2.transpose();
  }

 private:
  AffineArgs a_;
};

}  // namespace

void register_dense(LayerRegistry& r) {
  r.add(
      {"dense", "layer", affine_arg_specs("512"),
       [](const LayerArgs& args) { return std::make_shared<Dense>(AffineArgs::from(args)); },
       "fully-connected layer over the channel axis; the last dense is the readout (width 1 unless given)"});
}

}  // namespace ntk::layers
