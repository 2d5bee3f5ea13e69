// μP (parameterization mup) of the finite networks: each layer's place in the network, the width exponents of
// the scalings (Tensor Programs V, Table 3, SGD), backward passes against finite differences in every place,
// the initial variances by Monte Carlo, the empirical NTK at initialisation against the ntk
// parameterization's exact NTK (its limit), and the kernel entry points refusing mup.
#include <gtest/gtest.h>

#include <cmath>

#include "common/network_util.h"
#include "common/test_util.h"
#include "ntk/arch.h"
#include "ntk/error.h"
#include "ntk/network.h"

namespace ntk {
namespace {

using testing::random_tensor;
using testing::rel_frobenius;

constexpr Parameterization kMup = Parameterization::kMup;

double inner(const Tensor& a, const Tensor& b) {
  double s = 0;
  for (int64_t i = 0; i < a.size(); ++i) s += a.data[i] * b.data[i];
  return s;
}

// ---- the scalings ----

struct Exponents {
  double w_var, w_lr, b_var, b_lr;
};

// Least-squares exponents of the effective variances and learning rates in the width n, for a layer whose
// fan-in, fan-in width and output width are given as functions of n.
template <typename FanIn, typename WidthIn, typename WidthOut>
Exponents exponents(const LayerSetting& s, FanIn fan_in, WidthIn width_in, WidthOut width_out) {
  const double n0 = 64, n1 = 4096;
  const AffineScaling a = affine_scaling(s, fan_in(n0), width_in(n0), width_out(n0), 1.3, 0.4);
  const AffineScaling b = affine_scaling(s, fan_in(n1), width_in(n1), width_out(n1), 1.3, 0.4);
  auto e = [&](double qa, double qb) { return std::log(qb / qa) / std::log(n1 / n0); };
  return {e(a.eff_w_std() * a.eff_w_std(), b.eff_w_std() * b.eff_w_std()), e(a.eff_w_lr(), b.eff_w_lr()),
          e(a.eff_b_std() * a.eff_b_std(), b.eff_b_std() * b.eff_b_std()), e(a.eff_b_lr(), b.eff_b_lr())};
}

void expect_exponents(const Exponents& got, const Exponents& want, const char* what) {
  EXPECT_NEAR(got.w_var, want.w_var, 1e-12) << what << " weight variance";
  EXPECT_NEAR(got.w_lr, want.w_lr, 1e-12) << what << " weight learning rate";
  EXPECT_NEAR(got.b_var, want.b_var, 1e-12) << what << " bias variance";
  EXPECT_NEAR(got.b_lr, want.b_lr, 1e-12) << what << " bias learning rate";
}

TEST(MupScaling, WidthExponentsAreTensorProgramsVTableThree) {
  auto n = [](double w) { return w; };
  auto nine_n = [](double w) { return 9 * w; };  // a 3x3 conv's fan-in
  auto d = [](double) { return 20.0; };          // the data's dimension
  auto k = [](double) { return 10.0; };          // the outputs
  const LayerSetting input(kMup, true, false, 0), hidden(kMup, false, false, 0),
      readout(kMup, false, true, 0);
  // Input weights and all hidden biases: variance 1/fan_in, learning rate fan_out.
  expect_exponents(exponents(input, d, n, n), {0, 1, 0, 1}, "mup input");
  // Hidden weights: variance 1/fan_in, learning rate 1 (dense and conv).
  expect_exponents(exponents(hidden, n, n, n), {-1, 0, 0, 1}, "mup hidden dense");
  expect_exponents(exponents(hidden, nine_n, n, n), {-1, 0, 0, 1}, "mup hidden conv");
  // Output weights: variance 1/fan_in², learning rate 1/fan_in; the output bias is O(1).
  expect_exponents(exponents(readout, n, n, k), {-2, -1, 0, 0}, "mup readout");
  // A flatten readout: fan-in H·W·C, width C.
  expect_exponents(exponents(
                       readout, [](double w) { return 49 * w; }, n, k),
                   {-2, -1, 0, 0}, "mup flatten");
  // The other two, for contrast: ntk's hidden learning rate falls as 1/n, standard's stays.
  expect_exponents(exponents(LayerSetting(Parameterization::kNtk), n, n, n), {-1, -1, 0, 0}, "ntk hidden");
  expect_exponents(exponents(LayerSetting(Parameterization::kStandard), n, n, n), {-1, 0, 0, 0},
                   "standard hidden");
}

TEST(MupScaling, ValuesAndTheWidthOneLimit) {
  const double w = 1.3, b = 0.4;
  const LayerSetting hidden(kMup, false, false, 0), readout(kMup, false, true, 0),
      input(kMup, true, false, 0);
  AffineScaling h = affine_scaling(hidden, 9 * 32, 32, 32, w, b);
  EXPECT_DOUBLE_EQ(h.eff_w_std(), w / std::sqrt(9.0 * 32));  // the ntk / standard initial law
  EXPECT_DOUBLE_EQ(h.eff_w_lr(), w * w / 9.0);               // = 32 x the ntk one
  EXPECT_DOUBLE_EQ(h.eff_b_std(), b);
  AffineScaling r = affine_scaling(readout, 32, 32, 10, w, b);
  EXPECT_DOUBLE_EQ(r.eff_w_std(), w / 32.0);
  EXPECT_DOUBLE_EQ(r.eff_w_lr(), w * w / 32.0);
  AffineScaling i = affine_scaling(input, 20, 1, 64, w, b);
  EXPECT_DOUBLE_EQ(i.eff_w_std(), w / std::sqrt(20.0));
  EXPECT_DOUBLE_EQ(i.eff_w_lr(), w * w * 64 / 20.0);
  // At width 1 μP is the ntk parameterization, in every place.
  const AffineScaling ntk = affine_scaling(LayerSetting(Parameterization::kNtk), 9, 1, 1, w, b);
  for (const LayerSetting& s : {hidden, readout, input, LayerSetting(kMup, true, true, 0)}) {
    const AffineScaling m = affine_scaling(s, 9, 1, 1, w, b);
    EXPECT_DOUBLE_EQ(m.w_mult, ntk.w_mult);
    EXPECT_DOUBLE_EQ(m.w_init, ntk.w_init);
    EXPECT_DOUBLE_EQ(m.b_mult, ntk.b_mult);
    EXPECT_DOUBLE_EQ(m.b_init, ntk.b_init);
  }
  EXPECT_THROW(affine_scaling(hidden, 0, 1, 1, w, b), Error);
}

TEST(MupNetwork, LayerPlaces) {
  Network net("conv(3), relu, conv(3, b_std=0.1), relu, flatten, dense(width=3)", 8,
              ExampleShape{true, 5, 5, 2}, kMup, 1);
  EXPECT_TRUE(net.setting(0).input_layer);
  EXPECT_FALSE(net.setting(0).readout);
  EXPECT_FALSE(net.setting(2).input_layer);
  EXPECT_FALSE(net.setting(2).readout);
  EXPECT_EQ(net.setting(2).width_in, 8);
  EXPECT_TRUE(net.setting(5).readout);
  EXPECT_EQ(net.setting(5).width_in, 8);  // not the flattened 5·5·8
  for (size_t k = 0; k < 6; ++k) EXPECT_EQ(net.setting(k).parameterization, kMup);
}

// ---- finite forward / backward ----

struct PlaceCase {
  std::string spec;
  bool images;
};

class MupBackward : public ::testing::TestWithParam<PlaceCase> {};

TEST_P(MupBackward, EveryPlaceMatchesFiniteDifferences) {
  const PlaceCase& c = GetParam();
  for (const LayerSetting& s :
       {LayerSetting(kMup, true, false, 0), LayerSetting(kMup, false, false, 7),
        LayerSetting(kMup, false, true, 7), LayerSetting(kMup, true, true, 0), LayerSetting(kMup)}) {
    Architecture arch = Architecture::parse(c.spec, ParseOptions{4});
    const Layer& layer = *arch.ops()[0].layer;
    Tensor x = c.images ? random_tensor({2, 5, 4, 3}, 1) : random_tensor({3, 5}, 1);
    ExampleShape in = example_shape_of(x, "x");
    std::mt19937_64 rng(5);
    LayerParams params = layer.init_params(in, s, rng);
    Tensor y = layer.forward(x, params, in, s);
    Tensor gy = random_tensor(y.shape, 2);
    LayerParams grads = params;
    for (auto& t : grads.tensors) t.setZero();
    Tensor gx = layer.backward(x, y, gy, params, in, s, &grads);
    const double h = 1e-6;
    for (int64_t i = 0; i < x.size(); i += 3) {
      Tensor xp = x, xm = x;
      xp.data[i] += h;
      xm.data[i] -= h;
      const double fd =
          (inner(layer.forward(xp, params, in, s), gy) - inner(layer.forward(xm, params, in, s), gy)) /
          (2 * h);
      EXPECT_NEAR(gx.data[i], fd, 1e-6 * std::max(1.0, std::fabs(fd))) << c.spec << " input " << i;
    }
    for (size_t t = 0; t < params.tensors.size(); ++t)
      for (Eigen::Index i = 0; i < params.tensors[t].size(); i += 2) {
        LayerParams pp = params, pm = params;
        pp.tensors[t].data()[i] += h;
        pm.tensors[t].data()[i] -= h;
        const double fd =
            (inner(layer.forward(x, pp, in, s), gy) - inner(layer.forward(x, pm, in, s), gy)) / (2 * h);
        EXPECT_NEAR(grads.tensors[t].data()[i], fd, 1e-6 * std::max(1.0, std::fabs(fd)))
            << c.spec << " param " << t;
      }
  }
}

INSTANTIATE_TEST_SUITE_P(Affine, MupBackward,
                         ::testing::Values(PlaceCase{"dense(width=4, b_std=0.3)", false},
                                           PlaceCase{"dense(width=4, b_std=0.3)", true},
                                           PlaceCase{"conv(3, width=4, b_std=0.2)", true},
                                           PlaceCase{"conv(2, stride=2, pad=valid, width=3, b_std=0.5)",
                                                     true}));

// The whole network: parameter gradients against finite differences of <g, f(x)>, and the empirical NTK's
// contraction against explicit Jacobians, under mup (every place, with the multipliers that depend on it).
TEST(MupNetwork, GradientAndEmpiricalNtkMatchTheirDefinitions) {
  for (const char* spec :
       {"dense(b_std=0.2), relu, dense(b_std=0.3), tanh, dense(width=2, b_std=0.1)",
        "conv(3, b_std=0.1), relu, conv(2, stride=2, b_std=0.2), relu, gap, dense(width=2)",
        "conv(3), relu, flatten, dense(b_std=0.3), relu, dense(width=2, b_std=0.2)"}) {
    const bool images = std::string(spec).rfind("conv", 0) == 0;
    Tensor x = images ? random_tensor({3, 5, 5, 2}, 4) : random_tensor({4, 3}, 4);
    Network net(spec, 6, example_shape_of(x, "x"), kMup, 17);
    const int64_t n = x.rows(), K = net.output_width();
    const Matrix g = testing::random_matrix(n, K, 9);
    const std::vector<LayerParams> grad = net.gradient(x, g);
    auto objective = [&](const Network& m) { return (m.apply(x).array() * g.array()).sum(); };
    const double h = 1e-6;
    for (size_t k = 0; k < net.params().size(); ++k)
      for (size_t t = 0; t < net.params()[k].tensors.size(); ++t)
        for (Eigen::Index i = 0; i < net.params()[k].tensors[t].size(); i += 5) {
          Network p = net, m = net;
          p.params()[k].tensors[t].data()[i] += h;
          m.params()[k].tensors[t].data()[i] -= h;
          const double fd = (objective(p) - objective(m)) / (2 * h);
          EXPECT_NEAR(grad[k].tensors[t].data()[i], fd, 1e-6 * std::max(1.0, std::fabs(fd)))
              << spec << " op " << k << " tensor " << t;
        }
    EXPECT_LT(rel_frobenius(net.empirical_ntk(x), testing::explicit_empirical_ntk(net, x)), 1e-12) << spec;
  }
}

// ---- initialisation ----

// Sample variance of the entries of m.
double variance(const Eigen::MatrixXd& m) {
  const double mean = m.mean();
  return (m.array() - mean).square().sum() / static_cast<double>(m.size() - 1);
}

// The stored parameters' laws, and the effective weights' (multiplier x stored), per place, by Monte Carlo
// over the entries of one wide network (dense and conv).
TEST(MupInit, StoredAndEffectiveVariancesPerPlace) {
  const int64_t n = 256;
  struct Case {
    std::string spec;
    ExampleShape in;
    std::vector<size_t> ops;     // the affine ops
    std::vector<double> fan_in;  // theirs
  };
  for (const Case& c :
       {Case{"dense(w_std=1.5, b_std=0.5), relu, dense(w_std=1.2, b_std=0.5), relu, dense(width=16, "
             "b_std=0.5)",
             ExampleShape{false, 1, 1, 20},
             {0, 2, 4},
             {20, double(n), double(n)}},
        Case{"conv(3, w_std=1.5, b_std=0.5), relu, conv(3, w_std=1.2, b_std=0.5), relu, gap, dense(width=16)",
             ExampleShape{true, 4, 4, 3},
             {0, 2, 5},
             {27, 9.0 * n, double(n)}}}) {
    Network net(c.spec, n, c.in, kMup, 3);
    const Architecture& arch = net.architecture();
    for (size_t i = 0; i < c.ops.size(); ++i) {
      const size_t op = c.ops[i];
      const LayerStep st = arch.ops()[op].layer->step();
      const bool readout = i + 1 == c.ops.size(), input = i == 0;
      const LayerParams& p = net.params()[op];
      const double w = st.affine.w_std, b = st.affine.b_std;
      const double entries = static_cast<double>(p.tensors[0].size());
      // Stored W: N(0, 1/n) for the input layer's width n = its output width, the hidden layer's fan-in
      // width, and the readout's fan-in width.
      const double want_w = 1.0 / n;
      EXPECT_NEAR(variance(p.tensors[0]) / want_w, 1.0, 5 * std::sqrt(2.0 / entries))
          << c.spec << " op " << op;
      // Effective weights: the ntk/standard law w²/fan_in, except the readout's w²/(fan_in·n).
      const AffineScaling sc =
          affine_scaling(net.setting(op), c.fan_in[i], input ? 1 : n, readout ? 16 : n, w, b);
      const double eff = sc.w_mult * sc.w_mult * variance(p.tensors[0]);
      const double want_eff = readout ? w * w / (c.fan_in[i] * n) : w * w / c.fan_in[i];
      EXPECT_NEAR(eff / want_eff, 1.0, 5 * std::sqrt(2.0 / entries)) << c.spec << " op " << op;
      if (p.tensors.size() > 1) {
        const double want_b = readout ? 1.0 : 1.0 / n;
        EXPECT_NEAR(variance(p.tensors[1]) / want_b, 1.0, 5 * std::sqrt(2.0 / p.tensors[1].size()))
            << c.spec << " op " << op << " bias";
        EXPECT_NEAR(sc.b_mult * sc.b_mult * want_b, b * b, 1e-12) << c.spec << " op " << op << " bias";
      }
    }
  }
}

// Functionally: every hidden layer of a μP network has the ntk / standard law (the NNGP recursion), and the
// readout divides the covariance of the outputs by its fan-in width: E f(x) f(x') = Σ(x, x')/n, Σ the exact
// NNGP (readouts without bias here, so that the whole output is the part that scales). Monte Carlo over draws
// of networks with many outputs.
TEST(MupInit, OutputCovarianceIsTheNngpOverTheWidth) {
  struct Case {
    std::string spec;
    bool images;
    int64_t width;
    int samples;
    double tol;
  };
  for (const Case& c :
       {Case{"dense(w_std=1.4, b_std=0.3), relu, dense(w_std=1.4, b_std=0.3), relu, dense(width=256)", false,
             512, 40, 0.05},
        Case{"conv(3, b_std=0.2), relu, conv(3, w_std=1.4), relu, gap, dense(width=128)", true, 64, 40,
             0.08}}) {
    Tensor x1 = c.images ? random_tensor({3, 5, 5, 2}, 11) : random_tensor({5, 6}, 11);
    Tensor x2 = c.images ? random_tensor({2, 5, 5, 2}, 12, 0.6) : random_tensor({3, 6}, 12, 0.6);
    for (int64_t i = 0; i < x2.size(); ++i) x2.data[i] += 0.8 * x1.data[i];
    KernelOptions ko = testing::options(Parameterization::kNtk);
    ko.ntk = false;
    const Matrix sigma = compute_kernels(c.spec, x1, &x2, ko).nngp;
    const Matrix want = sigma / static_cast<double>(c.width);
    Context ctx;
    ctx.threads = 2;
    MonteCarloKernels mc = monte_carlo_kernels(c.spec, c.width, x1, &x2, c.samples, 5, kMup, ctx, false);
    EXPECT_LT(rel_frobenius(mc.nngp, want), c.tol) << c.spec;
  }
}

// The empirical NTK of a μP network at initialisation converges to the ntk parameterization's exact NTK
// (equal hidden widths): the first step of training is the kernel's; the later ones are not
// (docs/feature-learning.md, and the equivalence experiment's kernel_train_change).
TEST(MupInit, EmpiricalNtkAtInitialisationHasTheNtkLimit) {
  struct Case {
    std::string spec;
    bool images;
    int64_t small, large;
    int samples;
  };
  for (const Case& c :
       {Case{"dense(w_std=1.4, b_std=0.2), relu, dense(w_std=1.4, b_std=0.2), relu, dense(b_std=0.1)", false,
             32, 1024, 12},
        Case{"conv(3, b_std=0.2), relu, conv(3, w_std=1.4), relu, gap, dense", true, 8, 96, 6}}) {
    Tensor x = c.images ? random_tensor({4, 5, 5, 2}, 21) : random_tensor({6, 6}, 21);
    const Matrix theta = compute_kernels(c.spec, x, nullptr, testing::options(Parameterization::kNtk)).ntk;
    Context ctx;
    ctx.threads = 2;
    auto dev = [&](int64_t width) {
      double s = 0;
      for (int k = 0; k < c.samples; ++k) {
        Network net(c.spec, width, example_shape_of(x, "x"), kMup, 100 + k);
        s += rel_frobenius(net.empirical_ntk(x), theta);
      }
      return s / c.samples;
    };
    const double d_small = dev(c.small), d_large = dev(c.large);
    if (!c.images) EXPECT_LT(d_large, 0.1) << c.spec;
    EXPECT_LT(d_large, 0.6 * d_small) << c.spec;
  }
}

// Why: with equal hidden widths a μP network is, draw for draw, the ntk-parameterized network of the same
// seed with its readout divided by √n (the stored normals are the same, scaled), and its empirical NTK is the
// same matrix: the width factors of the learning rates and of the backward signal cancel layer by layer.
TEST(MupInit, SameSeedIsTheNtkNetworkWithAScaledReadout) {
  struct Case {
    std::string spec;
    bool images;
  };
  for (const Case& c :
       {Case{"dense(w_std=1.4, b_std=0.2), relu, dense(b_std=0.3), relu, dense(width=3)", false},
        Case{"conv(3, b_std=0.2), relu, conv(2, stride=2, b_std=0.1), relu, flatten, dense(width=2)", true},
        Case{"conv(3), relu, residual(conv(3, b_std=0.1), relu), gap, dense(width=2)", true}}) {
    const int64_t n = 24;
    Tensor x = c.images ? random_tensor({4, 5, 5, 2}, 31) : random_tensor({5, 6}, 31);
    const ExampleShape in = example_shape_of(x, "x");
    Network mup(c.spec, n, in, kMup, 8), ntk(c.spec, n, in, Parameterization::kNtk, 8);
    EXPECT_LT(rel_frobenius(mup.empirical_ntk(x), ntk.empirical_ntk(x)), 1e-12) << c.spec;
    // Outputs: the readout's weight part is divided by √n (its bias, if any, is the ntk one).
    Matrix f_ntk = ntk.apply(x), f_mup = mup.apply(x);
    EXPECT_LT(rel_frobenius(f_mup * std::sqrt(double(n)), f_ntk), 1e-12) << c.spec;
  }
}

// ---- kernels ----

TEST(MupKernel, KernelEntryPointsRefuseMup) {
  EXPECT_EQ(parse_parameterization("mup"), kMup);
  EXPECT_STREQ(parameterization_name(kMup), "mup");
  Tensor x = random_tensor({3, 4}, 1);
  try {
    compute_kernels("dense, relu, dense", x, nullptr, testing::options(kMup));
    FAIL() << "compute_kernels accepted mup";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(e.message().find("mup has no kernel"), std::string::npos) << e.message();
    EXPECT_EQ(e.message().find('\n'), std::string::npos);
  }
  EXPECT_THROW(check_kernel_parameterization(kMup), Error);
  EXPECT_NO_THROW(check_kernel_parameterization(Parameterization::kNtk));
  EXPECT_NO_THROW(check_kernel_parameterization(Parameterization::kStandard));
}

}  // namespace
}  // namespace ntk
