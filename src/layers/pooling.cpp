// Layers that pool or reshape positions: avgpool, gap (global average pooling) and flatten.
//   avgpool(k, stride, pad): y(p) = 1/k² Σ_{a in window(p)} x(a), zero padding counted (neural-tangents'
//   AvgPool
//     with normalize_edges=False); Σ'(p, q) = 1/k⁴ Σ_{a in window(p), b in window(q)} Σ(a, b), the same for
//     Θ.
//   gap: y = mean over positions; Σ' = mean over all position pairs of Σ (needs the full P x P covariance).
//   flatten: y = all values as one vector; Σ' = mean over positions p of Σ(p, p) (only the diagonal is
//   needed).
#include "layers/common.h"
#include "layers/eigen_views.h"
#include "layers/registry_internal.h"

namespace ntk::layers {
namespace {

class AvgPool final : public Layer {
 public:
  AvgPool(int64_t k, int64_t stride, Padding pad) : k_(k), stride_(stride), pad_(pad) {}
  std::string name() const override { return "avgpool"; }
  std::string describe() const override {
    return "avgpool(" + std::to_string(k_) + ", stride=" + std::to_string(stride_) +
           ", pad=" + padding_name(pad_) + ")";
  }
  bool mixes_positions() const override { return true; }
  LayerStep step() const override {
    LayerStep s;
    s.kind = StepKind::kAvgPool;
    s.window = WindowParams{k_, stride_, pad_};
    return s;
  }

  ExampleShape output_shape(const ExampleShape& in) const override {
    NTK_THROW_IF_NOT(in.spatial, "%s needs images (N, H, W, C); its input is a vector %s", describe().c_str(),
                     in.to_string().c_str());
    Window1d wh = window_1d(in.height, k_, stride_, pad_), ww = window_1d(in.width, k_, stride_, pad_);
    NTK_THROW_IF_NOT(wh.out > 0 && ww.out > 0, "%s: image of %lldx%lld is too small for a %lldx%lld window",
                     describe().c_str(), (long long)in.height, (long long)in.width, (long long)k_,
                     (long long)k_);
    ExampleShape out = in;
    out.height = wh.out;
    out.width = ww.out;
    return out;
  }

  // Pools axis pair (rows of length n_outer... ) — written out explicitly for the two images in turn.
  template <typename T>
  static void pool_matrix(const std::vector<T>& in, int64_t h, int64_t w, int64_t other, const Window1d& wh,
                          const Window1d& ww, int64_t k, int64_t s, Padding pad, bool first_image,
                          std::vector<T>& out) {
    // first_image: in is (h*w) x other, out is (oh*ow) x other; else in is other x (h*w), out other x
    // (oh*ow).
    const int64_t oh = wh.out, ow = ww.out;
    out.assign(oh * ow * other, T(0));
    for (int64_t i = 0; i < oh; ++i) {
      const math::TapRange ty = kernel_tap_range(i, k, s, wh.pad_lo, h, pad);
      for (int64_t j = 0; j < ow; ++j) {
        const math::TapRange tx = kernel_tap_range(j, k, s, ww.pad_lo, w, pad);
        for (int64_t dy = ty.lo; dy < ty.hi; ++dy) {
          const int64_t r = window_index(i, dy, s, wh.pad_lo, h, pad);
          const int64_t my = tap_multiplicity(dy, k, h, pad);
          for (int64_t dx = tx.lo; dx < tx.hi; ++dx) {
            const int64_t c = window_index(j, dx, s, ww.pad_lo, w, pad);
            const int64_t src = r * w + c, dst = i * ow + j;
            const T m = static_cast<T>(my * tap_multiplicity(dx, k, w, pad));
            if (first_image) {
              for (int64_t o = 0; o < other; ++o) out[dst * other + o] += m * in[src * other + o];
            } else {
              for (int64_t o = 0; o < other; ++o) out[o * oh * ow + dst] += m * in[o * h * w + src];
            }
          }
        }
      }
    }
  }

