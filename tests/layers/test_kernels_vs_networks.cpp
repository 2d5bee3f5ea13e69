// The analytic kernel of every layer and of random compositions against Monte Carlo estimates from finite
// networks: the NNGP as the mean of f(x) f(x') and the NTK as the mean empirical NTK over random draws.
#include <gtest/gtest.h>

#include "common/test_util.h"
#include "ntk/arch.h"
#include "ntk/network.h"

namespace ntk {
namespace {

using testing::random_tensor;
using testing::rel_frobenius;

struct McCase {
  std::string arch;
  bool images;
  Parameterization param = Parameterization::kNtk;
};

struct McErrors {
  double nngp, ntk;
};

// The NNGP estimate f(x) f(x') of a single output has O(1) relative variance per network whatever the width
// (it is one draw of the readout): it is estimated with a readout of 256 i.i.d. outputs, whose per-output
// kernels are the same. The NTK estimate converges with the width, and uses the architecture as written.
std::string with_wide_readout(const std::string& spec) {
  const size_t pos = spec.rfind("dense");
  if (pos + 5 == spec.size()) return spec + "(width=256)";
  return spec.substr(0, pos + 6) + "width=256, " + spec.substr(pos + 6);
}

McErrors mc_errors(const McCase& c, int64_t width, int samples, uint64_t seed = 1) {
  Tensor x1 = c.images ? random_tensor({3, 5, 5, 2}, 11) : random_tensor({5, 6}, 11);
  // x2 correlated with x1: for independent random inputs the cross-kernels of odd activations are close to 0
  // and a relative error would measure only noise.
  Tensor x2 = c.images ? random_tensor({2, 5, 5, 2}, 12, 0.6) : random_tensor({3, 6}, 12, 0.6);
  for (int64_t i = 0; i < x2.size(); ++i) x2.data[i] += 0.8 * x1.data[i];
  // The analytic standard-parameterization NTK depends on the width: build it at the same width.
  Architecture arch = Architecture::parse(c.arch, ParseOptions{width});
  Kernels exact = compute_kernels(arch, x1, &x2, testing::options(c.param));
  Context ctx;
  ctx.threads = 2;
  MonteCarloKernels mc = monte_carlo_kernels(c.arch, width, x1, &x2, samples, seed, c.param, ctx);
  MonteCarloKernels wide =
      monte_carlo_kernels(with_wide_readout(c.arch), width, x1, &x2, samples, seed, c.param, ctx, false);
  return {rel_frobenius(wide.nngp, exact.nngp), rel_frobenius(mc.ntk, exact.ntk)};
}

class EveryLayerVsMonteCarlo : public ::testing::TestWithParam<McCase> {};

TEST_P(EveryLayerVsMonteCarlo, AgreesWithinMonteCarloError) {
  const McCase& c = GetParam();
  const int64_t width = c.images ? 96 : 1024;
  const int samples = c.images ? 40 : 100;
  McErrors e = mc_errors(c, width, samples);
  const double tol = c.images ? 0.08 : 0.05;
  EXPECT_LT(e.nngp, tol) << c.arch;
  EXPECT_LT(e.ntk, tol) << c.arch;
}

INSTANTIATE_TEST_SUITE_P(
    Layers, EveryLayerVsMonteCarlo,
    ::testing::Values(
        McCase{"dense(w_std=1.5, b_std=0.2), relu, dense(w_std=1.5, b_std=0.2), relu, dense", false},
        McCase{"dense(b_std=0.3), leaky_relu(0.2), dense", false},
        McCase{"dense, abrelu(-0.4, 1.3), dense", false},
        McCase{"dense, abs, dense", false},
        McCase{"dense, erf(1.2, 0.8, 0.1), dense", false},
        McCase{"dense, gelu, dense(b_std=0.1)", false},
        McCase{"dense, sign, dense", false},
        McCase{"dense(w_std=1.2), sin(1, 1.5, 0.3), dense", false},
        McCase{"dense(w_std=1.3), tanh, dense", false},
        McCase{"dense, sigmoid, dense", false},
        McCase{"dense, softplus, dense", false},
        McCase{"dense(w_std=1.2), elu, dense", false},
        McCase{"dense, silu, dense", false},
        McCase{"dense(b_std=0.5), layernorm, relu, dense", false},
        McCase{"dense, residual(relu, dense, relu, dense), relu, dense", false},
        McCase{"dense(trainable=false), relu, dense, relu, dense(trainable=false)", false},
        McCase{"identity, dense, relu, dense", false},
        McCase{"dense(w_std=1.4, b_std=0.3), relu, dense(b_std=0.1)", false, Parameterization::kStandard},
        McCase{"conv(3, w_std=1.41, b_std=0.1), relu, conv(3), relu, gap, dense", true},
        McCase{"conv(3, pad=valid), relu, conv(2, stride=2), relu, flatten, dense(trainable=false)", true},
        McCase{"conv(3, pad=circular), relu, avgpool(2, stride=1), flatten, dense", true},
        McCase{"conv(2, stride=2, pad=same), erf, avgpool(2, pad=same), gap, dense", true},
        McCase{"conv(3), layernorm, relu, flatten, dense", true},
        McCase{"conv(3, b_std=0.2), relu, residual(conv(3), relu, conv(3)), gap, dense", true},
        McCase{"conv(3), tanh, dense, relu, flatten, dense", true},
        McCase{"conv(3, b_std=0.1), relu, gap, dense", true, Parameterization::kStandard}));

TEST(KernelsVsMonteCarlo, ErrorShrinksWithWidthTimesSamples) {
  McCase c{"dense(w_std=1.5, b_std=0.2), relu, dense(w_std=1.5), relu, dense", false};
  McErrors small = mc_errors(c, 64, 10);
  McErrors large = mc_errors(c, 1024, 100);
  EXPECT_LT(large.ntk, 0.5 * small.ntk);
  EXPECT_LT(large.nngp, 0.5 * small.nngp);
  EXPECT_LT(large.ntk, 0.05);
}

TEST(KernelsVsMonteCarlo, ConvErrorShrinksWithWidth) {
  McCase c{"conv(3), relu, conv(3), relu, gap, dense", true};
  McErrors small = mc_errors(c, 8, 10);
  McErrors large = mc_errors(c, 128, 40);
  EXPECT_LT(large.ntk, 0.5 * small.ntk);
  EXPECT_LT(large.nngp, 0.5 * small.nngp);
}

// Random architectures drawn from the language with a fixed seed.
std::string random_fc_arch(std::mt19937_64& rng) {
  const char* acts[] = {"relu", "erf", "gelu", "tanh", "abs", "leaky_relu(0.1)", "sin(1, 1, 0.5)", "silu"};
  std::uniform_int_distribution<int> depth(1, 3), act(0, 7), coin(0, 1);
  std::uniform_real_distribution<double> wstd(0.8, 1.6);
  std::string s;
  int d = depth(rng);
  for (int l = 0; l < d; ++l) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "dense(w_std=%.2f%s), ", wstd(rng), coin(rng) ? ", b_std=0.3" : "");
    s += buf;
    if (coin(rng) && l > 0) {
      s += std::string("residual(") + acts[act(rng)] + ", dense), ";
    }
    s += std::string(acts[act(rng)]) + ", ";
  }
  return s + "dense";
}

