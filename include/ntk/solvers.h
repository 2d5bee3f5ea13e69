// Solvers on precomputed kernels: what the NTK / NNGP predict.
//
//   - regularised Cholesky solves with jitter escalation (never a silent NaN);
//   - gradient flow / gradient descent on the MSE loss in the NTK regime (Jacot et al. 2018, Lee et al.
//   2019):
//       f_t(x) = f0(x) + Θ(x,X) Θ⁻¹ (I − e^{−ηΘt}) (Y − f0(X)),
//     one symmetric eigendecomposition of Θ(X,X) serves every t, t = ∞ is a Cholesky solve, and k discrete
//     steps u ← u − ηΘ(u − y) replace e^{−ηΘt} by (I − ηΘ)^k;
//   - Gaussian-process inference: the NNGP posterior, and the mean / covariance of the ensemble of infinitely
//   many
//     trained wide networks (Lee et al. 2019 eq. 16, neural-tangents' predict.gradient_descent_mse_ensemble);
//   - classification by one-hot kernel regression or by a C-SVM on the precomputed kernel (libsvm,
//   one-vs-one,
//     identical decisions to scikit-learn's SVC(kernel="precomputed"));
//   - one-pass model selection over (depth, fixed layers L', C or diag_reg) from ntk::fc_kernels_all_depths.
//
// Conventions: matrices are ntk::Matrix (row-major), targets are (N, outputs) with one column per output; the
// kernel is per output (the same for every column), as everywhere in ntk. Regularisation follows
// neural-tangents: diag_reg is multiplied by the mean of the kernel's diagonal unless RegOptions::absolute is
// set.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "ntk/context.h"
#include "ntk/kernel.h"
#include "ntk/options.h"

namespace ntk {

// t = ∞ for the time-dependent predictors (the converged, kernel-regression solution).
constexpr double kInfiniteTime = std::numeric_limits<double>::infinity();

// ---------------------------------------------------------------------------------------------------------------
// Regularised linear algebra

// Defaults here; names, bounds and documentation in reg_options().
struct RegOptions {
  double diag_reg = 0.0;  // added to the diagonal before solving
  bool absolute = false;  // false: diag_reg * mean(diag K) (neural-tangents' default); true: diag_reg as is
  // When K + diag_reg·I is not numerically positive definite, jitter·mean(diag K) is added on top and
  // multiplied by jitter_growth until the factorisation succeeds or max_jitter_steps attempts fail (then
  // ntk::Error). The solvers never print: what they had to do is in SolveInfo::warning, for the front ends to
  // show.
  double jitter_start = 1e-10;
  double jitter_growth = 10.0;
  int max_jitter_steps = 10;
};
// The options of RegOptions (ntk/options.h): diag_reg, reg_absolute (absolute), jitter_start, jitter_growth,
// max_jitter_steps.
const OptionTable<RegOptions>& reg_options();

// What a factorisation did: the library does not print, so callers (front ends, tests) read it here.
struct SolveInfo {
  double mean_diagonal = 0.0;  // mean of diag(K) before regularisation
  double diag_added = 0.0;     // total absolute amount added to the diagonal (diag_reg + jitter)
  double jitter = 0.0;         // absolute jitter added beyond diag_reg (0 when the first attempt succeeded)
  int jitter_steps = 0;        // number of failed attempts before success
  double min_eigenvalue = std::numeric_limits<double>::quiet_NaN();  // eigendecompositions only
  std::string warning;                                               // empty when nothing unusual happened
};

// The absolute amount diag_reg stands for on the kernel k (k must be square).
double absolute_diag_reg(const Matrix& k, const RegOptions& reg);

// Cholesky factorisation of K + diag_reg·I (+ jitter when needed). Throws ntk::Error on a non-square or
// non-finite kernel, a non-positive diagonal mean, or when even the largest jitter fails.
class Cholesky {
 public:
  Cholesky() = default;
  explicit Cholesky(const Matrix& k, const RegOptions& reg = {});
  Matrix solve(const Matrix& b) const;  // (K + reg)⁻¹ b; b is (N, outputs)
  int64_t size() const { return n_; }
  const SolveInfo& info() const { return info_; }

