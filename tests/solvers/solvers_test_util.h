// Small deterministic kernels for the solver tests.
#pragma once

#include <cmath>
#include <random>

#include "ntk/solvers.h"

namespace ntk::test {

inline Matrix random_matrix(int64_t rows, int64_t cols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  Matrix m(rows, cols);
  for (int64_t i = 0; i < m.size(); ++i) m.data()[i] = normal(rng);
  return m;
}

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
