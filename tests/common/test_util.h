// Helpers shared by the test suites: random inputs, relative Frobenius errors, dtype-keyed tolerances.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "ntk/kernel.h"
#include "ntk/tensor.h"

namespace ntk::testing {

inline Tensor random_tensor(std::vector<int64_t> shape, uint64_t seed, double scale = 1.0) {
  Tensor t(std::move(shape));
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n(0.0, scale);
  for (auto& v : t.data) v = n(rng);
  return t;
}

// Standard-normal matrix (the same draws as random_tensor({rows, cols}, seed)).
inline Matrix random_matrix(int64_t rows, int64_t cols, uint64_t seed) {
  const Tensor t = random_tensor({rows, cols}, seed);
  Matrix m(rows, cols);
  for (int64_t i = 0; i < m.size(); ++i) m.data()[i] = t.data[static_cast<size_t>(i)];
  return m;
}

inline double rel_frobenius(const Matrix& a, const Matrix& b) {
  return (a - b).norm() / b.norm();
}

// Tolerances keyed by dtype for comparisons of two computations of the same quantity.
inline double tolerance(DType dtype) {
  return dtype == DType::kFloat32 ? 1e-4 : 1e-10;
}

inline KernelOptions options(Parameterization p = Parameterization::kNtk, DType dtype = DType::kFloat64) {
  KernelOptions o;
  o.parameterization = p;
  o.ctx.dtype = dtype;
  o.ctx.threads = 2;
  return o;
}

}  // namespace ntk::testing
