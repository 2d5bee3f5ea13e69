// Labels, one-hot targets and metrics shared by the classification paths.
#include <algorithm>
#include <cmath>
#include <set>

#include "ntk/error.h"
#include "ntk/solvers.h"

namespace ntk {

std::vector<int> to_class_labels(const std::vector<double>& values, const std::string& source) {
  std::vector<int> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    // Labels written as text ("3", "3.0") round-trip exactly; anything else is a regression target or a typo.
    NTK_THROW_IF_NOT(
        std::isfinite(v) && v >= 0 && v == std::floor(v) && v < 1e7,
        "%s: label %g in row %zu is not a non-negative integer class label (classification needs "
        "labels 0, 1, 2, ...)",
        source.c_str(), v, i + 1);
    out[i] = static_cast<int>(v);
  }
  return out;
}

int count_classes(const std::vector<int>& labels) {
  int c = 0;
  for (int l : labels) c = std::max(c, l + 1);
  return c;
}

int distinct_classes(const std::vector<int>& labels) {
  return static_cast<int>(std::set<int>(labels.begin(), labels.end()).size());
}

Matrix one_hot(const std::vector<int>& labels, int num_classes, double off, double on) {
  Matrix y = Matrix::Constant(static_cast<Eigen::Index>(labels.size()), num_classes, off);
  for (size_t i = 0; i < labels.size(); ++i) {
    NTK_THROW_IF_NOT(labels[i] >= 0 && labels[i] < num_classes, "label %d in row %zu is outside [0, %d)",
                     labels[i], i + 1, num_classes);
    y(static_cast<Eigen::Index>(i), labels[i]) = on;
  }
  return y;
}

std::vector<int> argmax_rows(const Matrix& scores) {
  std::vector<int> out(static_cast<size_t>(scores.rows()), 0);
  for (Eigen::Index i = 0; i < scores.rows(); ++i) {
    Eigen::Index best = 0;
    for (Eigen::Index j = 1; j < scores.cols(); ++j)
      if (scores(i, j) > scores(i, best)) best = j;  // ties: the smaller class, like numpy.argmax
    out[static_cast<size_t>(i)] = static_cast<int>(best);
  }
  return out;
}

double accuracy(const std::vector<int>& predicted, const std::vector<int>& truth) {
  NTK_THROW_IF_NOT(predicted.size() == truth.size(), "accuracy: %zu predictions for %zu labels",
                   predicted.size(), truth.size());
  if (truth.empty()) return 0.0;
  size_t hit = 0;
  for (size_t i = 0; i < truth.size(); ++i) hit += predicted[i] == truth[i];
  return static_cast<double>(hit) / static_cast<double>(truth.size());
}

double mean_squared_error(const Matrix& predicted, const Matrix& target) {
  NTK_THROW_IF_NOT(predicted.rows() == target.rows() && predicted.cols() == target.cols(),
                   "MSE: predictions (%lld, %lld) and targets (%lld, %lld) differ in shape",
                   static_cast<long long>(predicted.rows()), static_cast<long long>(predicted.cols()),
                   static_cast<long long>(target.rows()), static_cast<long long>(target.cols()));
  if (predicted.size() == 0) return 0.0;
  return (predicted - target).squaredNorm() / static_cast<double>(predicted.size());
}

}  // namespace ntk
