// Eigen views of row-major tensors: a batch (N, ...) seen as an (N * positions) x channels matrix.
#pragma once

#include <Eigen/Core>

#include "ntk/layer.h"
#include "ntk/tensor.h"

namespace ntk::layers {

using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMap = Eigen::Map<RowMat>;
using ConstRowMap = Eigen::Map<const RowMat>;

inline ConstRowMap as_rows(const Tensor& t, int64_t cols) { return ConstRowMap(t.data.data(), t.size() / cols, cols); }
inline RowMap as_rows(Tensor& t, int64_t cols) { return RowMap(t.data.data(), t.size() / cols, cols); }

// Shape of a batch of n examples of the given example shape.
inline std::vector<int64_t> batch_shape(int64_t n, const ExampleShape& s) {
  if (s.spatial) return {n, s.height, s.width, s.channels};
  return {n, s.channels};
}

}  // namespace ntk::layers
