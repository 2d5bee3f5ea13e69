// Training finite networks of the architecture language by gradient descent on the squared loss
//   L(θ) = ½ ||f(X) − Y||²        (summed over examples and outputs)
// full batch or minibatch SGD, optionally with (heavy-ball) momentum, under the network's parameterization.
//
// Model wraps a Network so that its initial outputs are either kept or made exactly zero by a sign-flipped
// twin:
//   f(x) = (f_θ(x) − f_θ′(x)) / √2,   θ′ = θ at initialisation,
// whose empirical NTK at initialisation is that of f_θ (each half contributes half of it) and whose outputs
// start at 0, so the kernel predictor needs no f0 term (Chizat et al. 2019, "lazy training"; Hu et al. 2020).
//
// The step is given, or chosen as lr_fraction · 2/λ_max of the empirical NTK on the training inputs at
// initialisation (neural-tangents' max_learning_rate: above 2/λ_max gradient descent on the linearised
// network diverges). Everything is seeded: the same seeds give the same numbers on every machine and thread
// count.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ntk/context.h"
#include "ntk/threads.h"  // set_blas_threads (kept for callers of this header)
#include "ntk/network.h"
#include "ntk/options.h"

namespace ntk {

enum class F0Mode {
  kKeep,  // f = f_θ: the network's own random outputs at initialisation
  kTwin,  // f = (f_θ − f_θ′)/√2 with θ′ = θ at initialisation: f0 = 0, same NTK
};
F0Mode parse_f0_mode(const std::string& name);  // "keep" | "twin"
const char* f0_mode_name(F0Mode mode);

// Parameters of a Model: one list per member network (one for kKeep, two for kTwin).
using ModelParams = std::vector<std::vector<LayerParams>>;

class Model {
 public:
  // The member networks are drawn with `seed` (the twin's second half is a copy of the first).
  Model(const Architecture& arch, const ExampleShape& input, Parameterization parameterization, uint64_t seed,
        F0Mode mode = F0Mode::kTwin);

  F0Mode f0_mode() const { return mode_; }
  int64_t output_width() const { return nets_.front().output_width(); }
  int64_t num_params() const;  // all members together
  const Network& network(size_t i = 0) const { return nets_.at(i); }
  size_t members() const { return nets_.size(); }

  // Outputs (N, K).
  Matrix apply(const Tensor& x) const;
  // Per-output empirical NTK of f (for the twin: the mean of the halves' NTKs).
  Matrix empirical_ntk(const Tensor& x1, const Tensor* x2 = nullptr) const;
  // Gradient of sum_i <g_i, f(x_i)> with respect to all parameters.
  ModelParams gradient(const Tensor& x, const Matrix& grad_out) const;
  // params += step * direction.
  void add_scaled(const ModelParams& direction, double step);

  ModelParams params() const;
  double params_norm() const;
  static double distance(const ModelParams& a, const ModelParams& b);
  static double norm(const ModelParams& a);
  // a ← beta·a + b (same structure): momentum buffers.
  static void scale_add(ModelParams& a, double beta, const ModelParams& b);

 private:
  std::vector<Network> nets_;
  F0Mode mode_;
};

// neural-tangents' max_learning_rate: 2 / λ_max(Θ) for the squared loss ½||f − y||² (Θ per output,
// symmetric).
double max_learning_rate(const Matrix& ntk_train_train);
double largest_eigenvalue(const Matrix& symmetric);

// Defaults here; names, bounds and documentation in train_options() (ntk/options.h).
struct TrainOptions {
  int64_t steps = 100;
  double learning_rate = 0.0;  // > 0: this step; 0: lr_fraction · 2/λ_max(Θ̂₀(X, X))
  double lr_fraction = 0.75;
  int64_t batch_size = 0;   // 0 or >= N: full-batch gradient descent; else minibatch SGD
  double momentum = 0.0;    // heavy ball: v ← β v + ∇L, θ ← θ − η v
  uint64_t seed = 0;        // minibatch order (a fresh seeded permutation every epoch)
  bool record_loss = true;  // full batch: L(θ_k) for every k (one extra forward pass per step)
};
// The options of TrainOptions: steps, learning_rate, lr_fraction, batch_size, momentum, seed, record_loss.
const OptionTable<TrainOptions>& train_options();

struct TrainResult {
  double learning_rate = 0.0;  // the step used
  double lambda_max = 0.0;     // λ_max of Θ̂₀(X, X) (0 when the step was given)
  int64_t steps = 0;
  std::vector<double> loss;  // ½||f(X) − Y||² at steps 0..steps (full batch with record_loss; else empty)
  double final_loss = 0.0;   // ½||f(X) − Y||² after the last step
};

// Trains `model` in place on (x, y) with y of shape (N, K). `on_step(k, model)` is called at k = 0 (before
// the first step) and after every step k = 1..steps; it may read the model (e.g. to record checkpoints).
TrainResult train(Model& model, const Tensor& x, const Matrix& y, const TrainOptions& options,
                  const std::function<void(int64_t step, const Model& model)>& on_step = {});

// The training time of the continuous-time gradient flow that `steps` steps of this optimiser approximate:
// η · steps · (B / N) / (1 − β) (exactly η · steps for full-batch gradient descent without momentum).
double equivalent_flow_time(const TrainOptions& options, double learning_rate, int64_t n_train);


}  // namespace ntk