 private:
  int64_t n_ = 0;
  std::vector<double> factor_;  // column-major lower factor (LAPACK layout)
  SolveInfo info_;
};

// (K + reg)⁻¹ b in one call; info (optional) receives what the factorisation did.
Matrix cholesky_solve(const Matrix& k, const Matrix& b, const RegOptions& reg = {},
                      SolveInfo* info = nullptr);

// Symmetric eigendecomposition of K + diag_reg·I (no jitter: eigenvalues are reported, not repaired).
class SymmetricEigen {
 public:
  SymmetricEigen() = default;
  explicit SymmetricEigen(const Matrix& k, const RegOptions& reg = {});
  const Vector& eigenvalues() const { return values_; }             // ascending
  const Eigen::MatrixXd& eigenvectors() const { return vectors_; }  // column i belongs to eigenvalue i
  // V diag(f(λ)) Vᵀ b.
  Matrix apply(const std::function<double(double)>& f, const Matrix& b) const;
  int64_t size() const { return values_.size(); }
  const SolveInfo& info() const { return info_; }

 private:
  Vector values_;
  Eigen::MatrixXd vectors_;
  SolveInfo info_;
};

// ---------------------------------------------------------------------------------------------------------------
// Gradient flow / gradient descent on the MSE loss 1/2 ||f(X) − Y||² with the NTK Θ (learning rate η)

// Holds Θ(X,X); the eigendecomposition (finite t, discrete steps) and the Cholesky factor (t = ∞) are
// computed on first use and reused for every later call. Not safe for concurrent first use from several
// threads. Note: neural-tangents' gradient_descent_mse divides η by y_train.size (its loss is a mean); pass η
// / Y.size() here to reproduce its numbers.
class GradientFlow {
 public:
  explicit GradientFlow(const Matrix& ntk_train_train, double learning_rate = 1.0,
                        const RegOptions& reg = {});

  // A_t b = Θ⁻¹ (I − e^{−ηΘt}) b (Θ regularised); t = ∞ gives Θ⁻¹ b by Cholesky.
  Matrix apply(double t, const Matrix& b) const;
  // A_k b = Θ⁻¹ (I − (I − ηΘ)^k) b: the same after k discrete steps.
  Matrix apply_steps(int64_t steps, const Matrix& b) const;

  // Outputs at time t on the training inputs (f0_train: outputs at initialisation, nullptr = 0). Computed as
  // the test formula with x = X, so with diag_reg = 0 this is Y + e^{−ηΘt}(f0 − Y).
  Matrix predict_train(double t, const Matrix& y, const Matrix* f0_train = nullptr) const;
  // Outputs at time t on test inputs: f0(x) + Θ(x,X) A_t (Y − f0(X)).
  Matrix predict_test(double t, const Matrix& ntk_test_train, const Matrix& y,
                      const Matrix* f0_train = nullptr, const Matrix* f0_test = nullptr) const;
  Matrix predict_train_steps(int64_t steps, const Matrix& y, const Matrix* f0_train = nullptr) const;
  Matrix predict_test_steps(int64_t steps, const Matrix& ntk_test_train, const Matrix& y,
                            const Matrix* f0_train = nullptr, const Matrix* f0_test = nullptr) const;

  double learning_rate() const { return lr_; }
  const SymmetricEigen& eigen() const;  // computes on first use
  const Cholesky& cholesky() const;     // computes on first use
  SolveInfo info() const;               // of the factorisations done so far (Cholesky first)

