// A layer owns, side by side, its analytic kernel map (how it transforms the NNGP Σ and the NTK Θ of a pair
// of inputs) and its finite-width forward/backward pass, so both are written, read and tested together.
//
// Analytic state of one pair of inputs (x, x'): for vector-valued activations a scalar Σ and Θ; for images
// the covariance over pairs of positions, a (H1*W1) x (H2*W2) row-major matrix (position p = row * W + col),
// or only its diagonal (p, p) when no layer mixes positions (see PairState::diagonal). Channels do not
// appear: infinitely many channels are i.i.d., so the kernel is per channel.
#pragma once

#include <Eigen/Core>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ntk/kernel.h"
#include "ntk/layer_step.h"
#include "ntk/tensor.h"

namespace ntk {

// Shape of one example flowing through the network: spatial (H, W, C) or a vector (C).
struct ExampleShape {
  bool spatial = false;
  int64_t height = 1, width = 1, channels = 0;
  int64_t positions() const { return height * width; }
  int64_t size() const { return height * width * channels; }
  std::string to_string() const;
};

template <typename T>
struct PairState {
  bool spatial = false;   // image-valued (positions) or vector-valued
  bool diagonal = false;  // only positions (p, p) are stored (needs equal sizes for both inputs)
  bool gaussian =
      true;  // outputs of an affine layer are Gaussian (LayerNorm requires it, as neural-tangents)
  int64_t h1 = 1, w1 = 1, h2 = 1, w2 = 1;
  std::vector<T> nngp, ntk;  // full: (h1*w1) x (h2*w2) row-major; diagonal: h1*w1; vector: 1
  int64_t p1() const { return h1 * w1; }
  int64_t p2() const { return h2 * w2; }
};

// Position-diagonal of Σ(x, x) at a layer's input, for each of the two inputs of a pair.
template <typename T>
struct SelfVariances {
  const T* var1 = nullptr;  // p1 values
  const T* var2 = nullptr;  // p2 values
};

struct KernelConfig {
  Parameterization parameterization = Parameterization::kNtk;
};

// How a layer of a finite network is parameterised: the network's parameterization and, for μP, where the
// layer sits (which of an affine layer's dimensions grow with the width; Tensor Programs V's input, hidden
// and output weights). The network fills it in per layer (Network); a bare Parameterization converts to a
// hidden layer.
struct LayerSetting {
  Parameterization parameterization = Parameterization::kNtk;
  bool input_layer = false;  // the first affine layer: its fan-in is the data's, not a width
  bool readout = false;      // the last affine layer: its fan-out is the network's outputs, not a width
  // The width the fan-in grows with: the output channels of the previous affine layer (a flatten readout's
  // fan-in is H·W·C but its width is C). 0: the layer input's channel count.
  int64_t width_in = 0;
  LayerSetting() = default;
  LayerSetting(Parameterization p) : parameterization(p) {}  // NOLINT: implicit on purpose
  LayerSetting(Parameterization p, bool input, bool out, int64_t w_in)
      : parameterization(p), input_layer(input), readout(out), width_in(w_in) {}
};

// The one place where the parameterizations differ, for an affine layer (dense, conv) with fan_in inputs
// per output (k·k·C_in for conv), output width width_out and fan-in width width_in (channels, see
// LayerSetting::width_in). The layer computes y = w_mult·(x W) + b_mult·b with stored parameters
// W ~ N(0, w_init²), b ~ N(0, b_init²), and every parameter takes SGD steps with the one global learning
// rate η, so the effective weight w_mult·W starts with std w_mult·w_init and moves with learning rate
// η·w_mult² (eff_w_lr). Per parameterization (w, b = the layer's w_std, b_std):
//   ntk:      w_mult = w/√fan_in, w_init = 1;  b_mult = b, b_init = 1
//   standard: w_mult = 1, w_init = w/√fan_in;  b_mult = 1, b_init = b
//   mup (Yang & Hu 2021, Tensor Programs IV; the SGD row of Tensor Programs V, Table 3): the ntk layer with
//     the multiplier moved into the stored weights by a width factor n, w_mult = (w/√fan_in)·√n and
//     w_init = 1/√n, so that the effective learning rate is n times the ntk one:
//       input layer   n = width_out  (eff. var w²/fan_in,  eff. lr ∝ fan_out)
//       hidden layer  n = width_in   (eff. var w²/fan_in,  eff. lr ∝ 1 in the width)
//       readout       w_mult = w/√fan_in, w_init = 1/√width_in  (eff. var ∝ 1/fan_in², eff. lr ∝ 1/fan_in)
//     and the biases of the input and hidden layers b_mult = b·√width_out, b_init = 1/√width_out (eff. var
//     b², eff. lr ∝ fan_out); the readout's bias (and a network's only affine layer) is the ntk one. At width
//     1 μP is the ntk parameterization; at any width its empirical NTK at initialisation has the ntk
//     parameterization's limit when the hidden widths are equal, and its outputs start O(1/√width).
struct AffineScaling {
  double w_mult = 1, w_init = 1, b_mult = 1, b_init = 1;
  double eff_w_std() const { return w_mult * w_init; }
  double eff_b_std() const { return b_mult * b_init; }
  double eff_w_lr() const { return w_mult * w_mult; }  // per unit of η
  double eff_b_lr() const { return b_mult * b_mult; }
};
AffineScaling affine_scaling(const LayerSetting& setting, double fan_in, double width_in, double width_out,
                             double w_std, double b_std);

// Parameters of one layer of a finite network (weights then bias, each row-major).
struct LayerParams {
  std::vector<Eigen::MatrixXd> tensors;  // column-major Eigen storage; shapes documented by each layer
};

class Layer {
 public:
  virtual ~Layer() = default;
  virtual std::string name() const = 0;
  // The layer as the architecture language writes it, with every argument (e.g. "dense(width=512,
  // w_std=1.5)").
  virtual std::string describe() const = 0;
  // The typed descriptor of the layer's analytic step (ntk/layer_step.h): what the kernel engines read to run
  // it. Its closed-form map is written once in src/layers/math/.
  virtual LayerStep step() const = 0;

