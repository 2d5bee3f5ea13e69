// Gradient-descent training of finite networks (see ntk/train.h).
#include "ntk/threads.h"
#include "ntk/train.h"


#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "ntk/error.h"

namespace ntk {

F0Mode parse_f0_mode(const std::string& name) {
  if (name == "keep") return F0Mode::kKeep;
  if (name == "twin") return F0Mode::kTwin;
  NTK_THROW("unknown f0 mode '%s' (expected keep or twin)", name.c_str());
}

const char* f0_mode_name(F0Mode mode) {
  return mode == F0Mode::kKeep ? "keep" : "twin";
}

const OptionTable<TrainOptions>& train_options() {
  static const OptionTable<TrainOptions> table = [] {
    using T = TrainOptions;
    OptionTable<T> t;
    t.add("steps", &T::steps, "gradient-descent steps").at_least(0);
    t.add("learning_rate", &T::learning_rate,
          "step size η (0: lr_fraction · 2/λ_max of the empirical NTK at initialisation)")
        .at_least(0)
        .cli("--lr");
    t.add("lr_fraction", &T::lr_fraction, "fraction of 2/λ_max used when learning_rate is 0").above(0);
    t.add("batch_size", &T::batch_size, "minibatch SGD with this batch size (0: full batch)").at_least(0);
    t.add("momentum", &T::momentum, "heavy-ball momentum β").at_least(0).below(1);
    t.add("seed", &T::seed, "seed of the minibatch order");
    t.add("record_loss", &T::record_loss,
          "full batch: record the loss at every step (one extra forward pass per step)");
    return t;
  }();
  return table;
}

Model::Model(const Architecture& arch, const ExampleShape& input, Parameterization parameterization,
             uint64_t seed, F0Mode mode)
    : mode_(mode) {
  nets_.emplace_back(arch, input, parameterization, seed);
  if (mode == F0Mode::kTwin) nets_.push_back(nets_.front());
}

int64_t Model::num_params() const {
  int64_t n = 0;
  for (const auto& net : nets_) n += net.num_params();
  return n;
}

Matrix Model::apply(const Tensor& x) const {
  if (mode_ == F0Mode::kKeep) return nets_[0].apply(x);
  return (nets_[0].apply(x) - nets_[1].apply(x)) * M_SQRT1_2;
}

Matrix Model::empirical_ntk(const Tensor& x1, const Tensor* x2) const {
  if (mode_ == F0Mode::kKeep) return nets_[0].empirical_ntk(x1, x2);
  // d f / d θ = ∇f_θ / √2 and d f / d θ′ = −∇f_θ′ / √2: Θ = (Θ_θ + Θ_θ′) / 2.
  return 0.5 * (nets_[0].empirical_ntk(x1, x2) + nets_[1].empirical_ntk(x1, x2));
}

ModelParams Model::gradient(const Tensor& x, const Matrix& grad_out) const {
  ModelParams out;
  if (mode_ == F0Mode::kKeep) {
    out.push_back(nets_[0].gradient(x, grad_out));
  } else {
    out.push_back(nets_[0].gradient(x, grad_out * M_SQRT1_2));
    out.push_back(nets_[1].gradient(x, grad_out * -M_SQRT1_2));
  }
  return out;
}

void Model::add_scaled(const ModelParams& direction, double step) {
  NTK_THROW_IF_NOT(direction.size() == nets_.size(), "add_scaled: direction has %zu members, the model %zu",
                   direction.size(), nets_.size());
  for (size_t i = 0; i < nets_.size(); ++i) nets_[i].add_scaled(direction[i], step);
}

ModelParams Model::params() const {
  ModelParams out;
  for (const auto& net : nets_) out.push_back(net.params());
  return out;
}

double Model::params_norm() const {
  double s = 0;
  for (const auto& net : nets_) s += net.params_norm() * net.params_norm();
  return std::sqrt(s);
}

double Model::distance(const ModelParams& a, const ModelParams& b) {
  NTK_THROW_IF_NOT(a.size() == b.size(), "distance: parameter sets of different structure");
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = Network::distance(a[i], b[i]);
    s += d * d;
  }
  return std::sqrt(s);
}

double Model::norm(const ModelParams& a) {
  double s = 0;
  for (const auto& m : a) s += Network::dot(m, m);
  return std::sqrt(s);
}

void Model::scale_add(ModelParams& a, double beta, const ModelParams& b) {
  NTK_THROW_IF_NOT(a.size() == b.size(), "scale_add: parameter sets of different structure");
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t k = 0; k < a[i].size(); ++k)
      for (size_t t = 0; t < a[i][k].tensors.size(); ++t) {
        a[i][k].tensors[t] *= beta;
        a[i][k].tensors[t] += b[i][k].tensors[t];
      }
}

