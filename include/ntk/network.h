// Finite-width networks of the architecture language: forward pass, backward pass, parameter gradients, the
// empirical NTK by per-layer contraction, and Monte Carlo estimates of the NNGP and NTK over random draws.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "ntk/arch.h"
#include "ntk/kernel.h"

namespace ntk {

class Network {
 public:
  // Draws parameters with the given seed (the same seed gives the same network on every machine and thread count).
  Network(Architecture arch, const ExampleShape& input, Parameterization parameterization, uint64_t seed);
  Network(const std::string& spec, int64_t width, const ExampleShape& input, Parameterization parameterization,
          uint64_t seed);

  const Architecture& architecture() const { return arch_; }
  Parameterization parameterization() const { return param_; }
  // Where layer op k sits (input layer, readout, fan-in width), as its finite pass reads it.
  const LayerSetting& setting(size_t op) const { return settings_.at(op); }
  int64_t output_width() const { return shapes_.back().channels; }
  const ExampleShape& input_shape() const { return shapes_.front(); }

  // Outputs f(x), shape (N, K).
  Matrix apply(const Tensor& x) const;

  // Per-output empirical NTK: mean over outputs k of <df_k(x1_i)/dθ, df_k(x2_j)/dθ>, summing only trainable
  // layers. x2 == nullptr: x2 = x1.
  Matrix empirical_ntk(const Tensor& x1, const Tensor* x2 = nullptr) const;

  // Gradient of sum_i <g_i, f(x_i)> with respect to all parameters, for g = grad_out (N x K): with
  // g = f(X) - Y this is the gradient of ½||f(X) - Y||². Only trainable layers get non-zero gradients.
  std::vector<LayerParams> gradient(const Tensor& x, const Matrix& grad_out) const;

  // All parameters (one LayerParams per op; empty for ops without parameters).
  std::vector<LayerParams>& params() { return params_; }
  const std::vector<LayerParams>& params() const { return params_; }
  int64_t num_params() const;
  double params_norm() const;  // Euclidean norm of all parameters
  // params += step * direction (same structure), only for trainable layers.
  void add_scaled(const std::vector<LayerParams>& direction, double step);
  static double distance(const std::vector<LayerParams>& a, const std::vector<LayerParams>& b);
  static double dot(const std::vector<LayerParams>& a, const std::vector<LayerParams>& b);

 private:
  struct Trace {
    std::vector<Tensor> inputs;  // input of every op; inputs.back() is the network output
  };
  Trace forward_trace(const Tensor& x) const;
  // Gradients at every op's output for seed grad_out; when grads != nullptr also parameter gradients.
  std::vector<Tensor> backward_trace(const Trace& t, const Tensor& grad_out, std::vector<LayerParams>* grads) const;

  Architecture arch_;
  Parameterization param_;
  std::vector<ExampleShape> shapes_;
  std::vector<LayerSetting> settings_;  // per op
  std::vector<LayerParams> params_;
};

struct MonteCarloKernels {
  Matrix nngp;  // mean over draws of f(x1) f(x2)^T / K
  Matrix ntk;   // mean over draws of the empirical NTK
};
// Monte Carlo NNGP and NTK over `samples` networks of the given width (seeds seed, seed + 1, ...).
// The NNGP estimate of one network has O(1) relative variance per output whatever the width (it is one draw of
// the readout); a readout with many outputs (e.g. dense(width=256)) averages them. The NTK estimate converges
// with the width. compute_ntk=false skips the backward passes.
MonteCarloKernels monte_carlo_kernels(const std::string& spec, int64_t width, const Tensor& x1, const Tensor* x2,
                                      int samples, uint64_t seed, Parameterization parameterization,
                                      const Context& ctx, bool compute_ntk = true);

}  // namespace ntk
