// conv(k, stride, pad): 2-D convolution with a k x k filter over images (N, H, W, C), weights HWIO.
//   NTK parameterization:      y = (w_std / sqrt(k*k*C_in)) conv(x, W) + b_std b,   W, b ~ N(0, 1)
//   standard parameterization: y = conv(x, W) + b,   W ~ N(0, w_std^2 / (k*k*C_in)),  b ~ N(0, b_std^2)
//   μP: multipliers and initial stds by the layer's place (ntk/layer.h, affine_scaling)
// Kernel (Arora et al. 2019; neural-tangents' Conv): for output positions p, q of the two images
//   Σ'(p, q), Θ'(p, q): the affine map (math/affine.h) of the means over the window of
//   Σ(s p + δ, s q + δ), Θ(s p + δ, s q + δ) (zero padding counts as 0; circular wraps)
// The same offset δ for both images: the map preserves q - p, which the fast engine exploits.
#include <algorithm>

#include "layers/common.h"
#include "layers/eigen_views.h"
#include "layers/math/affine.h"
#include "layers/registry_internal.h"

namespace ntk::layers {
namespace {

class Conv final : public Layer {
 public:
  Conv(AffineArgs a, int64_t k, int64_t stride, Padding pad) : a_(a), k_(k), stride_(stride), pad_(pad) {}
  std::string name() const override { return "conv"; }
  std::string describe() const override {
    return "conv(" + std::to_string(k_) + ", stride=" + std::to_string(stride_) +
           ", pad=" + padding_name(pad_) + ", " + a_.describe() + ")";
  }

  ExampleShape output_shape(const ExampleShape& in) const override {
    NTK_THROW_IF_NOT(in.spatial,
                     "conv(%lld) needs images (N, H, W, C); its input is a vector %s (flatten or gap "
                     "earlier, or give (N, H, W, C) inputs)",
                     (long long)k_, in.to_string().c_str());
    Window1d wh = window_1d(in.height, k_, stride_, pad_), ww = window_1d(in.width, k_, stride_, pad_);
    NTK_THROW_IF_NOT(wh.out > 0 && ww.out > 0,
                     "%s: image of %lldx%lld is too small for a %lldx%lld filter with "
                     "pad=valid",
                     describe().c_str(), (long long)in.height, (long long)in.width, (long long)k_,
                     (long long)k_);
    NTK_THROW_IF_NOT(
        static_cast<double>(k_) * static_cast<double>(k_) * static_cast<double>(in.channels) < 9e15,
        "%s: fan-in %lld x %lld x %lld channels is too large", describe().c_str(), (long long)k_,
        (long long)k_, (long long)in.channels);
    ExampleShape out = in;
    out.height = wh.out;
    out.width = ww.out;
    out.channels = a_.width;
    return out;
  }

  LayerStep step() const override {
    LayerStep s;
    s.kind = StepKind::kConv;
    s.affine = a_.params();
    s.window = WindowParams{k_, stride_, pad_};
    return s;
  }