double largest_eigenvalue(const Matrix& symmetric) {
  NTK_THROW_IF_NOT(symmetric.rows() == symmetric.cols() && symmetric.rows() > 0,
                   "largest_eigenvalue: expected a non-empty square matrix, got %lld x %lld",
                   (long long)symmetric.rows(), (long long)symmetric.cols());
  NTK_THROW_IF_NOT(symmetric.allFinite(), "largest_eigenvalue: the matrix has non-finite entries");
  Eigen::MatrixXd m = 0.5 * (symmetric + symmetric.transpose());
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(m, Eigen::EigenvaluesOnly);
  NTK_THROW_IF_NOT(es.info() == Eigen::Success, "largest_eigenvalue: eigendecomposition failed");
  return es.eigenvalues()(es.eigenvalues().size() - 1);
}

double max_learning_rate(const Matrix& ntk_train_train) {
  const double l = largest_eigenvalue(ntk_train_train);
  NTK_THROW_IF_NOT(l > 0, "max_learning_rate: the kernel's largest eigenvalue is %g (expected > 0)", l);
  return 2.0 / l;
}

double equivalent_flow_time(const TrainOptions& options, double learning_rate, int64_t n_train) {
  double frac = 1.0;
  if (options.batch_size > 0 && options.batch_size < n_train)
    frac = static_cast<double>(options.batch_size) / static_cast<double>(n_train);
  return learning_rate * static_cast<double>(options.steps) * frac / (1.0 - options.momentum);
}

TrainResult train(Model& model, const Tensor& x, const Matrix& y, const TrainOptions& options,
                  const std::function<void(int64_t, const Model&)>& on_step) {
  const int64_t n = x.rows(), K = model.output_width();
  NTK_THROW_IF_NOT(n > 0, "train: no training examples");
  NTK_THROW_IF_NOT(y.rows() == n && y.cols() == K,
                   "train: targets have shape (%lld, %lld), expected (%lld, %lld)", (long long)y.rows(),
                   (long long)y.cols(), (long long)n, (long long)K);
  train_options().validate(options);

  TrainResult result;
  result.steps = options.steps;
  if (options.learning_rate > 0) {
    result.learning_rate = options.learning_rate;
  } else {
    result.lambda_max = largest_eigenvalue(model.empirical_ntk(x));
    NTK_THROW_IF_NOT(result.lambda_max > 0, "train: the empirical NTK's largest eigenvalue is %g",
                     result.lambda_max);
    result.learning_rate = options.lr_fraction * 2.0 / result.lambda_max;
  }
  const double lr = result.learning_rate;
  const bool full_batch = options.batch_size == 0 || options.batch_size >= n;
  auto loss_of = [&](const Matrix& f) { return 0.5 * (f - y).squaredNorm(); };

  if (on_step) on_step(0, model);
  ModelParams velocity;
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  int64_t cursor = n, epoch = 0;
  for (int64_t step = 1; step <= options.steps; ++step) {
    ModelParams grad;
    if (full_batch) {
      const Matrix residual = model.apply(x) - y;
      if (options.record_loss) result.loss.push_back(0.5 * residual.squaredNorm());
      NTK_THROW_IF_NOT(
          residual.allFinite(),
          "training diverged at step %lld (learning rate %g): lower learning_rate or lr_fraction",
          (long long)step - 1, lr);
      grad = model.gradient(x, residual);
    } else {
      const int64_t b = options.batch_size;
      if (cursor + b > n) {  // new epoch: fresh permutation seeded by (seed, epoch)
        std::seed_seq seq{static_cast<uint32_t>(options.seed), static_cast<uint32_t>(options.seed >> 32),
                          static_cast<uint32_t>(epoch), 0x5eedu};
        std::mt19937_64 rng(seq);
        std::shuffle(order.begin(), order.end(), rng);
        cursor = 0;
        ++epoch;
      }
      std::vector<int64_t> idx(order.begin() + cursor, order.begin() + cursor + b);
      cursor += b;
      Tensor xb = x.select_rows(idx);
      Matrix yb(b, K);
      for (int64_t i = 0; i < b; ++i) yb.row(i) = y.row(idx[i]);
      const Matrix residual = model.apply(xb) - yb;
      NTK_THROW_IF_NOT(
          residual.allFinite(),
          "training diverged at step %lld (learning rate %g): lower learning_rate or lr_fraction",
          (long long)step - 1, lr);
      grad = model.gradient(xb, residual);
    }
    if (options.momentum > 0) {
      if (velocity.empty())
        velocity = std::move(grad);
      else
        Model::scale_add(velocity, options.momentum, grad);
      model.add_scaled(velocity, -lr);
    } else {
      model.add_scaled(grad, -lr);
    }
    if (on_step) on_step(step, model);
  }
  result.final_loss = loss_of(model.apply(x));
  NTK_THROW_IF_NOT(std::isfinite(result.final_loss),
                   "training diverged (learning rate %g): lower learning_rate or lr_fraction", lr);
  if (full_batch && options.record_loss) result.loss.push_back(result.final_loss);
  return result;
}

}  // namespace ntk
