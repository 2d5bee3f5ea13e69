// C-SVM on a precomputed kernel through libsvm (the same solver scikit-learn's SVC wraps).
//
// libsvm's precomputed-kernel format: every training example is a node array whose node 0 holds the example's
// 1-based serial number and node j (j >= 1) holds K(i, j−1); a test example's node j holds K(test, train
// j−1). libsvm looks kernel values up as x[(int) sv[0].value], so node arrays are N + 2 long (serial, N
// values, end).
#include <svm.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <numeric>

#include "ntk/error.h"
#include "ntk/solvers.h"

namespace ntk {

namespace {

void silence_libsvm() {
  static std::once_flag once;
  std::call_once(once, [] { svm_set_print_string_function([](const char*) {}); });
}

// Training rows in libsvm order: grouped by sorted label (stable), so libsvm's class order (first appearance)
// is the sorted order scikit-learn uses; labels are passed as class indices 0..c−1, which also keeps libsvm's
// "+1/−1 swap" for binary problems out of play.
struct SvmProblem {
  int64_t n = 0;
  std::vector<int> classes;     // sorted distinct labels
  std::vector<int64_t> order;   // libsvm row r is original row order[r]
  std::vector<double> y;        // class index per libsvm row
  std::vector<svm_node> nodes;  // n × (n + 2)
  std::vector<svm_node*> rows;
  svm_problem prob{};

  SvmProblem(const Matrix& k, const std::vector<int>& labels) {
    n = k.rows();
    NTK_THROW_IF_NOT(k.rows() == k.cols() && n > 0, "SVM: train-train kernel must be square, got %lld x %lld",
                     static_cast<long long>(k.rows()), static_cast<long long>(k.cols()));
    NTK_THROW_IF_NOT(static_cast<int64_t>(labels.size()) == n, "SVM: %zu labels for a kernel of %lld rows",
                     labels.size(), static_cast<long long>(n));
    NTK_THROW_IF_NOT(k.allFinite(), "SVM: kernel contains NaN or infinite entries");
    NTK_THROW_IF_NOT(n < (int64_t(1) << 31) / 2, "SVM: too many training examples (%lld)",
                     static_cast<long long>(n));
    classes = labels;
    std::sort(classes.begin(), classes.end());
    classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
    NTK_THROW_IF_NOT(classes.size() >= 2,
                     "SVM: the training labels hold a single class (%d); a classifier needs at "
                     "least two",
                     classes.front());
    order.resize(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return labels[a] < labels[b]; });
    y.resize(static_cast<size_t>(n));
    const int64_t w = n + 2;
    nodes.resize(static_cast<size_t>(n * w));
    rows.resize(static_cast<size_t>(n));
    for (int64_t r = 0; r < n; ++r) {
      const int64_t i = order[r];
      y[r] =
          static_cast<double>(std::lower_bound(classes.begin(), classes.end(), labels[i]) - classes.begin());
      svm_node* x = nodes.data() + r * w;
      x[0].index = 0;
      x[0].value = static_cast<double>(r + 1);
      const double* krow = k.data() + i * n;
      for (int64_t c = 0; c < n; ++c) {
        x[c + 1].index = static_cast<int>(c + 1);
        x[c + 1].value = krow[order[c]];
      }
      x[n + 1].index = -1;
      x[n + 1].value = 0;
      rows[r] = x;
    }
    prob.l = static_cast<int>(n);
    prob.y = y.data();
    prob.x = rows.data();
  }

  // Node array of one test row, columns permuted to libsvm's training order.
  void test_nodes(const Matrix& k_test_train, int64_t i, std::vector<svm_node>& x) const {
    x.resize(static_cast<size_t>(n + 2));
    x[0].index = 0;
    x[0].value = 0;
    const double* krow = k_test_train.data() + i * n;
    for (int64_t c = 0; c < n; ++c) {
      x[c + 1].index = static_cast<int>(c + 1);
      x[c + 1].value = krow[order[c]];
    }
    x[n + 1].index = -1;
    x[n + 1].value = 0;
  }
};

svm_parameter make_param(const SvmOptions& o) {
  svm_options().validate(o);
  svm_parameter p{};
  p.svm_type = C_SVC;
  p.kernel_type = PRECOMPUTED;
  p.cache_size = o.cache_mb;
  p.eps = o.tol;
  p.C = o.C;
  p.nr_weight = 0;
  p.weight_label = nullptr;
  p.weight = nullptr;
  p.shrinking = o.shrinking ? 1 : 0;
  p.probability = 0;
  return p;
}

svm_model* train(const SvmProblem& problem, const svm_parameter& param) {
  silence_libsvm();
  const char* err = svm_check_parameter(&problem.prob, &param);
  NTK_THROW_IF_NOT(err == nullptr, "libsvm: %s", err ? err : "");
  svm_model* model = svm_train(&problem.prob, &param);
  NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, model != nullptr, "libsvm training failed");
  return model;
}

void check_test_kernel(const Matrix& k_test_train, int64_t n) {
  NTK_THROW_IF_NOT(k_test_train.cols() == n,
                   "SVM: test-train kernel has %lld columns, the training set %lld rows",
                   static_cast<long long>(k_test_train.cols()), static_cast<long long>(n));
  NTK_THROW_IF_NOT(k_test_train.allFinite(), "SVM: test-train kernel contains NaN or infinite entries");
}

}  // namespace