  template <typename T>
  void kernel_impl(PairState<T>& s, const SelfVariances<T>&, const ExampleShape&, const KernelConfig&) const {
    NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, !s.diagonal, "avgpool needs the full position covariance");
    const Window1d h1 = window_1d(s.h1, k_, stride_, pad_), w1 = window_1d(s.w1, k_, stride_, pad_);
    const Window1d h2 = window_1d(s.h2, k_, stride_, pad_), w2 = window_1d(s.w2, k_, stride_, pad_);
    const T k2 = static_cast<T>(k_) * static_cast<T>(k_),
            scale = T(1) / (k2 * k2);  // k^4 overflows int64 from k = 55109
    auto pool = [&](std::vector<T>& m) {
      std::vector<T> tmp, out;
      pool_matrix(m, s.h1, s.w1, s.p2(), h1, w1, k_, stride_, pad_, true, tmp);
      pool_matrix(tmp, s.h2, s.w2, h1.out * w1.out, h2, w2, k_, stride_, pad_, false, out);
      for (auto& v : out) v *= scale;
      m.swap(out);
    };
    pool(s.nngp);
    if (!s.ntk.empty()) pool(s.ntk);
    s.h1 = h1.out;
    s.w1 = w1.out;
    s.h2 = h2.out;
    s.w2 = w2.out;
  }
  NTK_LAYER_KERNEL_DISPATCH

  Tensor forward(const Tensor& x, const LayerParams&, const ExampleShape& in,
                 const LayerSetting&) const override {
    Tensor y(batch_shape(x.rows(), output_shape(in)));
    const double inv = 1.0 / static_cast<double>(k_ * k_);
    const int64_t c = in.channels;
    for (int64_t n = 0; n < x.rows(); ++n) {
      const double* xn = x.row(n);
      double* yn = y.row(n);
      for_each_window_tap(in, k_, stride_, pad_, [&](int64_t o, int64_t, int64_t i) {
        for (int64_t ch = 0; ch < c; ++ch) yn[o * c + ch] += inv * xn[i * c + ch];
      });
    }
    return y;
  }

  Tensor backward(const Tensor& x, const Tensor&, const Tensor& grad_y, const LayerParams&,
                  const ExampleShape& in, const LayerSetting&, LayerParams*) const override {
    Tensor grad_x(x.shape);
    const double inv = 1.0 / static_cast<double>(k_ * k_);
    const int64_t c = in.channels;
    for (int64_t n = 0; n < x.rows(); ++n) {
      const double* gy = grad_y.row(n);
      double* gx = grad_x.row(n);
      for_each_window_tap(in, k_, stride_, pad_, [&](int64_t o, int64_t, int64_t i) {
        for (int64_t ch = 0; ch < c; ++ch) gx[i * c + ch] += inv * gy[o * c + ch];
      });
    }
    return grad_x;
  }

 private:
  int64_t k_, stride_;
  Padding pad_;
};

class GlobalAvgPool final : public Layer {
 public:
  std::string name() const override { return "gap"; }
  LayerStep step() const override {
    LayerStep s;
    s.kind = StepKind::kGap;
    return s;
  }
  std::string describe() const override { return "gap"; }
  bool mixes_positions() const override { return true; }
  ExampleShape output_shape(const ExampleShape& in) const override {
    NTK_THROW_IF_NOT(in.spatial, "gap needs images (N, H, W, C); its input is a vector %s",
                     in.to_string().c_str());
    ExampleShape out;
    out.channels = in.channels;
    return out;
  }
  template <typename T>
  void kernel_impl(PairState<T>& s, const SelfVariances<T>&, const ExampleShape&, const KernelConfig&) const {
    NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, !s.diagonal, "gap needs the full position covariance");
    auto mean = [](std::vector<T>& m) {
      long double acc = 0;
      for (T v : m) acc += v;
      m.assign(1, static_cast<T>(acc / static_cast<long double>(m.size())));
    };
    mean(s.nngp);
    if (!s.ntk.empty()) mean(s.ntk);
    s.spatial = false;
    s.h1 = s.w1 = s.h2 = s.w2 = 1;
  }
  NTK_LAYER_KERNEL_DISPATCH

