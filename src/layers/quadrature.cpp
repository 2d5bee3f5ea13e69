#include "layers/quadrature.h"

#include <cmath>
#include <map>
#include <mutex>

#include "ntk/error.h"

namespace ntk::quadrature {
namespace {

// Physicists' Hermite nodes by Newton's method on the orthonormal recurrence (stable for large n), then
// rescaled to the standard normal weight.
Rule make_gauss_hermite(int n) {
  std::vector<double> x(n), w(n);
  const double pim4 = 0.7511255444649425;  // pi^(-1/4)
  const int m = (n + 1) / 2;
  double z = 0;
  for (int i = 0; i < m; ++i) {
    if (i == 0)
      z = std::sqrt(2.0 * n + 1) - 1.85575 * std::pow(2.0 * n + 1, -0.16667);
    else if (i == 1)
      z -= 1.14 * std::pow(static_cast<double>(n), 0.426) / z;
    else if (i == 2)
      z = 1.86 * z - 0.86 * x[0];
    else if (i == 3)
      z = 1.91 * z - 0.91 * x[1];
    else
      z = 2.0 * z - x[i - 2];
    double pp = 0;
    for (int it = 0; it < 100; ++it) {
      double p1 = pim4, p2 = 0;
      for (int j = 0; j < n; ++j) {
        double p3 = p2;
        p2 = p1;
        p1 = z * std::sqrt(2.0 / (j + 1)) * p2 - std::sqrt(static_cast<double>(j) / (j + 1)) * p3;
      }
      pp = std::sqrt(2.0 * n) * p2;
      double z1 = z;
      z = z1 - p1 / pp;
      if (std::fabs(z - z1) <= 1e-15 * std::max(1.0, std::fabs(z))) break;
    }
    x[i] = z;
    x[n - 1 - i] = -z;
    w[i] = 2.0 / (pp * pp);
    w[n - 1 - i] = w[i];
  }
  Rule r;
  r.nodes.resize(n);
  r.weights.resize(n);
  const double inv_sqrt_pi = 1.0 / std::sqrt(M_PI);
  for (int i = 0; i < n; ++i) {
    r.nodes[i] = x[n - 1 - i] * std::sqrt(2.0);
    r.weights[i] = w[n - 1 - i] * inv_sqrt_pi;
  }
  return r;
}

Rule make_gauss_legendre(int n) {
  Rule r;
  r.nodes.resize(n);
  r.weights.resize(n);
  for (int i = 0; i < (n + 1) / 2; ++i) {
    double z = std::cos(M_PI * (i + 0.75) / (n + 0.5)), pp = 0;
    for (int it = 0; it < 100; ++it) {
      double p1 = 1, p2 = 0;
      for (int j = 0; j < n; ++j) {
        double p3 = p2;
        p2 = p1;
        p1 = ((2.0 * j + 1) * z * p2 - j * p3) / (j + 1);
      }
      pp = n * (z * p1 - p2) / (z * z - 1);
      double z1 = z;
      z = z1 - p1 / pp;
      if (std::fabs(z - z1) <= 1e-16) break;
    }
    r.nodes[i] = -z;
    r.nodes[n - 1 - i] = z;
    r.weights[i] = r.weights[n - 1 - i] = 2.0 / ((1 - z * z) * pp * pp);
  }
  return r;
}

template <typename Make>
const Rule& cached(std::map<int, Rule>& cache, std::mutex& mu, int n, Make make) {
  NTK_THROW_IF_NOT(n >= 1 && n <= 2000, "quadrature order must be in [1, 2000], got %d", n);
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(n);
  if (it == cache.end()) it = cache.emplace(n, make(n)).first;
  return it->second;  // std::map nodes are stable
}

}  // namespace

const Rule& gauss_hermite(int n) {
  static std::map<int, Rule> cache;
  static std::mutex mu;
  return cached(cache, mu, n, make_gauss_hermite);
}

const Rule& gauss_legendre(int n) {
  static std::map<int, Rule> cache;
  static std::mutex mu;
  return cached(cache, mu, n, make_gauss_legendre);
}

}  // namespace ntk::quadrature