struct PrecomputedSvm::Impl {
  std::unique_ptr<SvmProblem> problem;  // the model's support vectors point into its nodes
  svm_model* model = nullptr;
  ~Impl() {
    if (model) svm_free_and_destroy_model(&model);
  }
};

PrecomputedSvm::PrecomputedSvm() : impl_(std::make_unique<Impl>()) {}
PrecomputedSvm::~PrecomputedSvm() = default;
PrecomputedSvm::PrecomputedSvm(PrecomputedSvm&&) noexcept = default;
PrecomputedSvm& PrecomputedSvm::operator=(PrecomputedSvm&&) noexcept = default;

void PrecomputedSvm::fit(const Matrix& k_train_train, const std::vector<int>& labels,
                         const SvmOptions& options) {
  svm_parameter param = make_param(options);
  auto problem = std::make_unique<SvmProblem>(k_train_train, labels);
  svm_model* model = train(*problem, param);
  if (impl_->model) svm_free_and_destroy_model(&impl_->model);
  impl_->model = model;
  impl_->problem = std::move(problem);
}

bool PrecomputedSvm::fitted() const {
  return impl_ && impl_->model;
}

const std::vector<int>& PrecomputedSvm::classes() const {
  NTK_THROW_IF_NOT(fitted(), "SVM used before fit");
  return impl_->problem->classes;
}

int64_t PrecomputedSvm::num_support_vectors() const {
  NTK_THROW_IF_NOT(fitted(), "SVM used before fit");
  return impl_->model->l;
}

std::vector<int> PrecomputedSvm::predict(const Matrix& k_test_train) const {
  NTK_THROW_IF_NOT(fitted(), "SVM used before fit");
  const SvmProblem& p = *impl_->problem;
  check_test_kernel(k_test_train, p.n);
  std::vector<int> out(static_cast<size_t>(k_test_train.rows()));
  std::vector<svm_node> x;
  for (int64_t i = 0; i < k_test_train.rows(); ++i) {
    p.test_nodes(k_test_train, i, x);
    out[i] = p.classes[static_cast<size_t>(svm_predict(impl_->model, x.data()))];
  }
  return out;
}

Matrix PrecomputedSvm::decision_function(const Matrix& k_test_train) const {
  NTK_THROW_IF_NOT(fitted(), "SVM used before fit");
  const SvmProblem& p = *impl_->problem;
  check_test_kernel(k_test_train, p.n);
  const int c = impl_->model->nr_class;
  const int pairs = c * (c - 1) / 2;
  Matrix out(k_test_train.rows(), pairs);
  std::vector<svm_node> x;
  std::vector<double> dec(static_cast<size_t>(pairs));
  for (int64_t i = 0; i < k_test_train.rows(); ++i) {
    p.test_nodes(k_test_train, i, x);
    svm_predict_values(impl_->model, x.data(), dec.data());
    for (int j = 0; j < pairs; ++j) out(i, j) = dec[j];
  }
  return out;
}

std::vector<double> svm_accuracy_path(const Matrix& k_train_train, const std::vector<int>& y_train,
                                      const Matrix& k_test_train, const std::vector<int>& y_test,
                                      const std::vector<double>& cs, const SvmOptions& base,
                                      const Context& ctx) {
  SvmProblem problem(k_train_train, y_train);
  check_test_kernel(k_test_train, problem.n);
  NTK_THROW_IF_NOT(static_cast<int64_t>(y_test.size()) == k_test_train.rows(),
                   "SVM: %zu test labels for a test kernel of %lld rows", y_test.size(),
                   static_cast<long long>(k_test_train.rows()));
  std::vector<svm_parameter> params;
  for (double c : cs) {
    SvmOptions o = base;
    o.C = c;
    params.push_back(make_param(o));
    const char* err = svm_check_parameter(&problem.prob, &params.back());
    NTK_THROW_IF_NOT(err == nullptr, "libsvm: %s", err ? err : "");
  }
  silence_libsvm();
  // Test node arrays are built once and shared read-only by every C.
  const int64_t m = k_test_train.rows();
  std::vector<std::vector<svm_node>> tests(static_cast<size_t>(m));
  for (int64_t i = 0; i < m; ++i) problem.test_nodes(k_test_train, i, tests[i]);
  std::vector<double> acc(cs.size(), 0.0);
  const int threads = std::max(1, std::min<int>(ctx.num_threads(), static_cast<int>(cs.size())));
  // libsvm keeps no shared mutable state during svm_train / svm_predict (the print hook is set once above).
#pragma omp parallel for num_threads(threads) schedule(dynamic)
  for (size_t ci = 0; ci < cs.size(); ++ci) {
    svm_model* model = svm_train(&problem.prob, &params[ci]);
    if (!model) continue;
    int64_t hit = 0;
    for (int64_t i = 0; i < m; ++i)
      hit += problem.classes[static_cast<size_t>(svm_predict(model, tests[i].data()))] == y_test[i];
    acc[ci] = m ? static_cast<double>(hit) / static_cast<double>(m) : 0.0;
    svm_free_and_destroy_model(&model);
  }
  return acc;
}

}  // namespace ntk
