// Numerically hard inputs (issue: no silent Inf/NaN or non-PSD kernels): inputs near the limits of the
// dtype, float32 overflow in deep networks, zero and duplicate rows, constant images, correlations of exactly
// ±1. On every engine that runs the case, the kernel is right (homogeneous networks are rescaled by a power
// of two) or the computation fails with one line naming what overflowed.
#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>
#include <string>

#include "common/engine_axis.h"
#include "common/test_util.h"
#include "kernel/numeric_guard.h"
#include "ntk/arch.h"
#include "ntk/error.h"
#include "ntk/kernel.h"

namespace ntk {
namespace {

Tensor scaled(const Tensor& x, double s) {
  Tensor y = x;
  for (double& v : y.data) v *= s;
  return y;
}

double min_eig_ratio(const Matrix& k) {
  Eigen::SelfAdjointEigenSolver<Matrix> es(k);
  return es.eigenvalues().minCoeff() / es.eigenvalues().cwiseAbs().maxCoeff();
}

KernelOptions opts(const std::string& engine, DType dt) {
  KernelOptions o = testing::options(Parameterization::kNtk, dt);
  o.engine = engine;
  return o;
}

// Every engine of this machine that runs the case, the reference engine first.
std::vector<std::string> engines_for(const Architecture& arch, const Tensor& x, DType dt) {
  std::vector<std::string> out = {"reference"};
  for (const auto& [name, why] : engine_support(EngineCase{arch, x, nullptr, opts("auto", dt)}))
    if (why.empty() && name != "reference") out.push_back(name);
  return out;
}

TEST(Numerics, HomogeneousDegree) {
  EXPECT_EQ(homogeneous_degree(Architecture::parse("dense, relu, dense")), 1);
  EXPECT_EQ(homogeneous_degree(Architecture::parse("dense(w_std=2), abrelu(a=-0.3, b=2), dense")), 1);
  EXPECT_EQ(homogeneous_degree(Architecture::parse("dense(b_std=0.1), relu, dense")), -1);
  EXPECT_EQ(homogeneous_degree(Architecture::parse("dense, erf, dense")), -1);
  EXPECT_EQ(homogeneous_degree(Architecture::parse("dense, layernorm, erf, dense(b_std=1)")), 0);
  EXPECT_EQ(homogeneous_degree(Architecture::parse("dense, sign, dense(b_std=1), relu, dense")), 0);
  EXPECT_EQ(homogeneous_degree(Architecture::parse("dense, residual(relu, dense), dense")), 1);
  EXPECT_EQ(homogeneous_degree(Architecture::parse("dense, residual(layernorm, dense), dense")), -1);
  EXPECT_EQ(homogeneous_degree(Architecture::parse("conv(3), relu, avgpool(2), gap, dense")), 1);
}

// Inputs scaled by 1e150 and 1e-150: the exact kernel is the unit-scale kernel times 1e±300 (ReLU networks
// without bias are homogeneous); before the guard, float64 gave a finite kernel with a smallest eigenvalue
// of -0.5 of its largest.
TEST(Numerics, ExtremeInputScalesOfHomogeneousNetworksAreExact) {
  const Tensor x = testing::random_tensor({17, 6}, 3);
  for (const char* a : {"dense, relu, dense", "dense(w_std=1.4), relu, dense(w_std=1.4), abs, dense"}) {
    const Architecture arch = Architecture::parse(a);
    for (const std::string& e : engines_for(arch, x, DType::kFloat64)) {
      SCOPED_TRACE(std::string(a) + " on " + e);
      const Kernels unit = compute_kernels(arch, x, nullptr, opts(e, DType::kFloat64));
      for (const double s : {1e150, 1e-150, 3e100}) {
        const Tensor xs = scaled(x, s);
        const Kernels k = compute_kernels(arch, xs, nullptr, opts(e, DType::kFloat64));
        const Matrix expected = unit.ntk * (s * s);
        EXPECT_LE((k.ntk - expected).cwiseAbs().maxCoeff(), 1e-12 * expected.cwiseAbs().maxCoeff()) << s;
        EXPECT_GT(min_eig_ratio(k.ntk), -1e-12) << s;
      }
    }
  }
}

// Non-homogeneous networks at variances beyond 1e154: the correlation's product v1 v2 would overflow.
// (At 1e155 the input covariance itself overflows: that is refused, tested below.)
TEST(Numerics, HugeVariancesWithBiasStayPositiveSemidefinite) {
  const Tensor x = scaled(testing::random_tensor({15, 5}, 4), 1e152);
  const Architecture arch = Architecture::parse("dense(b_std=0.5), relu, dense(b_std=0.5), relu, dense");
  // The fast engines leave such inputs to the reference engine, and say so.
  for (const auto& [name, why] : engine_support(EngineCase{arch, x, nullptr, opts("auto", DType::kFloat64)}))
    if (name != "reference") EXPECT_NE(why, "") << name;
  for (const std::string& e : engines_for(arch, x, DType::kFloat64)) {
    SCOPED_TRACE(e);
    const Kernels k = compute_kernels(arch, x, nullptr, opts(e, DType::kFloat64));
    EXPECT_TRUE(k.ntk.allFinite());
    EXPECT_GT(min_eig_ratio(k.ntk), -1e-12);
    // The bias is negligible at this scale: the kernel is the homogeneous one's.
    const Kernels h = compute_kernels(Architecture::parse("dense, relu, dense, relu, dense"), x, nullptr,
                                      opts(e, DType::kFloat64));
    EXPECT_LE((k.ntk - h.ntk).cwiseAbs().maxCoeff(), 1e-10 * h.ntk.cwiseAbs().maxCoeff());
  }
}

void expect_error_mentions(const Architecture& arch, const Tensor& x, const KernelOptions& o,
                           const std::vector<std::string>& words) {
  try {
    compute_kernels(arch, x, nullptr, o);
    ADD_FAILURE() << "no error";
  } catch (const Error& err) {
    EXPECT_EQ(err.kind(), ErrorKind::kInvalidInput) << err.message();
    EXPECT_EQ(err.message().find('\n'), std::string::npos) << err.message();
    for (const std::string& w : words) EXPECT_NE(err.message().find(w), std::string::npos) << err.message();
  }
}

// 9^100 overflows float32: the error names the layer where Σ leaves float32's range and suggests float64;
// float64 holds the kernel (finite, PSD).
TEST(Numerics, Float32OverflowInDeepNetworksNamesTheLayer) {
  const Tensor x = testing::random_tensor({9, 4}, 5);
  const Architecture arch = Architecture::parse("repeat(100, dense(w_std=3), relu), dense");
  for (const std::string& e : engines_for(arch, x, DType::kFloat32)) {
    SCOPED_TRACE(e);
    expect_error_mentions(arch, x, opts(e, DType::kFloat32),
                          {"float32", "dense(", "use dtype float64", "op "});
  }
  for (const std::string& e : engines_for(arch, x, DType::kFloat64)) {
    const Kernels k = compute_kernels(arch, x, nullptr, opts(e, DType::kFloat64));
    EXPECT_TRUE(k.ntk.allFinite() && k.nngp.allFinite()) << e;
    EXPECT_GT(min_eig_ratio(k.ntk), -1e-12) << e;
  }
}

// 1e150 inputs in float32: the exact kernel (1e300) does not fit float32; 1e-150: nor does 1e-300.
TEST(Numerics, KernelsOutsideFloat32AreRefused) {
  const Tensor x = testing::random_tensor({7, 4}, 6);
  const Architecture arch = Architecture::parse("dense, relu, dense");
  for (const double s : {1e150, 1e-150}) {
    const Tensor xs = scaled(x, s);
    for (const std::string& e : engines_for(arch, xs, DType::kFloat32)) {
      SCOPED_TRACE(e);
      expect_error_mentions(arch, xs, opts(e, DType::kFloat32), {"float32", "use dtype float64"});
    }
  }
  // Inputs of 1e20 in float32: the kernel (1e40) overflows float32 too, but at 1e15 (kernel 1e30) it fits
  // and equals the unit kernel times 1e30 to float32 rounding.
  const Kernels unit = compute_kernels(arch, x, nullptr, opts("auto", DType::kFloat32));
  const Kernels k = compute_kernels(arch, scaled(x, 1e15), nullptr, opts("auto", DType::kFloat32));
  EXPECT_LE((k.ntk - unit.ntk * 1e30).cwiseAbs().maxCoeff(), 1e-5 * 1e30 * unit.ntk.cwiseAbs().maxCoeff());
}

// Zero rows, duplicate and negated rows (correlations of exactly ±1), constant images, tiny and huge W_std
// that stay in range: finite, PSD, symmetric, and equal across engines.
TEST(Numerics, DegenerateInputsGiveFinitePsdKernels) {
  Tensor v = testing::random_tensor({12, 5}, 7);
  for (int64_t c = 0; c < 5; ++c) {
    v.row(3)[c] = 0;                // zero row
    v.row(5)[c] = v.row(1)[c];      // duplicate
    v.row(7)[c] = -v.row(1)[c];     // negated: correlation -1
    v.row(9)[c] = 4 * v.row(2)[c];  // same direction, other norm: correlation +1
  }
  Tensor img = testing::random_tensor({6, 5, 5, 2}, 8);
  for (int64_t k = 0; k < img.row_size(); ++k) {
    img.row(0)[k] = 0.7;  // constant image
    img.row(4)[k] = 0;    // zero image
    img.row(5)[k] = -img.row(2)[k];
  }
  struct Case {
    const char* arch;
    const Tensor* x;
  };
  for (const Case& c :
       {Case{"dense, relu, dense, relu, dense", &v}, Case{"dense(b_std=0.3), erf, dense", &v},
        Case{"dense(w_std=1e-15), relu, dense", &v}, Case{"dense(w_std=1e15), relu, dense", &v},
        Case{"dense(w_std=0), relu, dense(b_std=0.1)", &v}, Case{"dense, layernorm, relu, dense", &v},
        Case{"dense, sign, dense", &v}, Case{"conv(3), relu, conv(3), relu, gap, dense", &img},
        Case{"conv(3, b_std=0.2), gelu, flatten, dense", &img}}) {
    const Architecture arch = Architecture::parse(c.arch);
    for (const DType dt : {DType::kFloat64, DType::kFloat32}) {
      Kernels ref;
      for (const std::string& e : engines_for(arch, *c.x, dt)) {
        SCOPED_TRACE(std::string(c.arch) + " on " + e + " " + dtype_name(dt));
        const Kernels k = compute_kernels(arch, *c.x, nullptr, opts(e, dt));
        ASSERT_TRUE(k.ntk.allFinite() && k.nngp.allFinite());
        EXPECT_EQ((k.ntk - k.ntk.transpose()).cwiseAbs().maxCoeff(), 0.0);
        EXPECT_GT(min_eig_ratio(k.ntk), dt == DType::kFloat32 ? -1e-5 : -1e-12);
        if (e == "reference") {
          ref = k;
        } else if (ref.ntk.size()) {
          const double tol = dt == DType::kFloat32 ? 1e-4 : 1e-10;
          EXPECT_LE((k.ntk - ref.ntk).cwiseAbs().maxCoeff(), tol * ref.ntk.cwiseAbs().maxCoeff());
        }
      }
    }
  }
}

// Values that leave the range are refused with the place: the input covariance itself (1e155² overflows
// float64), a weight scale whose kernel underflows float32.
TEST(Numerics, OutOfRangeNamesWhere) {
  const Tensor x = testing::random_tensor({6, 4}, 9);
  const Architecture bias = Architecture::parse("dense(b_std=0.5), relu, dense");
  const Tensor huge = scaled(x, 1e155);
  for (const std::string& e : engines_for(bias, huge, DType::kFloat64)) {
    SCOPED_TRACE(e);
    expect_error_mentions(bias, huge, opts(e, DType::kFloat64), {"input covariance", "float64"});
  }
  const Architecture tiny = Architecture::parse("dense(w_std=1e-30), relu, dense");
  for (const std::string& e : engines_for(tiny, x, DType::kFloat32)) {
    SCOPED_TRACE(e);
    expect_error_mentions(tiny, x, opts(e, DType::kFloat32),
                          {"underflows float32", "w_std=1e-30", "float64"});
  }
}

}  // namespace
}  // namespace ntk