  // Shape of the output for an input of the given shape; throws (naming the layer) when the input does not
  // fit.
  virtual ExampleShape output_shape(const ExampleShape& in) const = 0;
  // Whether the analytic map reads off-diagonal positions (pooling); false lets the engine keep only (p, p).
  virtual bool mixes_positions() const { return false; }
  // Whether the analytic map needs the self-variances of both inputs (nonlinearities, normalisation).
  virtual bool needs_variances() const { return false; }

  // Analytic map on the pair state. `in` is the layer's input example shape.
  virtual void kernel(PairState<double>& s, const SelfVariances<double>& v, const ExampleShape& in,
                      const KernelConfig& cfg) const = 0;
  virtual void kernel(PairState<float>& s, const SelfVariances<float>& v, const ExampleShape& in,
                      const KernelConfig& cfg) const = 0;

  // ---- finite width ----
  virtual bool has_params() const { return false; }
  virtual bool trainable() const { return false; }
  // Draws parameters for input shape `in` (standard normal under the NTK parameterization; N(0,
  // w_std^2/fan_in) and N(0, b_std^2) under the standard one; affine_scaling for all three).
  virtual LayerParams init_params(const ExampleShape& in, const LayerSetting& p, std::mt19937_64& rng) const {
    return {};
  }
  // Batch forward: x has shape (N, ...in), returns (N, ...out).
  virtual Tensor forward(const Tensor& x, const LayerParams& params, const ExampleShape& in,
                         const LayerSetting& p) const = 0;
  // Batch backward: given x, y = forward(x) and dL/dy, returns dL/dx and (when grads != nullptr and the layer
  // has parameters) accumulates dL/dparams summed over the batch into *grads (same shapes as params).
  virtual Tensor backward(const Tensor& x, const Tensor& y, const Tensor& grad_y, const LayerParams& params,
                          const ExampleShape& in, const LayerSetting& p, LayerParams* grads) const = 0;
  // Empirical NTK contribution of this layer's parameters: adds sum over its parameters of
  //   <d f(x1_i)/d theta, d f(x2_j)/d theta>
  // to ntk (N1 x N2), from the layer inputs x1, x2 and the back-propagated output signals d1 = df/dy (N1,
  // ...out), d2 (N2, ...out). Never materialises more than one layer's per-example gradients.
  virtual void add_empirical_ntk(const Tensor& x1, const Tensor& d1, const Tensor& x2, const Tensor& d2,
                                 const LayerParams& params, const ExampleShape& in, const LayerSetting& p,
                                 Matrix& ntk) const {}
};

// Helper that routes both float and double kernel() overloads to one template member kernel_impl<T>.
#define NTK_LAYER_KERNEL_DISPATCH                                                           \
  void kernel(PairState<double>& s, const SelfVariances<double>& v, const ExampleShape& in, \
              const KernelConfig& cfg) const override {                                     \
    kernel_impl<double>(s, v, in, cfg);                                                     \
  }                                                                                         \
  void kernel(PairState<float>& s, const SelfVariances<float>& v, const ExampleShape& in,   \
              const KernelConfig& cfg) const override {                                     \
    kernel_impl<float>(s, v, in, cfg);                                                      \
  }

}  // namespace ntk
