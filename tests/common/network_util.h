// Test helpers for finite networks.
#pragma once

#include <vector>

#include "ntk/network.h"

namespace ntk::testing {

// The empirical NTK from explicit per-example Jacobians, (1/K) sum_o <df_o(x_i)/dθ, df_o(x_j)/dθ>: the
// definition that Network::empirical_ntk's contraction must equal.
inline Matrix explicit_empirical_ntk(const Network& net, const Tensor& x) {
  const int64_t n = x.rows(), K = net.output_width();
  Matrix expected = Matrix::Zero(n, n);
  for (int64_t o = 0; o < K; ++o) {
    std::vector<std::vector<LayerParams>> jac(n);
    for (int64_t i = 0; i < n; ++i) {
      Matrix seed = Matrix::Zero(n, K);
      seed(i, o) = 1;
      jac[i] = net.gradient(x, seed);
    }
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) expected(i, j) += Network::dot(jac[i], jac[j]) / K;
  }
  return expected;
}

}  // namespace ntk::testing
