// Quadrature rules for the Gaussian expectations of activations without a closed-form kernel.
#pragma once

#include <vector>

namespace ntk::quadrature {

struct Rule {
  std::vector<double> nodes, weights;
};

// Probabilists' Gauss–Hermite rule of order n: sum_i w_i g(z_i) ≈ E[g(Z)], Z ~ N(0, 1), without the nodes of
// weight below 1e-24 (so it may hold fewer than n). Cached per n.
const Rule& gauss_hermite(int n);
// Gauss–Legendre rule of order n on [-1, 1]. Cached per n.
const Rule& gauss_legendre(int n);

// E[g(u, v)] for (u, v) ~ N(0, [[v1, c], [c, v2]]) by an n x n tensor Gauss–Hermite rule in whitened coordinates
// u = sqrt(v1) z1, v = c / sqrt(v1) z1 + sqrt(v2 - c² / v1) z2. F is called as f(u, v, weight) for each node.
template <typename F>
void bivariate_gauss_hermite(int n, double v1, double v2, double c, F&& f);

}  // namespace ntk::quadrature

#include <cmath>

namespace ntk::quadrature {

template <typename F>
void bivariate_gauss_hermite(int n, double v1, double v2, double c, F&& f) {
  const Rule& r = gauss_hermite(n);
  const double s1 = std::sqrt(std::max(v1, 0.0));
  const double a = s1 > 0 ? c / s1 : 0.0;
  const double b = std::sqrt(std::max(v2 - a * a, 0.0));
  const size_t m = r.nodes.size();  // below n: the rule keeps only nodes of weight >= 1e-24
  for (size_t i = 0; i < m; ++i) {
    const double u = s1 * r.nodes[i];
    const double au = a * r.nodes[i];
    for (size_t j = 0; j < m; ++j) f(u, au + b * r.nodes[j], r.weights[i] * r.weights[j]);
  }
}

}  // namespace ntk::quadrature
