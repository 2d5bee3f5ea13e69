// Gradient flow / gradient descent in the NTK regime and Gaussian-process inference (NNGP posterior, NTK-GP
// ensemble of Lee et al. 2019).
#include <algorithm>
#include <cmath>

#include "ntk/error.h"
#include "ntk/solvers.h"

namespace ntk {

namespace {

void check_time(double t) {
  NTK_THROW_IF_NOT(!std::isnan(t) && t >= 0, "training time must be >= 0, got %g", t);
}

// (1 − e^{−ηλt}) / λ, continuous in λ (→ ηt at λ = 0). Eigenvalues below 0 are round-off of a positive
// semi-definite kernel and are clipped like neural-tangents does, so they cannot grow as e^{+|λ|ηt}.
double flow_factor(double lambda, double lr, double t) {
  const double l = std::max(lambda, 0.0);
  if (l == 0.0) return lr * t;
  return -std::expm1(-lr * l * t) / l;
}

// (1 − (1 − ηλ)^k) / λ (→ kη at λ = 0): the discrete counterpart; not clipped, so that it matches the
// step-by-step iteration exactly, unstable steps (ηλ > 2) included.
double steps_factor(double lambda, double lr, int64_t k) {
  const double z = lr * lambda;
  if (lambda == 0.0) return lr * static_cast<double>(k);
  double p;
  if (z < 1.0) {
    p = -std::expm1(static_cast<double>(k) * std::log1p(-z));  // accurate for small ηλ
  } else {
    p = 1.0 - std::pow(1.0 - z, static_cast<double>(k));
  }
  return p / lambda;
}

void check_rows(const Matrix& m, int64_t rows, int64_t cols, const char* what) {
  NTK_THROW_IF_NOT(m.rows() == rows && m.cols() == cols, "%s has shape (%lld, %lld), expected (%lld, %lld)",
                   what, static_cast<long long>(m.rows()), static_cast<long long>(m.cols()),
                   static_cast<long long>(rows), static_cast<long long>(cols));
}

}  // namespace

GradientFlow::GradientFlow(const Matrix& ntk_train_train, double learning_rate, const RegOptions& reg)
    : theta_(ntk_train_train), lr_(learning_rate), reg_(reg) {
  NTK_THROW_IF_NOT(theta_.rows() == theta_.cols() && theta_.rows() > 0,
                   "train-train NTK must be a non-empty square matrix, got %lld x %lld",
                   static_cast<long long>(theta_.rows()), static_cast<long long>(theta_.cols()));
  NTK_THROW_IF_NOT(std::isfinite(learning_rate) && learning_rate > 0, "learning rate must be > 0, got %g",
                   learning_rate);
}

const SymmetricEigen& GradientFlow::eigen() const {
  if (!eigen_) {
    eigen_ = std::make_unique<SymmetricEigen>(theta_, reg_);
    const Vector& ev = eigen_->eigenvalues();
    const double top = std::max(std::abs(ev(0)), std::abs(ev(ev.size() - 1)));
    if (ev(0) < -1e-9 * top) {
      std::string w = strprintf(
          "NTK has a negative eigenvalue %.3g (largest %.3g): not positive semi-definite; negative "
          "eigenvalues "
          "are treated as 0 in the gradient-flow solution",
          ev(0), top);
      // Kept here (SymmetricEigen only reports eigenvalues) and returned by GradientFlow::info().
      eigen_warning_ = w;
    }
  }
  return *eigen_;
}

const Cholesky& GradientFlow::cholesky() const {
  if (!chol_) chol_ = std::make_unique<Cholesky>(theta_, reg_);
  return *chol_;
}

SolveInfo GradientFlow::info() const {
  SolveInfo out;
  if (chol_) out = chol_->info();
  if (eigen_) {
    if (!chol_) out = eigen_->info();
    out.min_eigenvalue = eigen_->info().min_eigenvalue;
    if (!eigen_warning_.empty()) out.warning += (out.warning.empty() ? "" : "; ") + eigen_warning_;
  }
  return out;
}

Matrix GradientFlow::apply(double t, const Matrix& b) const {
  check_time(t);
  if (std::isinf(t)) return cholesky().solve(b);
  const double lr = lr_;
  return eigen().apply([lr, t](double l) { return flow_factor(l, lr, t); }, b);
}

Matrix GradientFlow::apply_steps(int64_t steps, const Matrix& b) const {
  NTK_THROW_IF_NOT(steps >= 0, "number of gradient-descent steps must be >= 0, got %lld",
                   static_cast<long long>(steps));
  const double lr = lr_;
  return eigen().apply([lr, steps](double l) { return steps_factor(l, lr, steps); }, b);
}

Matrix GradientFlow::residual(const Matrix& y, const Matrix* f0, int64_t rows) const {
  NTK_THROW_IF_NOT(y.rows() == rows, "training targets have %lld rows, the NTK %lld",
                   static_cast<long long>(y.rows()), static_cast<long long>(rows));
  if (!f0) return y;
  check_rows(*f0, y.rows(), y.cols(), "initial training outputs f0");
  return y - *f0;
}

Matrix GradientFlow::predict_train(double t, const Matrix& y, const Matrix* f0_train) const {
  Matrix out = theta_ * apply(t, residual(y, f0_train, theta_.rows()));
  if (f0_train) out += *f0_train;
  return out;
}

Matrix GradientFlow::predict_test(double t, const Matrix& ntk_test_train, const Matrix& y,
                                  const Matrix* f0_train, const Matrix* f0_test) const {
  NTK_THROW_IF_NOT(ntk_test_train.cols() == theta_.rows(), "test-train NTK has %lld columns, expected %lld",
                   static_cast<long long>(ntk_test_train.cols()), static_cast<long long>(theta_.rows()));
  Matrix out = ntk_test_train * apply(t, residual(y, f0_train, theta_.rows()));
  if (f0_test) {
    check_rows(*f0_test, out.rows(), out.cols(), "initial test outputs f0");
    out += *f0_test;
  }
  return out;
}

Matrix GradientFlow::predict_train_steps(int64_t steps, const Matrix& y, const Matrix* f0_train) const {
  Matrix out = theta_ * apply_steps(steps, residual(y, f0_train, theta_.rows()));
  if (f0_train) out += *f0_train;
  return out;
}

Matrix GradientFlow::predict_test_steps(int64_t steps, const Matrix& ntk_test_train, const Matrix& y,
                                        const Matrix* f0_train, const Matrix* f0_test) const {
  NTK_THROW_IF_NOT(ntk_test_train.cols() == theta_.rows(), "test-train NTK has %lld columns, expected %lld",
                   static_cast<long long>(ntk_test_train.cols()), static_cast<long long>(theta_.rows()));
  Matrix out = ntk_test_train * apply_steps(steps, residual(y, f0_train, theta_.rows()));
  if (f0_test) {
    check_rows(*f0_test, out.rows(), out.cols(), "initial test outputs f0");
    out += *f0_test;
  }
  return out;
}

GdTrajectory gradient_descent_steps(const Matrix& ntk_train_train, const Matrix* ntk_test_train,
                                    const Matrix& y, double learning_rate, int64_t steps,
                                    const Matrix* f0_train, const Matrix* f0_test) {
  const int64_t n = ntk_train_train.rows();
  NTK_THROW_IF_NOT(ntk_train_train.cols() == n && y.rows() == n,
                   "NTK (%lld x %lld) and targets (%lld rows) disagree", static_cast<long long>(n),
                   static_cast<long long>(ntk_train_train.cols()), static_cast<long long>(y.rows()));
  GdTrajectory out;
  out.train = f0_train ? *f0_train : Matrix::Zero(n, y.cols());
  check_rows(out.train, n, y.cols(), "initial training outputs f0");
  if (ntk_test_train) {
    NTK_THROW_IF_NOT(ntk_test_train->cols() == n, "test-train NTK has %lld columns, expected %lld",
                     static_cast<long long>(ntk_test_train->cols()), static_cast<long long>(n));
    out.test = f0_test ? *f0_test : Matrix::Zero(ntk_test_train->rows(), y.cols());
    check_rows(out.test, ntk_test_train->rows(), y.cols(), "initial test outputs f0");
  }
  for (int64_t s = 0; s < steps; ++s) {
    Matrix r = out.train - y;
    if (ntk_test_train) out.test.noalias() -= learning_rate * (*ntk_test_train * r);
    out.train.noalias() -= learning_rate * (ntk_train_train * r);
  }
  return out;
}

GpPrediction nngp_posterior(const Matrix& k_train_train, const Matrix& k_test_train, const Matrix& y_train,
                            const Matrix* k_test_test, const Vector* k_test_diag, const RegOptions& reg) {
  const int64_t n = k_train_train.rows(), m = k_test_train.rows();
  NTK_THROW_IF_NOT(k_test_train.cols() == n,
                   "test-train kernel has %lld columns, the train-train kernel %lld",
                   static_cast<long long>(k_test_train.cols()), static_cast<long long>(n));
  Cholesky chol(k_train_train, reg);
  GpPrediction out;
  out.info = chol.info();
  out.mean = k_test_train * chol.solve(y_train);
  if (!k_test_test && !k_test_diag) return out;
  Matrix w = chol.solve(k_test_train.transpose());  // (n, m) = (K + σ²)⁻¹ K_X*
  if (k_test_test) {
    check_rows(*k_test_test, m, m, "test-test kernel");
    out.covariance = *k_test_test - k_test_train * w;
    out.variance = out.covariance.diagonal();
  } else {
    NTK_THROW_IF_NOT(k_test_diag->size() == m, "test kernel diagonal has %lld entries, expected %lld",
                     static_cast<long long>(k_test_diag->size()), static_cast<long long>(m));
    out.variance = *k_test_diag - k_test_train.cwiseProduct(w.transpose()).rowwise().sum();
  }
  // Round-off can push a vanishing variance (test point = training point, no noise) slightly below 0.
  out.variance = out.variance.cwiseMax(0.0);
  return out;
}

NtkGpEnsemble::NtkGpEnsemble(const Matrix& ntk_train_train, const Matrix& nngp_train_train,
                             double learning_rate, const RegOptions& reg)
    : flow_(ntk_train_train, learning_rate, reg), nngp_(nngp_train_train) {
  check_rows(nngp_, ntk_train_train.rows(), ntk_train_train.rows(), "train-train NNGP");
}

GpPrediction NtkGpEnsemble::predict(double t, const Matrix& ntk_test_train, const Matrix& nngp_test_train,
                                    const Matrix& y_train, const Matrix* nngp_test_test,
                                    const Vector* nngp_test_diag) const {
  check_rows(ntk_test_train, ntk_test_train.rows(), nngp_.rows(), "test-train NTK");
  // B = A Θ(X,x*) (n, m); A is symmetric (a function of Θ), so Θ(x*,X) A = Bᵀ.
  return assemble(flow_.apply(t, ntk_test_train.transpose()), ntk_test_train, nngp_test_train, y_train,
                  nngp_test_test, nngp_test_diag);
}

GpPrediction NtkGpEnsemble::predict_steps(int64_t steps, const Matrix& ntk_test_train,
                                          const Matrix& nngp_test_train, const Matrix& y_train,
                                          const Matrix* nngp_test_test, const Vector* nngp_test_diag) const {
  check_rows(ntk_test_train, ntk_test_train.rows(), nngp_.rows(), "test-train NTK");
  return assemble(flow_.apply_steps(steps, ntk_test_train.transpose()), ntk_test_train, nngp_test_train,
                  y_train, nngp_test_test, nngp_test_diag);
}

GpPrediction NtkGpEnsemble::assemble(const Matrix& b, const Matrix& ntk_test_train,
                                     const Matrix& nngp_test_train, const Matrix& y_train,
                                     const Matrix* nngp_test_test, const Vector* nngp_test_diag) const {
  const int64_t n = nngp_.rows(), m = ntk_test_train.rows();
  check_rows(nngp_test_train, m, n, "test-train NNGP");
  NTK_THROW_IF_NOT(y_train.rows() == n, "training targets have %lld rows, expected %lld",
                   static_cast<long long>(y_train.rows()), static_cast<long long>(n));
  GpPrediction out;
  out.info = flow_.info();
  out.mean = b.transpose() * y_train;
  if (!nngp_test_test && !nngp_test_diag) return out;
  Matrix kb = nngp_ * b;  // K(X,X) B
  if (nngp_test_test) {
    check_rows(*nngp_test_test, m, m, "test-test NNGP");
    Matrix cross = nngp_test_train * b;  // K(x,X) A Θ(X,x')
    out.covariance = *nngp_test_test - cross - cross.transpose() + b.transpose() * kb;
    out.covariance = 0.5 * (out.covariance + out.covariance.transpose()).eval();
    out.variance = out.covariance.diagonal();
  } else {
    NTK_THROW_IF_NOT(nngp_test_diag->size() == m, "test NNGP diagonal has %lld entries, expected %lld",
                     static_cast<long long>(nngp_test_diag->size()), static_cast<long long>(m));
    Matrix ktx = nngp_test_train.transpose();  // (n, m)
    out.variance = *nngp_test_diag - 2.0 * b.cwiseProduct(ktx).colwise().sum().transpose() +
                   b.cwiseProduct(kb).colwise().sum().transpose();
  }
  out.variance = out.variance.cwiseMax(0.0);
  return out;
}

}  // namespace ntk
