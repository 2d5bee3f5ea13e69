// One-pass model selection: every (depth, L') kernel comes from one run of the layer recursion
// (fc_kernels_all_depths), so the grid over (depth, L', C or diag_reg) only costs solves.
#include <algorithm>
#include <cmath>
#include <exception>
#include <numeric>
#include <random>

#include "ntk/error.h"
#include "ntk/solvers.h"

namespace ntk {

std::vector<Split> kfold_splits(int64_t n, int k, bool shuffle, uint64_t seed) {
  NTK_THROW_IF_NOT(k >= 2 && k <= n,
                   "k-fold cross-validation needs 2 <= k <= number of examples (k = %d, n = %lld)", k,
                   static_cast<long long>(n));
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  if (shuffle) {
    std::mt19937_64 rng(seed);
    std::shuffle(idx.begin(), idx.end(), rng);
  }
  std::vector<Split> out(static_cast<size_t>(k));
  for (int f = 0; f < k; ++f) {
    const int64_t b = n * f / k, e = n * (f + 1) / k;
    for (int64_t i = 0; i < n; ++i) (i >= b && i < e ? out[f].test : out[f].train).push_back(idx[i]);
    std::sort(out[f].train.begin(), out[f].train.end());
    std::sort(out[f].test.begin(), out[f].test.end());
  }
  return out;
}

const char* select_method_name(SelectMethod m) {
  return m == SelectMethod::kSvm ? "svm" : "regression";
}

SelectMethod parse_select_method(const std::string& name) {
  if (name == "svm") return SelectMethod::kSvm;
  if (name == "regression") return SelectMethod::kRegression;
  NTK_THROW("unknown selection method '%s'; valid: svm, regression", name.c_str());
}

namespace {

std::vector<int> pick(const std::vector<int>& v, const std::vector<int64_t>& idx) {
  std::vector<int> out(idx.size());
  for (size_t i = 0; i < idx.size(); ++i) out[i] = v[static_cast<size_t>(idx[i])];
  return out;
}

Matrix pick_rows(const Matrix& m, const std::vector<int64_t>& idx) {
  Matrix out(static_cast<Eigen::Index>(idx.size()), m.cols());
  for (size_t i = 0; i < idx.size(); ++i) out.row(static_cast<Eigen::Index>(i)) = m.row(idx[i]);
  return out;
}

}  // namespace

Selection select_model(const std::vector<DepthKernel>& kernels, const std::vector<int>& labels,
                       const Matrix& targets, const std::vector<Split>& splits,
                       const SelectOptions& options) {
  NTK_THROW_IF_NOT(!kernels.empty(), "model selection: no kernels to choose from");
  select_options().validate(options);
  const std::vector<double> values =
      options.values.empty() ? default_select_values(options.method) : options.values;
  NTK_THROW_IF_NOT(!splits.empty(), "model selection: no train/validation split");
  const bool classify = options.method == SelectMethod::kSvm || options.classification;
  const int64_t n = classify || targets.size() == 0 ? static_cast<int64_t>(labels.size()) : targets.rows();
  NTK_THROW_IF_NOT(n > 0, "model selection: no labels / targets");
  for (const DepthKernel& k : kernels)
    NTK_THROW_IF_NOT(k.ntk.rows() == n && k.ntk.cols() == n,
                     "model selection: kernel (depth %d, L' %d) is %lld x %lld, expected %lld x %lld",
                     k.depth, k.fixed, static_cast<long long>(k.ntk.rows()),
                     static_cast<long long>(k.ntk.cols()), static_cast<long long>(n),
                     static_cast<long long>(n));
  for (size_t s = 0; s < splits.size(); ++s) {
    NTK_THROW_IF_NOT(!splits[s].train.empty() && !splits[s].test.empty(),
                     "model selection: split %zu is empty", s);
    if (classify) {
      const int c = distinct_classes(pick(labels, splits[s].train));
      NTK_THROW_IF_NOT(c >= 2, "model selection: the training part of split %zu holds a single class", s + 1);
    }
  }

  const size_t nk = kernels.size(), nv = values.size();
  std::vector<double> score(nk * nv, 0.0);

  if (options.method == SelectMethod::kSvm) {
    // Parallel over kernels (each builds its own libsvm problem), serial over C inside.
    Context inner = options.ctx;
    inner.threads = 1;
    std::exception_ptr error;
    const int threads = std::max(1, std::min<int>(options.ctx.num_threads(), static_cast<int>(nk)));
#pragma omp parallel for num_threads(threads) schedule(dynamic)
    for (size_t ki = 0; ki < nk; ++ki) {
      try {
        for (const Split& s : splits) {
          std::vector<double> acc = svm_accuracy_path(
              submatrix(kernels[ki].ntk, s.train, s.train), pick(labels, s.train),
              submatrix(kernels[ki].ntk, s.test, s.train), pick(labels, s.test), values, options.svm, inner);
          for (size_t vi = 0; vi < nv; ++vi)
            score[ki * nv + vi] += acc[vi] / static_cast<double>(splits.size());
        }
      } catch (...) {
#pragma omp critical(ntk_select_error)
        if (!error) error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
  } else {
    Matrix y = targets;
    if (y.size() == 0) {
      NTK_THROW_IF_NOT(!labels.empty(), "model selection: regression needs targets or labels");
      y = one_hot(labels, count_classes(labels), options.target_off, options.target_on);
    }
    NTK_THROW_IF_NOT(y.rows() == n, "model selection: %lld target rows for %lld examples",
                     static_cast<long long>(y.rows()), static_cast<long long>(n));
    // One eigendecomposition per (kernel, split) serves every diag_reg: K + λI has K's eigenvectors.
    for (size_t ki = 0; ki < nk; ++ki) {
      for (const Split& s : splits) {
        SymmetricEigen eig(submatrix(kernels[ki].ntk, s.train, s.train));
        const Matrix k_test = submatrix(kernels[ki].ntk, s.test, s.train);
        const Matrix y_train = pick_rows(y, s.train);
        const double mean_diag = eig.info().mean_diagonal;
        const double top =
            std::max(std::abs(eig.eigenvalues()(0)), std::abs(eig.eigenvalues()(eig.size() - 1)));
        for (size_t vi = 0; vi < nv; ++vi) {
          const double reg = options.absolute_reg ? values[vi] : values[vi] * mean_diag;
          // Directions with a vanishing regularised eigenvalue are dropped (pseudo-inverse) instead of
          // blowing up: selection must score an unregularised singular kernel, not abort on it.
          const double floor = 1e-12 * top;
          Matrix pred =
              k_test *
              eig.apply([reg, floor](double l) { return l + reg > floor ? 1.0 / (l + reg) : 0.0; }, y_train);
          double sc;
          if (options.classification && !labels.empty()) {
            sc = accuracy(argmax_rows(pred), pick(labels, s.test));
          } else {
            sc = -mean_squared_error(pred, pick_rows(y, s.test));
          }
          score[ki * nv + vi] += sc / static_cast<double>(splits.size());
        }
      }
    }
  }

  Selection out;
  for (size_t ki = 0; ki < nk; ++ki)
    for (size_t vi = 0; vi < nv; ++vi) {
      GridScore g;
      g.depth = kernels[ki].depth;
      g.fixed = kernels[ki].fixed;
      g.value = values[vi];
      g.score = score[ki * nv + vi];
      out.grid.push_back(g);
    }
  out.best = out.grid.front();
  for (const GridScore& g : out.grid)
    if (g.score > out.best.score) out.best = g;
  return out;
}

}  // namespace ntk
