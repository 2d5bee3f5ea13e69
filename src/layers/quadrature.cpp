#include "layers/quadrature.h"

#include <Eigen/Eigenvalues>
#include <atomic>
#include <cmath>
#include <map>
#include <mutex>

#include "ntk/error.h"

namespace ntk::quadrature {
namespace {

// Golub–Welsch: the nodes are the eigenvalues of the Jacobi matrix of the probabilists' Hermite polynomials
// (zero diagonal, off-diagonal sqrt(k)), the weights the squared first components of its eigenvectors. Unlike
// three-term evaluation of the polynomials, this does not overflow for large orders.
Rule make_gauss_hermite(int n) {
  Eigen::VectorXd diag = Eigen::VectorXd::Zero(n), sub(std::max(n - 1, 0));
  for (int k = 1; k < n; ++k) sub(k - 1) = std::sqrt(static_cast<double>(k));
  Rule r;
  r.nodes.resize(n);
  r.weights.resize(n);
  if (n == 1) {
    r.nodes[0] = 0;
    r.weights[0] = 1;
    return r;
  }
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es;
  es.computeFromTridiagonal(diag, sub, Eigen::ComputeEigenvectors);
  for (int i = 0; i < n; ++i) {
    r.nodes[i] = es.eigenvalues()(i);
    r.weights[i] = es.eigenvectors()(0, i) * es.eigenvectors()(0, i);
  }
  // Symmetrise (the rule is symmetric about 0) to remove eigen-solver round-off asymmetry.
  for (int i = 0; i < n / 2; ++i) {
    const double x = 0.5 * (r.nodes[n - 1 - i] - r.nodes[i]), w = 0.5 * (r.weights[i] + r.weights[n - 1 - i]);
    r.nodes[i] = -x;
    r.nodes[n - 1 - i] = x;
    r.weights[i] = r.weights[n - 1 - i] = w;
  }
  if (n % 2 == 1) r.nodes[n / 2] = 0;
  double total = 0;
  for (double w : r.weights) total += w;
  for (double& w : r.weights) w /= total;
  // Drop the nodes whose weight is below 1e-24. The activations integrated here grow at most linearly, so
  // those nodes carry less than 1e-19 of any expectation, and the eigenvector components give such weights no
  // better than to 1e-32 absolute anyway (noise, where the true weight at z = 80 is e^-3200). A high order
  // (up to 2000, for large variances) has most of its nodes out there, beyond |z| = 10: the n x n tensor rule
  // then costs about 50x fewer evaluations. (A fuzzed silu on 4x3 images took minutes per kernel without it.)
  Rule kept;
  for (int i = 0; i < n; ++i)
    if (r.weights[i] >= 1e-24) {
      kept.nodes.push_back(r.nodes[i]);
      kept.weights.push_back(r.weights[i]);
    }
  return kept;
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

Rule make_polar_radius(int n) {
  const Rule& gl = gauss_legendre(n);
  Rule r;
  r.nodes.resize(n);
  r.weights.resize(n);
  for (int j = 0; j < n; ++j) {
    const double x = 0.5 * kPolarRadius * (gl.nodes[j] + 1);
    r.nodes[j] = x;
    r.weights[j] = 0.5 * kPolarRadius * gl.weights[j] * x * std::exp(-0.5 * x * x);
  }
  return r;
}

constexpr int kMaxOrder = 2000;

// Rules by order: built once under the lock, then published through an atomic pointer, so that the engines'
// threads read them without locking (std::map nodes are stable).
struct Cache {
  std::mutex mu;
  std::map<int, Rule> rules;
  std::atomic<const Rule*> by_order[kMaxOrder + 1] = {};
};

template <typename Make>
const Rule& cached(Cache& cache, int n, Make make) {
  NTK_THROW_IF_NOT(n >= 1 && n <= kMaxOrder, "quadrature order must be in [1, %d], got %d", kMaxOrder, n);
  if (const Rule* r = cache.by_order[n].load(std::memory_order_acquire)) return *r;
  std::lock_guard<std::mutex> lock(cache.mu);
  auto it = cache.rules.find(n);
  if (it == cache.rules.end()) {
    Rule r = make(n);
    const size_t padded = (r.nodes.size() + kRulePad - 1) / kRulePad * kRulePad;
    r.padded_nodes = r.nodes;
    r.padded_weights = r.weights;
    r.padded_nodes.resize(padded, 0.0);
    r.padded_weights.resize(padded, 0.0);
    it = cache.rules.emplace(n, std::move(r)).first;
    cache.by_order[n].store(&it->second, std::memory_order_release);
  }
  return it->second;
}

}  // namespace

// Function-local statics: zero-initialised (the atomics too) before their first use.
const Rule& gauss_hermite(int n) {
  static Cache cache;
  return cached(cache, n, make_gauss_hermite);
}

const Rule& gauss_legendre(int n) {
  static Cache cache;
  return cached(cache, n, make_gauss_legendre);
}

const Rule& polar_radius(int n) {
  static Cache cache;
  return cached(cache, n, make_polar_radius);
}

}  // namespace ntk::quadrature