  template <typename T>
  void kernel_impl(PairState<T>& s, const SelfVariances<T>&, const ExampleShape& in,
                   const KernelConfig& cfg) const {
    const Window1d h1 = window_1d(s.h1, k_, stride_, pad_), w1 = window_1d(s.w1, k_, stride_, pad_);
    const Window1d h2 = window_1d(s.h2, k_, stride_, pad_), w2 = window_1d(s.w2, k_, stride_, pad_);
    const bool with_ntk = !s.ntk.empty();
    std::vector<T> nngp_sum, ntk_sum;
    if (s.diagonal) {
      nngp_sum.assign(h1.out * w1.out, T(0));
      if (with_ntk) ntk_sum.assign(nngp_sum.size(), T(0));
      for (int64_t i = 0; i < h1.out; ++i)
        for (int64_t j = 0; j < w1.out; ++j) {
          T a = 0, b = 0;
          const math::TapRange ty = kernel_tap_range(i, k_, stride_, h1.pad_lo, s.h1, pad_);
          const math::TapRange tx = kernel_tap_range(j, k_, stride_, w1.pad_lo, s.w1, pad_);
          for (int64_t dy = ty.lo; dy < ty.hi; ++dy) {
            const int64_t r = window_index(i, dy, stride_, h1.pad_lo, s.h1, pad_);
            const int64_t my = tap_multiplicity(dy, k_, s.h1, pad_);
            for (int64_t dx = tx.lo; dx < tx.hi; ++dx) {
              const int64_t c = window_index(j, dx, stride_, w1.pad_lo, s.w1, pad_);
              const T m = static_cast<T>(my * tap_multiplicity(dx, k_, s.w1, pad_));
              a += m * s.nngp[r * s.w1 + c];
              if (with_ntk) b += m * s.ntk[r * s.w1 + c];
            }
          }
          nngp_sum[i * w1.out + j] = a;
          if (with_ntk) ntk_sum[i * w1.out + j] = b;
        }
    } else {
      // Folding circular taps (kernel_tap_range) needs one period for both images: they have one shape.
      NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, s.h1 == s.h2 && s.w1 == s.w2, "conv: images of two shapes");
      const int64_t q_out = h2.out * w2.out, p2 = s.p2();
      nngp_sum.assign(h1.out * w1.out * q_out, T(0));
      if (with_ntk) ntk_sum.assign(nngp_sum.size(), T(0));
      for (int64_t i1 = 0; i1 < h1.out; ++i1)
        for (int64_t j1 = 0; j1 < w1.out; ++j1)
          for (int64_t i2 = 0; i2 < h2.out; ++i2)
            for (int64_t j2 = 0; j2 < w2.out; ++j2) {
              T a = 0, b = 0;
              const math::TapRange ty = common_taps(kernel_tap_range(i1, k_, stride_, h1.pad_lo, s.h1, pad_),
                                                    kernel_tap_range(i2, k_, stride_, h2.pad_lo, s.h2, pad_));
              const math::TapRange tx = common_taps(kernel_tap_range(j1, k_, stride_, w1.pad_lo, s.w1, pad_),
                                                    kernel_tap_range(j2, k_, stride_, w2.pad_lo, s.w2, pad_));
              for (int64_t dy = ty.lo; dy < ty.hi; ++dy) {
                const int64_t r1 = window_index(i1, dy, stride_, h1.pad_lo, s.h1, pad_);
                const int64_t r2 = window_index(i2, dy, stride_, h2.pad_lo, s.h2, pad_);
                const int64_t my = tap_multiplicity(dy, k_, s.h1, pad_);
                for (int64_t dx = tx.lo; dx < tx.hi; ++dx) {
                  const int64_t c1 = window_index(j1, dx, stride_, w1.pad_lo, s.w1, pad_);
                  const int64_t c2 = window_index(j2, dx, stride_, w2.pad_lo, s.w2, pad_);
                  const int64_t idx = (r1 * s.w1 + c1) * p2 + r2 * s.w2 + c2;
                  const T m = static_cast<T>(my * tap_multiplicity(dx, k_, s.w1, pad_));
                  a += m * s.nngp[idx];
                  if (with_ntk) b += m * s.ntk[idx];
                }
              }
              const int64_t o = (i1 * w1.out + j1) * q_out + i2 * w2.out + j2;
              nngp_sum[o] = a;
              if (with_ntk) ntk_sum[o] = b;
            }
    }
    using S = math::ScalarLanes<T>;
    const math::AffineConsts<T> k = math::affine_consts<T>(a_.params(), static_cast<double>(fan_in(in)));
    const bool ntk_param = cfg.parameterization == Parameterization::kNtk;
    const T inv_k2 = T(1) / static_cast<T>(k_ * k_);
    T unused = 0;
    for (size_t i = 0; i < nngp_sum.size(); ++i) {
      // The affine map on the window means.
      nngp_sum[i] *= inv_k2;
      if (with_ntk) ntk_sum[i] *= inv_k2;
      math::affine_map<S>(k, ntk_param, nngp_sum[i], with_ntk ? ntk_sum[i] : unused, with_ntk);
    }
    s.nngp.swap(nngp_sum);
    if (with_ntk) s.ntk.swap(ntk_sum);
    s.h1 = h1.out;
    s.w1 = w1.out;
    s.h2 = h2.out;
    s.w2 = w2.out;
    s.gaussian = true;
  }
  NTK_LAYER_KERNEL_DISPATCH

  bool has_params() const override { return true; }
  bool trainable() const override { return a_.trainable; }

  int64_t fan_in(const ExampleShape& in) const { return k_ * k_ * in.channels; }
  // Multipliers and initial stds of W and b (ntk/layer.h, affine_scaling: the only place they are set).
  AffineScaling scaling(const ExampleShape& in, const LayerSetting& p) const {
    return a_.scaling(p, fan_in(in), in.channels);
  }

  LayerParams init_params(const ExampleShape& in, const LayerSetting& p,
                          std::mt19937_64& rng) const override {
    return a_.init(scaling(in, p), fan_in(in), rng);  // W rows ordered (dy, dx, c): HWIO
  }

  // Patches of one example: (P_out, k*k*C_in), zeros for padding taps.
  RowMat im2col(const double* x, const ExampleShape& in) const {
    const ExampleShape out = output_shape(in);
    const int64_t c = in.channels;
    RowMat patches = RowMat::Zero(out.positions(), fan_in(in));
    for_each_window_tap(in, k_, stride_, pad_, [&](int64_t o, int64_t tap, int64_t i) {
      std::copy(x + i * c, x + (i + 1) * c, patches.row(o).data() + tap * c);
    });
    return patches;
  }

  void col2im_add(const RowMat& patches, double* x, const ExampleShape& in) const {
    const int64_t c = in.channels;
    for_each_window_tap(in, k_, stride_, pad_, [&](int64_t o, int64_t tap, int64_t i) {
      const double* src = patches.row(o).data() + tap * c;
      for (int64_t ch = 0; ch < c; ++ch) x[i * c + ch] += src[ch];
    });
  }