 private:
  Matrix residual(const Matrix& y, const Matrix* f0, int64_t rows) const;
  Matrix theta_;
  double lr_;
  RegOptions reg_;
  mutable std::unique_ptr<SymmetricEigen> eigen_;
  mutable std::unique_ptr<Cholesky> chol_;
  mutable std::string eigen_warning_;
};

// The reference discrete dynamics, step by step: u ← u − ηΘ(u − y) on the training set and
// f ← f − ηΘ(x,X)(u − y) on the test set (ntk_test_train may be nullptr). No regularisation.
struct GdTrajectory {
  Matrix train;  // (N, outputs) after `steps` steps
  Matrix test;   // (M, outputs); empty without test kernel
};
GdTrajectory gradient_descent_steps(const Matrix& ntk_train_train, const Matrix* ntk_test_train,
                                    const Matrix& y, double learning_rate, int64_t steps,
                                    const Matrix* f0_train = nullptr, const Matrix* f0_test = nullptr);

// The numbers of a prediction on precomputed kernels, shared by `ntk regress` and ntk.predict: gradient-flow
// time, step size and steps, regularisation, one-hot targets of a classification. Defaults here; names,
// bounds and documentation in predict_options().
struct PredictOptions {
  double time = kInfiniteTime;  // t of the gradient flow (∞: converged, i.e. kernel regression)
  double learning_rate = 1.0;   // η
  int64_t steps = 100;          // discrete gradient-descent steps
  RegOptions reg;               // diag_reg, reg_absolute
  double target_off = 0.0;  // one-hot targets of a classification: `off` elsewhere, `on` in the class column
  double target_on = 1.0;
};
// The options of PredictOptions (ntk/options.h): time, learning_rate, steps, diag_reg, reg_absolute,
// target_off, target_on.
const OptionTable<PredictOptions>& predict_options();

// ---------------------------------------------------------------------------------------------------------------
// Gaussian-process inference

struct GpPrediction {
  Matrix mean;        // (M, outputs)
  Matrix covariance;  // (M, M) when the full test-test kernel was given (the same for every output)
  Vector variance;    // (M) when a test-test kernel or its diagonal was given
  SolveInfo info;
};

// NNGP posterior with observation noise diag_reg: mean = K*X (K + σ²I)⁻¹ Y,
// covariance = K** − K*X (K + σ²I)⁻¹ KX*. k_test_test (M×M) gives covariance and variance, k_test_diag only
// the variance, neither only the mean.
GpPrediction nngp_posterior(const Matrix& k_train_train, const Matrix& k_test_train, const Matrix& y_train,
                            const Matrix* k_test_test = nullptr, const Vector* k_test_diag = nullptr,
                            const RegOptions& reg = {});

// Distribution of the outputs of infinitely many infinitely wide networks, initialised independently (f0 ~
// GP(0, K) with K the NNGP) and trained by gradient flow for time t on the MSE loss (Lee et al. 2019 eq. 16):
//   A      = Θ⁻¹ (I − e^{−ηΘt})                         (Θ = Θ(X,X), t = ∞: Θ⁻¹)
//   mean   = Θ(x,X) A Y
//   cov    = K(x,x') + Θ(x,X) A K(X,X) A Θ(X,x') − (Θ(x,X) A K(X,x') + K(x,X) A Θ(X,x'))
// Passing the NNGP for both kernels gives the ensemble of networks whose readout layer alone is trained.
class NtkGpEnsemble {
 public:
  NtkGpEnsemble(const Matrix& ntk_train_train, const Matrix& nngp_train_train, double learning_rate = 1.0,
                const RegOptions& reg = {});
  GpPrediction predict(double t, const Matrix& ntk_test_train, const Matrix& nngp_test_train,
                       const Matrix& y_train, const Matrix* nngp_test_test = nullptr,
                       const Vector* nngp_test_diag = nullptr) const;
  // The same after `steps` discrete gradient-descent steps: e^{−ηΘt} replaced by (I − ηΘ)^steps.
  GpPrediction predict_steps(int64_t steps, const Matrix& ntk_test_train, const Matrix& nngp_test_train,
                             const Matrix& y_train, const Matrix* nngp_test_test = nullptr,
                             const Vector* nngp_test_diag = nullptr) const;
  const GradientFlow& flow() const { return flow_; }

 private:
  // Mean and covariance from B = A Θ(X,x*).
  GpPrediction assemble(const Matrix& b, const Matrix& ntk_test_train, const Matrix& nngp_test_train,
                        const Matrix& y_train, const Matrix* nngp_test_test,
                        const Vector* nngp_test_diag) const;
  GradientFlow flow_;
  Matrix nngp_;
};

// ---------------------------------------------------------------------------------------------------------------
// Classification

// Integer class labels from label values. Throws naming `source` (a file name, "--y-train", ...) when a value
// is not a non-negative integer.
std::vector<int> to_class_labels(const std::vector<double>& values, const std::string& source);
int count_classes(const std::vector<int>& labels);  // max label + 1 (0 for no labels)
int distinct_classes(const std::vector<int>& labels);
// One row per example, `on` in the column of its class and `off` elsewhere (Arora et al. 2019 use −0.1 /
// 0.9).
Matrix one_hot(const std::vector<int>& labels, int num_classes, double off = 0.0, double on = 1.0);
std::vector<int> argmax_rows(const Matrix& scores);
double accuracy(const std::vector<int>& predicted, const std::vector<int>& truth);
double mean_squared_error(const Matrix& predicted, const Matrix& target);

// C-SVM on a precomputed kernel through libsvm: one-vs-one, training rows grouped by sorted label like
// scikit-learn's SVC, so predictions (and vote ties, broken towards the smaller label) agree with
// SVC(kernel="precomputed", C=C, tol=tol, shrinking=shrinking).
// Defaults here; names, bounds and documentation in svm_options().
struct SvmOptions {
  double C = 1.0;
  double tol = 1e-3;        // libsvm eps (scikit-learn's tol)
  double cache_mb = 200.0;  // kernel cache
  bool shrinking = true;
};
// The options of SvmOptions (ntk/options.h): C, tol, cache_mb, shrinking.
const OptionTable<SvmOptions>& svm_options();

class PrecomputedSvm {
 public:
  PrecomputedSvm();
  ~PrecomputedSvm();
  PrecomputedSvm(PrecomputedSvm&&) noexcept;
  PrecomputedSvm& operator=(PrecomputedSvm&&) noexcept;

