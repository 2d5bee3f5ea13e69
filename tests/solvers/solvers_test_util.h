// Small deterministic kernels for the solver tests.
#pragma once

#include <cmath>
#include <random>

#include "common/test_util.h"
#include "ntk/solvers.h"

namespace ntk::test {

using testing::random_matrix;

// Gaussian kernel exp(−|a−b|² / (2 ℓ²)) + c·a·b/d between rows: positive definite for distinct rows.
inline Matrix rbf_kernel(const Matrix& a, const Matrix& b, double length, double linear = 0.0) {
  Matrix k(a.rows(), b.rows());
  for (int64_t i = 0; i < a.rows(); ++i)
    for (int64_t j = 0; j < b.rows(); ++j)
      k(i, j) = std::exp(-(a.row(i) - b.row(j)).squaredNorm() / (2 * length * length)) +
                linear * a.row(i).dot(b.row(j)) / static_cast<double>(a.cols());
  return k;
}

}  // namespace ntk::test