  Tensor forward(const Tensor& x, const LayerParams& params, const ExampleShape& in,
                 const LayerSetting& p) const override {
    const ExampleShape out = output_shape(in);
    Tensor y(batch_shape(x.rows(), out));
    const AffineScaling sc = scaling(in, p);
    const double ws = sc.w_mult, bs = sc.b_mult;
    for (int64_t n = 0; n < x.rows(); ++n) {
      RowMat patches = im2col(x.row(n), in);
      RowMap yn(y.row(n), out.positions(), out.channels);
      yn.noalias() = ws * (patches * params.tensors[0]);
      if (a_.has_bias()) yn.rowwise() += bs * params.tensors[1].row(0);
    }
    return y;
  }

  Tensor backward(const Tensor& x, const Tensor&, const Tensor& grad_y, const LayerParams& params,
                  const ExampleShape& in, const LayerSetting& p, LayerParams* grads) const override {
    const ExampleShape out = output_shape(in);
    const AffineScaling sc = scaling(in, p);
    const double ws = sc.w_mult, bs = sc.b_mult;
    Tensor grad_x(x.shape);
    for (int64_t n = 0; n < x.rows(); ++n) {
      RowMat patches = im2col(x.row(n), in);
      ConstRowMap gn(grad_y.row(n), out.positions(), out.channels);
      RowMat grad_patches = ws * (gn * params.tensors[0].transpose());
      col2im_add(grad_patches, grad_x.row(n), in);
      if (grads != nullptr) {
        grads->tensors[0].noalias() += ws * (patches.transpose() * gn);
        if (a_.has_bias()) grads->tensors[1].row(0) += bs * gn.colwise().sum();
      }
    }
    return grad_x;
  }

  void add_empirical_ntk(const Tensor& x1, const Tensor& d1, const Tensor& x2, const Tensor& d2,
                         const LayerParams& params, const ExampleShape& in, const LayerSetting& p,
                         Matrix& ntk) const override {
    if (!a_.trainable) return;
    const ExampleShape out = output_shape(in);
    const AffineScaling sc = scaling(in, p);
    const double ws = sc.w_mult, bs = sc.b_mult;
    const int64_t per_example = fan_in(in) * a_.width;
    // Per-example gradients of this layer, in row blocks that keep each block under ~128 MiB.
    const int64_t block = std::max<int64_t>(1, (int64_t{16} << 20) / std::max<int64_t>(per_example, 1));
    auto grads_of = [&](const Tensor& x, const Tensor& d, int64_t begin, int64_t end, RowMat& gw,
                        RowMat& gb) {
      gw.resize(end - begin, per_example);
      gb.resize(end - begin, a_.width);
      for (int64_t i = begin; i < end; ++i) {
        RowMat patches = im2col(x.row(i), in);
        ConstRowMap di(d.row(i), out.positions(), a_.width);
        RowMat g = ws * (patches.transpose() * di);
        gw.row(i - begin) = Eigen::Map<const Eigen::RowVectorXd>(g.data(), g.size());
        gb.row(i - begin) = bs * di.colwise().sum();
      }
    };
    RowMat gw1, gb1, gw2, gb2;
    for (int64_t a0 = 0; a0 < x1.rows(); a0 += block) {
      const int64_t a1 = std::min(x1.rows(), a0 + block);
      grads_of(x1, d1, a0, a1, gw1, gb1);
      for (int64_t b0 = 0; b0 < x2.rows(); b0 += block) {
        const int64_t b1 = std::min(x2.rows(), b0 + block);
        grads_of(x2, d2, b0, b1, gw2, gb2);
        auto blk = ntk.block(a0, b0, a1 - a0, b1 - b0);
        blk.noalias() += gw1 * gw2.transpose();
        if (a_.has_bias()) blk.noalias() += gb1 * gb2.transpose();
      }
    }
  }

 private:
  AffineArgs a_;
  int64_t k_, stride_;
  Padding pad_;
};

}  // namespace

void register_conv(LayerRegistry& r) {
  using T = ArgSpec::Type;
  std::vector<ArgSpec> args = {
      {"k", T::kInteger, "", {}, "filter size (k x k)"},
      {"stride", T::kInteger, "1", {}, "stride"},
      {"pad", T::kChoice, "same", {"same", "valid", "circular"}, "padding"},
  };
  for (auto& a : affine_arg_specs("512")) args.push_back(a);
  r.add({"conv", "layer", args,
         [](const LayerArgs& args) {
           return std::make_shared<Conv>(AffineArgs::from(args), args.integer_at_least("k", 1),
                                         args.integer_at_least("stride", 1),
                                         parse_padding(args.choice("pad")));
         },
         "2-D convolution over images (N, H, W, C) with a k x k filter"});
}

}  // namespace ntk::layers