std::string random_conv_arch(std::mt19937_64& rng) {
  const char* acts[] = {"relu", "erf", "gelu", "abs"};
  const char* readouts[] = {"gap", "flatten"};
  std::uniform_int_distribution<int> depth(1, 2), act(0, 3), coin(0, 1), k(2, 3);
  std::string s;
  int d = depth(rng);
  for (int l = 0; l < d; ++l) {
    s += "conv(" + std::to_string(k(rng)) + (coin(rng) ? ", b_std=0.2" : "") + "), ";
    s += std::string(acts[act(rng)]) + ", ";
  }
  if (coin(rng)) s += "avgpool(2), ";
  return s + readouts[coin(rng)] + ", dense";
}

TEST(KernelsVsMonteCarlo, RandomCompositions) {
  std::mt19937_64 rng(2024);
  for (int i = 0; i < 6; ++i) {
    McCase c{random_fc_arch(rng), false};
    McErrors e = mc_errors(c, 512, 40, 100 + i);
    EXPECT_LT(e.nngp, 0.06) << c.arch;
    EXPECT_LT(e.ntk, 0.06) << c.arch;
  }
  for (int i = 0; i < 3; ++i) {
    McCase c{random_conv_arch(rng), true};
    McErrors e = mc_errors(c, 128, 30, 200 + i);
    EXPECT_LT(e.nngp, 0.1) << c.arch;
    EXPECT_LT(e.ntk, 0.1) << c.arch;
  }
}

}  // namespace
}  // namespace ntk