  // Throws on fewer than two classes, mismatched sizes, negative labels, non-finite kernels.
  void fit(const Matrix& k_train_train, const std::vector<int>& labels, const SvmOptions& options = {});
  std::vector<int> predict(const Matrix& k_test_train) const;
  // (M, c(c−1)/2) libsvm decision values for the class pairs (i, j), i < j in sorted label order; positive
  // favours class i (scikit-learn's decision_function_shape="ovo" for c > 2; for c = 2 scikit-learn negates).
  Matrix decision_function(const Matrix& k_test_train) const;
  const std::vector<int>& classes() const;  // sorted
  int64_t num_support_vectors() const;
  bool fitted() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Test accuracies of C-SVMs on one kernel for each C in `cs`, sharing one libsvm problem; parallel over C
// with ctx.num_threads() threads.
std::vector<double> svm_accuracy_path(const Matrix& k_train_train, const std::vector<int>& y_train,
                                      const Matrix& k_test_train, const std::vector<int>& y_test,
                                      const std::vector<double>& cs, const SvmOptions& base,
                                      const Context& ctx);

// ---------------------------------------------------------------------------------------------------------------
// Model selection over (depth, fixed layers, C or diag_reg) from one kernel computation

struct Split {
  std::vector<int64_t> train;
  std::vector<int64_t> test;
};
// k folds of 0..n−1 (shuffled with `seed` when shuffle is set); fold i tests on the i-th block.
std::vector<Split> kfold_splits(int64_t n, int k, bool shuffle = true, uint64_t seed = 0);

enum class SelectMethod { kSvm, kRegression };
const char* select_method_name(SelectMethod m);
SelectMethod parse_select_method(const std::string& name);  // "svm" | "regression"

// Defaults here; names, bounds and documentation in select_options().
struct SelectOptions {
  SelectMethod method = SelectMethod::kSvm;
  std::vector<double> values;  // C values (svm) or diag_reg values (regression); empty: default_select_values
  bool absolute_reg = false;   // regression: diag_reg is absolute instead of relative to the mean diagonal
  bool classification = true;  // regression: score by accuracy of the argmax (else by −MSE on the targets)
  double target_off = 0.0;     // regression on one-hot targets built from the labels
  double target_on = 1.0;
  SvmOptions svm;  // C is overridden by `values`
  Context ctx;
};
// The options of SelectOptions (ntk/options.h): method, values, reg_absolute (absolute_reg), classification,
// target_off, target_on, tol (svm.tol).
const OptionTable<SelectOptions>& select_options();
// The grid used when SelectOptions::values is empty: C = 10^-2..10^4 (svm), diag_reg = 0, 10^-4..1
// (regression).
std::vector<double> default_select_values(SelectMethod method);

struct GridScore {
  int depth = 0;
  int fixed = 0;
  double value = 0.0;  // C or diag_reg
  double score = 0.0;  // mean over splits: accuracy, or −MSE for regression scoring
};

struct Selection {
  std::vector<GridScore> grid;  // in (depth, fixed, value) order of the kernels and values given
  GridScore best;               // first maximum in grid order (ties go to the smaller depth, L', value)
};

// Scores every (kernel, value) on every split and averages over splits. `labels` (N) is needed for
// classification; `targets` (N, outputs) for regression scored by MSE (when empty, one-hot labels are used).
// Each kernel in `kernels` is an N×N NTK over all examples (train and validation rows alike).
Selection select_model(const std::vector<DepthKernel>& kernels, const std::vector<int>& labels,
                       const Matrix& targets, const std::vector<Split>& splits, const SelectOptions& options);

// Rows / columns `rows` × `cols` of k (kernel blocks of a split).
Matrix submatrix(const Matrix& k, const std::vector<int64_t>& rows, const std::vector<int64_t>& cols);

}  // namespace ntk
