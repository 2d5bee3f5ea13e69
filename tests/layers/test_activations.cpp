// Activation kernels: identities between closed forms, closed forms against quadrature, quadrature accuracy.
#include <gtest/gtest.h>

#include <cmath>

#include "common/test_util.h"
#include "layers/activations.h"
#include "layers/quadrature.h"
#include "ntk/arch.h"

namespace ntk {
namespace {

struct Cov {
  double v1, v2, c;
};
const Cov kCovs[] = {{1.0, 1.0, 0.3}, {0.5, 2.0, -0.7},   {1.7, 0.9, 1.2},
                     {0.2, 0.3, 0.0}, {2.5, 2.5, 2.4999}, {1.0, 1.0, -0.99}};

void expect_close(double a, double b, double rel, const std::string& what) {
  EXPECT_LE(std::fabs(a - b), rel * std::max(std::fabs(a), std::fabs(b)) + 1e-14)
      << what << ": " << a << " vs " << b;
}

TEST(Activations, ABReluIdentities) {
  auto relu = make_activation("relu");
  for (const Cov& k : kCovs) {
    double a_ff, a_dd, b_ff, b_dd;
    relu->expectations(k.v1, k.v2, k.c, a_ff, a_dd);
    make_activation("abrelu", {0, 1})->expectations(k.v1, k.v2, k.c, b_ff, b_dd);
    EXPECT_EQ(a_ff, b_ff);
    EXPECT_EQ(a_dd, b_dd);
    // abrelu(a, a) = a * identity: E = a² c, a².
    make_activation("abrelu", {0.7, 0.7})->expectations(k.v1, k.v2, k.c, b_ff, b_dd);
    expect_close(b_ff, 0.49 * k.c, 1e-14, "abrelu(a,a) nngp");
    expect_close(b_dd, 0.49, 1e-14, "abrelu(a,a) ntk");
    // leaky_relu(α) = abrelu(α, 1), abs = abrelu(-1, 1).
    make_activation("leaky_relu", {0.2})->expectations(k.v1, k.v2, k.c, a_ff, a_dd);
    make_activation("abrelu", {0.2, 1})->expectations(k.v1, k.v2, k.c, b_ff, b_dd);
    EXPECT_EQ(a_ff, b_ff);
    EXPECT_EQ(a_dd, b_dd);
    make_activation("abs")->expectations(k.v1, k.v2, k.c, a_ff, a_dd);
    make_activation("abrelu", {-1, 1})->expectations(k.v1, k.v2, k.c, b_ff, b_dd);
    EXPECT_EQ(a_ff, b_ff);
    EXPECT_EQ(a_dd, b_dd);
  }
}

TEST(Activations, IdentitiesHoldThroughWholeArchitectures) {
  Tensor x = testing::random_tensor({6, 4}, 3);
  auto k = [&](const std::string& spec) { return compute_kernels(spec, x, nullptr, testing::options()); };
  Kernels relu = k("dense(b_std=0.1), relu, dense"), ab = k("dense(b_std=0.1), abrelu(0, 1), dense");
  EXPECT_EQ((relu.ntk - ab.ntk).norm(), 0.0);
  Kernels lr = k("dense, leaky_relu(0.3), dense"), ab2 = k("dense, abrelu(0.3, 1), dense");
  EXPECT_EQ((lr.nngp - ab2.nngp).norm(), 0.0);
  // a * identity: dense, abrelu(a, a), dense == dense, dense(w_std = a * w_std) without the middle layer's
  // own term.
  Kernels lin = k("dense, abrelu(0.5, 0.5), dense(w_std=2)"), plain = k("dense, dense");
  EXPECT_LT(testing::rel_frobenius(lin.nngp, plain.nngp), 1e-14);
}

// Closed forms against the generic quadrature at a high order: the formulas are the right ones.
TEST(Activations, ClosedFormsMatchQuadrature) {
  struct C {
    const char* name;
    std::vector<double> args;
    bool kinked;
  };
  const C cases[] = {{"relu", {}, true},  {"abrelu", {-0.3, 1.4}, true},
                     {"abs", {}, true},   {"erf", {1.3, 0.7, 0.2}, false},
                     {"gelu", {}, false}, {"sin", {0.9, 1.3, 0.4}, false}};
  for (const C& c : cases) {
    auto act = make_activation(c.name, c.args);
    for (const Cov& k : kCovs) {
      if (std::fabs(k.c) > 0.999 * std::sqrt(k.v1 * k.v2))
        continue;  // nearly singular: quadrature is the weak side
      double ff, dd, qff, qdd;
      act->expectations(k.v1, k.v2, k.c, ff, dd);
      quadrature_expectations(*act, c.kinked, 200, k.v1, k.v2, k.c, qff, qdd);
      expect_close(ff, qff, 1e-9, std::string(c.name) + " E[φφ]");
      expect_close(dd, qdd, 1e-9, std::string(c.name) + " E[φ'φ']");
    }
  }
}

// The quadrature activations at their default order against a much higher order.
TEST(Activations, QuadratureOrderIsAccurateTo1e8) {
  struct C {
    const char* name;
    bool kinked;
  };
  for (const C& c :
       {C{"tanh", false}, C{"sigmoid", false}, C{"softplus", false}, C{"silu", false}, C{"elu", true}}) {
    auto act = make_activation(c.name);
    for (const Cov& k : kCovs) {
      double ff, dd, hff, hdd;
      act->expectations(k.v1, k.v2, k.c, ff, dd);
      quadrature_expectations(*act, c.kinked, c.kinked ? 400 : 800, k.v1, k.v2, k.c, hff, hdd);
      expect_close(ff, hff, 1e-8, std::string(c.name) + " E[φφ]");
      expect_close(dd, hdd, 1e-8, std::string(c.name) + " E[φ'φ']");
    }
  }
}

// The quadrature takes its two inputs in a fixed order: swapping them gives the same bits (the fast FC
// engine computes both (i, j) and (j, i) of its diagonal blocks and relies on it).
TEST(Activations, QuadratureIsSymmetricInItsInputs) {
  for (const char* name : {"tanh", "sigmoid", "softplus", "silu", "elu"}) {
    auto act = make_activation(name);
    for (const Cov& k : kCovs) {
      double ff, dd, sff, sdd;
      act->expectations(k.v1, k.v2, k.c, ff, dd);
      act->expectations(k.v2, k.v1, k.c, sff, sdd);
      EXPECT_EQ(ff, sff) << name;
      EXPECT_EQ(dd, sdd) << name;
    }
  }
}

// The cached rules, asked for from OpenMP threads at once (as the fast engines do, per pair): one rule per
// order, the same object for every thread.
TEST(Activations, QuadratureRulesAreSharedAcrossThreads) {
  constexpr int kOrders = 48;
  std::vector<const quadrature::Rule*> seen(2 * kOrders);
#pragma omp parallel for num_threads(2) schedule(static, 1)
  for (int k = 0; k < 2 * kOrders; ++k) seen[k] = &quadrature::gauss_hermite(300 + k % kOrders);
  for (int k = 0; k < kOrders; ++k) {
    EXPECT_EQ(seen[k], seen[k + kOrders]);
    EXPECT_EQ(seen[k], &quadrature::gauss_hermite(300 + k));
    EXPECT_EQ(seen[k]->padded_nodes.size() % quadrature::kRulePad, 0u);
    EXPECT_GE(seen[k]->padded_nodes.size(), seen[k]->nodes.size());
  }
}

TEST(Activations, SignAddsNothingToTheNtk) {
  double ff, dd;
  make_activation("sign")->expectations(1.0, 2.0, 0.5, ff, dd);
  EXPECT_NEAR(ff, 2 / M_PI * std::asin(0.5 / std::sqrt(2.0)), 1e-15);
  EXPECT_EQ(dd, 0.0);
}

// Independent closed form: the arc-cosine kernels (Cho & Saul 2009) of a one-hidden-layer ReLU network
//   f(x) = σv / sqrt(n) Σ_k v_k relu(σw w_k . x / sqrt(d)):
//   NNGP = σv² σw² / (2d) · k1(x, y),   k1 = ‖x‖‖y‖ (sin θ + (π - θ) cos θ) / π
//   NTK  = NNGP + σv² σw² (x . y / d) · k0 / 2,   k0 = 1 - θ / π
TEST(Activations, ArcCosineKernelsOfOneHiddenLayerRelu) {
  const double sw = 1.3, sv = 0.8;
  Tensor x = testing::random_tensor({5, 7}, 9);
  Kernels k = compute_kernels("dense(w_std=1.3), relu, dense(w_std=0.8)", x, nullptr, testing::options());
  const int64_t d = 7;
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = 0; j < 5; ++j) {
      double xy = 0, xx = 0, yy = 0;
      for (int64_t t = 0; t < d; ++t) {
        xy += x.row(i)[t] * x.row(j)[t];
        xx += x.row(i)[t] * x.row(i)[t];
        yy += x.row(j)[t] * x.row(j)[t];
      }
      const double cos_t = std::min(1.0, std::max(-1.0, xy / std::sqrt(xx * yy)));
      const double theta = std::acos(cos_t);
      const double k1 = std::sqrt(xx * yy) * (std::sin(theta) + (M_PI - theta) * cos_t) / M_PI;
      const double k0 = 1 - theta / M_PI;
      const double nngp = sv * sv * sw * sw / (2.0 * d) * k1;
      const double ntk = nngp + sv * sv * sw * sw * (xy / d) * k0 / 2;
      EXPECT_NEAR(k.nngp(i, j), nngp, 1e-12 * std::fabs(nngp) + 1e-15);
      EXPECT_NEAR(k.ntk(i, j), ntk, 1e-12 * std::fabs(ntk) + 1e-15);
    }
}

}  // namespace
}  // namespace ntk
