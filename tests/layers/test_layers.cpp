// Each layer's backward against finite differences, the empirical NTK contraction against explicit Jacobians,
// and structural properties of the analytic kernels (symmetry, positive semi-definiteness, dtypes).
#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>

#include "common/network_util.h"
#include "common/test_util.h"
#include "ntk/arch.h"
#include "ntk/error.h"
#include "ntk/network.h"

namespace ntk {
namespace {

using testing::random_tensor;

double inner(const Tensor& a, const Tensor& b) {
  double s = 0;
  for (int64_t i = 0; i < a.size(); ++i) s += a.data[i] * b.data[i];
  return s;
}

struct LayerCase {
  std::string spec;
  bool images;
};

class LayerBackward : public ::testing::TestWithParam<LayerCase> {};

TEST_P(LayerBackward, MatchesFiniteDifferences) {
  const LayerCase& c = GetParam();
  for (Parameterization p : {Parameterization::kNtk, Parameterization::kStandard}) {
    Architecture arch = Architecture::parse(c.spec, ParseOptions{4});
    ASSERT_EQ(arch.ops().size(), 1u);
    const Layer& layer = *arch.ops()[0].layer;
    Tensor x = c.images ? random_tensor({2, 5, 4, 3}, 1) : random_tensor({3, 5}, 1);
    // Keep inputs away from kinks so that central differences are valid.
    for (auto& v : x.data)
      if (std::fabs(v) < 0.05) v += 0.1;
    ExampleShape in = example_shape_of(x, "x");
    std::mt19937_64 rng(5);
    LayerParams params = layer.init_params(in, p, rng);
    Tensor y = layer.forward(x, params, in, p);
    Tensor gy = random_tensor(y.shape, 2);
    LayerParams grads = params;
    for (auto& t : grads.tensors) t.setZero();
    Tensor gx = layer.backward(x, y, gy, params, in, p, layer.has_params() ? &grads : nullptr);
    const double h = 1e-6;
    for (int64_t i = 0; i < x.size(); i += 3) {
      Tensor xp = x, xm = x;
      xp.data[i] += h;
      xm.data[i] -= h;
      double fd =
          (inner(layer.forward(xp, params, in, p), gy) - inner(layer.forward(xm, params, in, p), gy)) /
          (2 * h);
      EXPECT_NEAR(gx.data[i], fd, 1e-6 * std::max(1.0, std::fabs(fd))) << c.spec << " input " << i;
    }
    for (size_t t = 0; t < params.tensors.size(); ++t)
      for (Eigen::Index i = 0; i < params.tensors[t].size(); i += 2) {
        LayerParams pp = params, pm = params;
        pp.tensors[t].data()[i] += h;
        pm.tensors[t].data()[i] -= h;
        double fd =
            (inner(layer.forward(x, pp, in, p), gy) - inner(layer.forward(x, pm, in, p), gy)) / (2 * h);
        EXPECT_NEAR(grads.tensors[t].data()[i], fd, 1e-6 * std::max(1.0, std::fabs(fd)))
            << c.spec << " param " << t;
      }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Layers, LayerBackward,
    ::testing::Values(
        LayerCase{"dense(width=4, b_std=0.3)", false}, LayerCase{"dense(width=4, b_std=0.3)", true},
        LayerCase{"conv(3, width=4, b_std=0.2)", true}, LayerCase{"conv(2, stride=2, width=3)", true},
        LayerCase{"conv(3, pad=valid, width=3)", true}, LayerCase{"conv(3, pad=circular, width=3)", true},
        LayerCase{"conv(3, stride=2, pad=circular, width=2)", true}, LayerCase{"avgpool(2)", true},
        LayerCase{"avgpool(3, stride=2, pad=same)", true},
        LayerCase{"avgpool(2, stride=2, pad=circular)", true}, LayerCase{"gap", true},
        LayerCase{"flatten", true}, LayerCase{"layernorm", true}, LayerCase{"layernorm", false},
        LayerCase{"identity", false}, LayerCase{"relu", false}, LayerCase{"leaky_relu(0.1)", false},
        LayerCase{"abrelu(-0.5, 2)", false}, LayerCase{"abs", false}, LayerCase{"erf(1, 2, 0.5)", false},
        LayerCase{"gelu", false}, LayerCase{"sin(1, 2, 0.3)", false}, LayerCase{"tanh", false},
        LayerCase{"sigmoid", false}, LayerCase{"softplus", false}, LayerCase{"elu", false},
        LayerCase{"silu", false}));

// The per-layer contraction equals J J^T built from per-example gradients.
TEST(EmpiricalNtk, ContractionEqualsExplicitJacobian) {
  for (const char* spec : {"dense(b_std=0.2), relu, dense(b_std=0.1), tanh, dense(width=2)",
                           "conv(3, b_std=0.1), relu, conv(2, stride=2), gap, dense(width=2)",
                           "conv(3), relu, dense(b_std=0.3), relu, flatten, dense(trainable=false, width=3)",
                           "dense, residual(relu, dense), layernorm, dense(width=2)"}) {
    bool images = std::string(spec).rfind("conv", 0) == 0;
    Tensor x = images ? random_tensor({3, 5, 5, 2}, 4) : random_tensor({4, 3}, 4);
    Network net(spec, 6, example_shape_of(x, "x"), Parameterization::kNtk, 17);
    Matrix ntk = net.empirical_ntk(x);
    EXPECT_LT(testing::rel_frobenius(ntk, testing::explicit_empirical_ntk(net, x)), 1e-12) << spec;
  }
}

TEST(AnalyticKernels, SymmetricAndPositiveSemidefinite) {
  Tensor fc = random_tensor({12, 5}, 8);
  Tensor img = random_tensor({8, 5, 5, 2}, 8);
  const std::pair<const char*, const Tensor*> cases[] = {
      {"dense(w_std=1.5, b_std=0.2), relu, dense(w_std=1.5, b_std=0.2), relu, dense", &fc},
      {"dense, erf, dense, residual(gelu, dense), tanh, dense", &fc},
      {"dense(b_std=0.4), layernorm, sin, dense(trainable=false)", &fc},
      {"repeat(2, conv(3, w_std=1.41, b_std=0.1), relu), gap, dense", &img},
      {"conv(3, pad=valid), relu, conv(2, stride=2), relu, avgpool(2, stride=1), flatten, dense", &img},
  };
  for (const auto& [spec, x] : cases)
    for (DType dtype : {DType::kFloat64, DType::kFloat32}) {
      Kernels k = compute_kernels(spec, *x, nullptr, testing::options(Parameterization::kNtk, dtype));
      for (const Matrix* m : {&k.nngp, &k.ntk}) {
        EXPECT_EQ((*m - m->transpose()).norm(), 0.0) << spec;
        Eigen::SelfAdjointEigenSolver<Matrix> es(*m);
        EXPECT_GT(es.eigenvalues().minCoeff(), -testing::tolerance(dtype) * 10 * es.eigenvalues().maxCoeff())
            << spec;
      }
    }
}

TEST(AnalyticKernels, CrossKernelMatchesBlockOfJointKernel) {
  Tensor a = random_tensor({4, 5, 5, 2}, 1), b = random_tensor({3, 5, 5, 2}, 2);
  Tensor ab({7, 5, 5, 2});
  std::copy(a.data.begin(), a.data.end(), ab.data.begin());
  std::copy(b.data.begin(), b.data.end(), ab.data.begin() + a.size());
  const char* spec = "conv(3, b_std=0.1), relu, avgpool(2), conv(2), gelu, gap, dense";
  Kernels joint = compute_kernels(spec, ab, nullptr, testing::options());
  Kernels cross = compute_kernels(spec, a, &b, testing::options());
  EXPECT_LT(testing::rel_frobenius(cross.ntk, Matrix(joint.ntk.block(0, 4, 4, 3))), 1e-14);
  EXPECT_LT(testing::rel_frobenius(cross.nngp, Matrix(joint.nngp.block(0, 4, 4, 3))), 1e-14);
}

TEST(AnalyticKernels, Float32AgreesWithFloat64AndThreadsDoNotMatter) {
  Tensor x = random_tensor({9, 4, 4, 3}, 3);
  const char* spec = "conv(3, w_std=1.4, b_std=0.1), relu, conv(3), relu, gap, dense";
  Kernels k64 = compute_kernels(spec, x, nullptr, testing::options());
  Kernels k32 = compute_kernels(spec, x, nullptr, testing::options(Parameterization::kNtk, DType::kFloat32));
  EXPECT_LT(testing::rel_frobenius(k32.ntk, k64.ntk), 1e-5);
  KernelOptions one = testing::options();
  one.ctx.threads = 1;
  Kernels k1 = compute_kernels(spec, x, nullptr, one);
  EXPECT_EQ((k1.ntk - k64.ntk).norm(), 0.0);
}

TEST(AnalyticKernels, FlattenUsesDiagonalPathSameAsFull) {
  // With avgpool(1) the engine must keep the full covariance; it is the identity on the kernel, so both paths
  // must give the same flatten readout.
  Tensor x = random_tensor({5, 6, 5, 2}, 6);
  Kernels diag = compute_kernels("conv(3), relu, conv(3, stride=2), erf, flatten, dense", x, nullptr,
                                 testing::options());
  Kernels full = compute_kernels("conv(3), relu, conv(3, stride=2), erf, avgpool(1), flatten, dense", x,
                                 nullptr, testing::options());
  EXPECT_LT(testing::rel_frobenius(diag.ntk, full.ntk), 1e-13);
  EXPECT_LT(testing::rel_frobenius(diag.nngp, full.nngp), 1e-13);
}

TEST(AnalyticKernels, WindowsLargerThanTheImageCostWhatTheImageDoes) {
  // On 3x3 images an odd SAME window of k >= 5 covers the whole image from every output position, so with
  // w_std = k (the window mean's 1/k^2 undone) every such k gives the same kernel. Taps in the zero padding
  // are skipped, not visited: the fuzzer's conv(36666666) used to loop over 10^15 of them.
  Tensor x = random_tensor({3, 3, 3, 2}, 4), y = random_tensor({2, 3, 3, 2}, 5);
  for (const char* readout : {"flatten", "gap"}) {
    const auto spec = [&](long long k) {
      // avgpool(k) divides by k^2 (zero padding counted) and the 1x1 conv after it multiplies back.
      return "conv(" + std::to_string(k) + ", w_std=" + std::to_string(k) + ", b_std=0.1), relu, avgpool(" +
             std::to_string(k) + ", stride=1, pad=same), conv(1, w_std=" + std::to_string(k * k) +
             "), relu, " + readout + ", dense";
    };
    Kernels small = compute_kernels(spec(5), x, &y, testing::options());
    for (long long k : {7LL, 1001LL, 36666667LL}) {
      Kernels big = compute_kernels(spec(k), x, &y, testing::options());
      EXPECT_LT(testing::rel_frobenius(big.ntk, small.ntk), 1e-13) << spec(k);
      EXPECT_LT(testing::rel_frobenius(big.nngp, small.nngp), 1e-13) << spec(k);
    }
  }
}

TEST(AnalyticKernels, CircularWindowsLargerThanTheImageWrapAround) {
  // A circular window of k = 3m on a 3x3 image reads every position m times from every output position, so
  // its mean is the image mean for every m: conv(3m) and avgpool(3m) give the kernel of k = 3. Taps that read
  // the same position are folded (counted, not visited), so k = 36666666 is as cheap as k = 3.
  Tensor x = random_tensor({3, 3, 3, 2}, 6), y = random_tensor({2, 3, 3, 2}, 7);
  const auto spec = [](long long k) {
    const std::string ks = std::to_string(k);
    return "conv(" + ks + ", pad=circular, b_std=0.1), erf, avgpool(" + ks +
           ", stride=1, pad=circular), conv(2, pad=circular), relu, gap, dense";
  };
  Kernels small = compute_kernels(spec(3), x, &y, testing::options());
  for (long long k : {6LL, 9LL, 36666666LL}) {
    Kernels big = compute_kernels(spec(k), x, &y, testing::options());
    EXPECT_LT(testing::rel_frobenius(big.ntk, small.ntk), 1e-13) << spec(k);
    EXPECT_LT(testing::rel_frobenius(big.nngp, small.nngp), 1e-13) << spec(k);
  }
}

TEST(AnalyticKernels, BadInputsAreRejected) {
  Tensor fc = random_tensor({3, 4}, 1), other = random_tensor({3, 5}, 1),
         img = random_tensor({2, 4, 4, 1}, 1);
  EXPECT_THROW(compute_kernels("dense, relu, dense", fc, &other, testing::options()), Error);
  EXPECT_THROW(compute_kernels("conv(3), relu, flatten, dense", fc, nullptr, testing::options()), Error);
  EXPECT_THROW(compute_kernels("conv(3), relu", img, nullptr, testing::options()), Error);
  EXPECT_THROW(compute_kernels("dense, relu, layernorm, dense", fc, nullptr, testing::options()), Error);
  // Sizes beyond 2^31 are refused by the parser.
  EXPECT_THROW(compute_kernels("conv(3e9), relu, gap, dense", img, nullptr, testing::options()), Error);
  fc.data[5] = std::nan("");
  EXPECT_THROW(compute_kernels("dense", fc, nullptr, testing::options()), Error);
}

}  // namespace
}  // namespace ntk
