// Quadrature rules for the Gaussian expectations of activations without a closed-form kernel (the sums
// themselves are math/act_quadrature.h, shared by every engine).
#pragma once

#include <vector>

namespace ntk::quadrature {

// Padding of Rule's padded_* arrays: a multiple of every vector width (8 doubles on AVX-512).
constexpr int kRulePad = 16;

struct Rule {
  std::vector<double> nodes, weights;
  // The same nodes and weights followed by zeros up to a multiple of kRulePad entries, for vector lanes that
  // read whole vectors (a zero weight adds nothing).
  std::vector<double> padded_nodes, padded_weights;
  int size() const { return static_cast<int>(nodes.size()); }
};

// Probabilists' Gauss–Hermite rule of order n: sum_i w_i g(z_i) ≈ E[g(Z)], Z ~ N(0, 1), without the nodes of
// weight below 1e-24 (so it may hold fewer than n). Cached per n.
const Rule& gauss_hermite(int n);
// Gauss–Legendre rule of order n on [-1, 1]. Cached per n.
const Rule& gauss_legendre(int n);
// The radial rule of the polar quadrature (math/act_quadrature.h): Gauss–Legendre of order n on [0,
// kPolarRadius], the weights times the radial density r e^{-r²/2}. Cached per n.
constexpr double kPolarRadius = 12.0;
const Rule& polar_radius(int n);

// All three are safe to call from any thread (the engines' OpenMP threads ask for a pair's rule); once a rule
// exists, a call takes no lock.

}  // namespace ntk::quadrature