  Tensor forward(const Tensor& x, const LayerParams&, const ExampleShape& in,
                 const LayerSetting&) const override {
    Tensor y({x.rows(), in.channels});
    for (int64_t n = 0; n < x.rows(); ++n) {
      ConstRowMap xn(x.row(n), in.positions(), in.channels);
      as_rows(y, in.channels).row(n) = xn.colwise().mean();
    }
    return y;
  }
  Tensor backward(const Tensor& x, const Tensor&, const Tensor& grad_y, const LayerParams&,
                  const ExampleShape& in, const LayerSetting&, LayerParams*) const override {
    Tensor grad_x(x.shape);
    const double inv = 1.0 / static_cast<double>(in.positions());
    for (int64_t n = 0; n < x.rows(); ++n) {
      RowMap gx(grad_x.row(n), in.positions(), in.channels);
      gx.rowwise() = inv * as_rows(grad_y, in.channels).row(n);
    }
    return grad_x;
  }
};

class Flatten final : public Layer {
 public:
  std::string name() const override { return "flatten"; }
  LayerStep step() const override {
    LayerStep s;
    s.kind = StepKind::kFlatten;
    return s;
  }
  std::string describe() const override { return "flatten"; }
  ExampleShape output_shape(const ExampleShape& in) const override {
    ExampleShape out;
    out.channels = in.size();
    return out;
  }
  template <typename T>
  void kernel_impl(PairState<T>& s, const SelfVariances<T>&, const ExampleShape&, const KernelConfig&) const {
    if (!s.spatial) return;
    NTK_THROW_IF_NOT(s.p1() == s.p2(),
                     "flatten: the two inputs have different spatial sizes (%lldx%lld vs %lldx%lld)",
                     (long long)s.h1, (long long)s.w1, (long long)s.h2, (long long)s.w2);
    const int64_t p = s.p1();
    auto trace_mean = [&](std::vector<T>& m) {
      long double acc = 0;
      for (int64_t i = 0; i < p; ++i) acc += s.diagonal ? m[i] : m[i * p + i];
      m.assign(1, static_cast<T>(acc / static_cast<long double>(p)));
    };
    trace_mean(s.nngp);
    if (!s.ntk.empty()) trace_mean(s.ntk);
    s.spatial = false;
    s.diagonal = false;
    // Units of the flattened vector come from different positions and are not identically distributed: the
    // averaged kernel is only valid for an affine readout (neural-tangents marks it non-Gaussian too).
    s.gaussian = false;
    s.h1 = s.w1 = s.h2 = s.w2 = 1;
  }
  NTK_LAYER_KERNEL_DISPATCH

  Tensor forward(const Tensor& x, const LayerParams&, const ExampleShape& in,
                 const LayerSetting&) const override {
    return Tensor({x.rows(), in.size()}, x.data);
  }
  Tensor backward(const Tensor& x, const Tensor&, const Tensor& grad_y, const LayerParams&,
                  const ExampleShape&, const LayerSetting&, LayerParams*) const override {
    return Tensor(x.shape, grad_y.data);
  }
};

}  // namespace

void register_pooling(LayerRegistry& r) {
  using T = ArgSpec::Type;
  r.add({"avgpool",
         "layer",
         {{"k", T::kInteger, "", {}, "window size (k x k)"},
          {"stride", T::kInteger, "1", {}, "stride"},
          {"pad", T::kChoice, "valid", {"same", "valid", "circular"}, "padding"}},
         [](const LayerArgs& a) {
           return std::make_shared<AvgPool>(a.integer_at_least("k", 1), a.integer_at_least("stride", 1),
                                            parse_padding(a.choice("pad")));
         },
         "average pooling over k x k windows"});
  r.add({"gap",
         "layer",
         {},
         [](const LayerArgs&) { return std::make_shared<GlobalAvgPool>(); },
         "global average pooling: images (H, W, C) to vectors (C)"});
  r.add({"flatten",
         "layer",
         {},
         [](const LayerArgs&) { return std::make_shared<Flatten>(); },
         "flattens images (H, W, C) to vectors (H*W*C)"});
}

}  // namespace ntk::layers
