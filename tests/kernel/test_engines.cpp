// The engine axis: every registered engine (fast-avx512, fast-avx2, later cuda) against the reference engine,
// one test body each: random fully-connected and convolutional architectures, both parameterizations,
// trainable=false, sizes that are not multiples of any tile or vector width, odd image sizes, arbitrary
// tiles, duplicated inputs, and thread counts. An engine this machine cannot run is skipped with its reason.
#include <gtest/gtest.h>

#include <cctype>
#include <random>
#include <sstream>
#include <tuple>

#include "common/engine_axis.h"
#include "common/test_util.h"
#include "ntk/arch.h"
#include "ntk/engine_registry.h"
#include "ntk/error.h"
#include "ntk/kernel_engine.h"

namespace ntk {
namespace {

// Largest entrywise relative difference, relative to max(|b_ij|, 1e-3 max|b|) so that entries near zero (erf,
// sin, abs of anti-correlated inputs) are compared on the kernel's own scale.
double max_rel_diff(const Matrix& a, const Matrix& b) {
  const double scale = b.cwiseAbs().maxCoeff();
  double worst = 0;
  Eigen::Index wi = 0, wj = 0;
  for (Eigen::Index i = 0; i < b.rows(); ++i)
    for (Eigen::Index j = 0; j < b.cols(); ++j) {
      const double den = std::max(std::abs(b(i, j)), 1e-3 * scale);
      const double e = std::abs(a(i, j) - b(i, j)) / den;
      if (e > worst) worst = e, wi = i, wj = j;
    }
  if (std::getenv("NTK_FAST_DEBUG"))
    std::printf("worst %.3g at (%ld, %ld): %.17g vs %.17g\n", worst, (long)wi, (long)wj, a(wi, wj),
                b(wi, wj));
  return worst;
}

struct Case {
  std::string arch;
  Parameterization p = Parameterization::kNtk;
};

std::string num(double v) {
  std::ostringstream s;
  s.precision(3);
  s << v;
  return s.str();
}

std::string random_activation(std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  switch (rng() % 9) {
    case 0:
      return "relu";
    case 1:
      return "leaky_relu(alpha=" + num(0.05 + 0.3 * u(rng)) + ")";
    case 2:
      return "abrelu(a=" + num(-0.5 + u(rng)) + ", b=" + num(0.5 + u(rng)) + ")";
    case 3:
      return "abs";
    case 4:
      return "erf(a=" + num(0.5 + u(rng)) + ", b=" + num(0.3 + u(rng)) + ", c=" + num(0.3 * u(rng)) + ")";
    case 5:
      return "gelu";
    case 6:
      return "sign";
    case 7:
      return "sin(a=" + num(0.5 + u(rng)) + ", b=" + num(0.3 + u(rng)) + ", c=" + num(u(rng)) + ")";
    default:
      return "relu";
  }
}

// width < 0: random (or the default); 0: the default; > 0: that width.
std::string random_affine(std::mt19937_64& rng, const char* name, const std::string& first_args = "",
                          int width = -1, int* chosen = nullptr) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::string s = std::string(name) + "(" + first_args + (first_args.empty() ? "" : ", ") +
                  "w_std=" + num(0.8 + u(rng)) +
                  ", b_std=" + (rng() % 3 == 0 ? std::string("0") : num(0.05 + 0.5 * u(rng)));
  if (rng() % 4 == 0) s += ", trainable=false";
  if (width < 0) width = rng() % 2 == 0 ? static_cast<int>(3 + rng() % 20) : 0;
  if (width > 0) s += ", width=" + std::to_string(width);
  if (chosen) *chosen = width;
  return s + ")";
}

Case random_fc(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string a = random_affine(rng, "dense");
  const int depth = 1 + static_cast<int>(rng() % 5);
  for (int l = 0; l < depth; ++l) {
    if (rng() % 5 == 0) a += ", layernorm";
    a += ", " + random_activation(rng);
    int width = 0;
    a += ", " + random_affine(rng, "dense", "", -1, &width);
    if (rng() % 4 == 0)
      a += ", residual(" + random_activation(rng) + ", " + random_affine(rng, "dense", "", width) + ")";
  }
  a += rng() % 2 ? ", relu, dense" : ", dense(w_std=0.9)";
  return {a, rng() % 2 ? Parameterization::kNtk : Parameterization::kStandard};
}

Case random_cnn(uint64_t seed, bool gap) {
  std::mt19937_64 rng(seed);
  auto conv = [&]() {
    const int k = 1 + static_cast<int>(rng() % 3);  // 1, 2 or 3
    const bool valid = rng() % 4 == 0;
    return random_affine(rng, "conv", std::to_string(k) + ", pad=" + (valid ? "valid" : "same"));
  };
  std::string a = conv();
  const int depth = 1 + static_cast<int>(rng() % 3);
  for (int l = 0; l < depth; ++l) {
    if (rng() % 6 == 0) a += ", layernorm";
    a += ", " + random_activation(rng) + ", " + conv();
    if (rng() % 5 == 0) {
      int width = 0;
      a += ", " + random_affine(rng, "conv", "3", -1, &width);
      a += ", residual(" + random_activation(rng) + ", " + random_affine(rng, "conv", "3", width) + ")";
    }
  }
  if (rng() % 3 == 0) a += ", " + random_activation(rng);
  a += gap ? ", gap" : ", flatten";
  if (gap && rng() % 2) a += ", " + random_affine(rng, "dense") + ", " + random_activation(rng);
  a += ", dense";
  return {a, rng() % 2 ? Parameterization::kNtk : Parameterization::kStandard};
}

// Convolutional networks with layers that mix the offset planes: avgpool (window 1..3, stride 1..3, same,
// valid or circular), strided and circular convolutions, between stride-1 ones.
Case random_pooled_cnn(uint64_t seed, bool gap) {
  std::mt19937_64 rng(seed);
  const char* pads[] = {"same", "valid", "circular"};
  auto conv = [&]() {
    const int k = 1 + static_cast<int>(rng() % 3);
    const int stride = rng() % 3 == 0 ? 2 + static_cast<int>(rng() % 2) : 1;
    const char* pad = pads[rng() % 3];
    return random_affine(rng, "conv",
                         std::to_string(k) + ", stride=" + std::to_string(stride) + ", pad=" + pad);
  };
  auto pool = [&]() {
    const int k = 1 + static_cast<int>(rng() % 3);
    const int stride = 1 + static_cast<int>(rng() % 3);
    return "avgpool(" + std::to_string(k) + ", stride=" + std::to_string(stride) +
           ", pad=" + pads[rng() % 3] + ")";
  };
  auto act = [&]() { return random_activation(rng); };
  std::string a = conv();
  const int depth = 1 + static_cast<int>(rng() % 3);
  for (int l = 0; l < depth; ++l) {
    if (rng() % 2 == 0) a += ", " + pool();
    a += ", " + act();
    if (rng() % 3 == 0) a += ", " + pool();
    a += ", " + conv();
  }
  if (rng() % 3 == 0) a += ", " + act();
  if (rng() % 2 == 0) a += ", " + pool();
  a += gap ? ", gap" : ", flatten";
  if (rng() % 2) a += ", " + random_affine(rng, "dense") + ", " + act();
  a += ", dense";
  return {a, rng() % 2 ? Parameterization::kNtk : Parameterization::kStandard};
}

// Whether a circular window covers a whole axis of its input: every output position then averages the same
// values, the correlation of two different positions is 1 only up to rounding, and the kernel is
// ill-conditioned after a nonlinearity (in any engine: an input perturbed by 1e-15 moved one such reference
// kernel by 1.6e-10).
bool circular_window_covers_image(const Architecture& arch, const ExampleShape& in) {
  const std::vector<ExampleShape> shapes = arch.infer_shapes(in);
  for (size_t k = 0; k < arch.ops().size(); ++k) {
    const ArchOp& op = arch.ops()[k];
    if (op.kind != ArchOp::Kind::kLayer) continue;
    const LayerStep st = op.layer->step();
    if ((st.kind == StepKind::kConv || st.kind == StepKind::kAvgPool) &&
        st.window.pad == Padding::kCircular && st.window.k >= std::min(shapes[k].height, shapes[k].width))
      return true;
  }
  return false;
}

using EngineParam = std::tuple<std::string, DType>;

// The engine must run the case (it is in its scope) and agree with the reference engine.
void expect_engine_matches(const std::string& engine, const Case& c, const Tensor& x1, const Tensor* x2,
                           DType dtype, double tol) {
  SCOPED_TRACE(c.arch + " [" + engine + ", " + parameterization_name(c.p) + ", " + dtype_name(dtype) + "]");
  const Architecture arch = Architecture::parse(c.arch);
  KernelOptions o = testing::options(c.p, dtype);
  o.engine = engine;
  o.ctx.device = EngineRegistry::instance().find(engine)->device;
  const std::string why = EngineRegistry::instance().find(engine)->why_not(EngineCase{arch, x1, x2, o});
  ASSERT_EQ(why, "") << "the engine does not take this case";
  const Kernels k = compute_kernels(arch, x1, x2, o);
  EXPECT_EQ(k.engine, engine);
  o.engine = "reference";
  o.ctx.device = Device::kCpu;
  const Kernels ref = compute_kernels(arch, x1, x2, o);
  EXPECT_LE(max_rel_diff(k.nngp, ref.nngp), tol);
  EXPECT_LE(max_rel_diff(k.ntk, ref.ntk), tol);
}

class EngineAxis : public ::testing::TestWithParam<EngineParam> {
 protected:
  void SetUp() override {
    const std::string why = testing::engine_unavailable(engine());
    if (!why.empty()) GTEST_SKIP() << engine() << ": " << why;
  }
  const std::string& engine() const { return std::get<0>(GetParam()); }
  DType dtype() const { return std::get<1>(GetParam()); }
  void expect_matches(const Case& c, const Tensor& x1, const Tensor* x2, double tol) const {
    expect_engine_matches(engine(), c, x1, x2, dtype(), tol);
  }

  // Random architectures make(seed) for seed < seeds (until `enough` have run) on images of the given sizes,
  // n1 of them (seed x1_seed + seed) against n2 others (x2_seed + seed, scale 1.5) and the symmetric kernel;
  // a case whose shapes do not infer, or that skip(arch, x1) rejects, is left out. Returns how many ran.
  template <class Make, class Skip>
  int expect_random_cases(const std::vector<std::vector<int64_t>>& sizes, int64_t n1, int64_t n2,
                          uint64_t x1_seed, uint64_t x2_seed, uint64_t seeds, int enough, Make make,
                          Skip skip) const {
    int ran = 0;
    for (uint64_t seed = 0; seed < seeds && ran < enough; ++seed) {
      const auto& hw = sizes[seed % sizes.size()];
      const Tensor x1 = testing::random_tensor({n1, hw[0], hw[1], hw[2]}, x1_seed + seed);
      const Tensor x2 = testing::random_tensor({n2, hw[0], hw[1], hw[2]}, x2_seed + seed, 1.5);
      const Case c = make(seed);
      try {  // strides and valid windows must leave something of small images
        const Architecture arch = Architecture::parse(c.arch);
        arch.infer_shapes(example_shape_of(x1, "x1"));
        if (skip(arch, x1)) continue;
      } catch (const std::exception&) {
        continue;
      }
      ++ran;
      expect_matches(c, x1, &x2, testing::tolerance(dtype()));
      expect_matches(c, x1, nullptr, testing::tolerance(dtype()));
    }
    return ran;
  }

  // The symmetric kernel of x with options o on 1 and 2 threads: run by this engine, bit-identical. Returns
  // the 2-thread kernel and leaves o at 2 threads.
  Kernels expect_same_across_threads(const Architecture& arch, const Tensor& x, KernelOptions& o) const {
    o.ctx.threads = 1;
    const Kernels one = compute_kernels(arch, x, nullptr, o);
    o.ctx.threads = 2;
    Kernels two = compute_kernels(arch, x, nullptr, o);
    EXPECT_EQ(one.engine, engine());
    EXPECT_EQ((one.nngp - two.nngp).cwiseAbs().maxCoeff(), 0.0);
    EXPECT_EQ((one.ntk - two.ntk).cwiseAbs().maxCoeff(), 0.0);
    return two;
  }

  // make(seed) for seed < seeds: x1 against x2, and the symmetric kernel of x1.
  template <class Make>
  void expect_seeded_cases(uint64_t seeds, const Tensor& x1, const Tensor& x2, Make make) const {
    for (uint64_t seed = 0; seed < seeds; ++seed) {
      const Case c = make(seed);
      expect_matches(c, x1, &x2, testing::tolerance(dtype()));
      expect_matches(c, x1, nullptr, testing::tolerance(dtype()));
    }
  }
};

TEST_P(EngineAxis, FullyConnectedRandomArchitectures) {
  expect_seeded_cases(40, testing::random_tensor({37, 13}, 1), testing::random_tensor({29, 13}, 2, 2.0),
                      random_fc);
}

TEST_P(EngineAxis, FullyConnectedDeepAndDuplicated) {
  const DType dt = dtype();
  Tensor x1 = testing::random_tensor({45, 31}, 3), x2 = testing::random_tensor({19, 31}, 4);
  // Rows of x2 equal to, or the negative of, rows of x1: correlations of exactly +1 and -1.
  for (int k = 0; k < 31; ++k) {
    x2.row(3)[k] = x1.row(7)[k];
    x2.row(11)[k] = -x1.row(20)[k];
  }
  for (const char* a : {"repeat(20, dense(w_std=1.4, b_std=0.1), relu), dense",
                        "repeat(10, dense(w_std=1.3, b_std=0.2), erf), dense",
                        "repeat(8, dense(w_std=1.2, b_std=0.3), gelu), dense(w_std=0.7)",
                        "dense, abs, repeat(6, dense(b_std=0.5), sign, dense), dense"}) {
    for (Parameterization p : {Parameterization::kNtk, Parameterization::kStandard}) {
      expect_matches({a, p}, x1, &x2, testing::tolerance(dt));
      expect_matches({a, p}, x1, nullptr, testing::tolerance(dt));
    }
  }
}

TEST_P(EngineAxis, ConvolutionalRandomArchitectures) {
  const DType dt = dtype();
  const std::vector<std::vector<int64_t>> sizes = {{5, 7, 3}, {6, 5, 2}, {9, 9, 3}, {4, 11, 1}};
  for (uint64_t seed = 0; seed < 24; ++seed) {
    const auto& hw = sizes[seed % sizes.size()];
    const Tensor x1 = testing::random_tensor({7, hw[0], hw[1], hw[2]}, 10 + seed);
    const Tensor x2 = testing::random_tensor({5, hw[0], hw[1], hw[2]}, 100 + seed, 1.5);
    Case c = random_cnn(seed, seed % 3 != 2);
    // valid convolutions must leave something of small images
    try {
      Architecture::parse(c.arch).infer_shapes(example_shape_of(x1, "x1"));
    } catch (const std::exception&) {
      continue;
    }
    expect_matches(c, x1, &x2, testing::tolerance(dt));
    expect_matches(c, x1, nullptr, testing::tolerance(dt));
  }
}

TEST_P(EngineAxis, ConvolutionalDeep) {
  const DType dt = dtype();
  const Tensor x1 = testing::random_tensor({6, 8, 7, 3}, 5), x2 = testing::random_tensor({3, 8, 7, 3}, 6);
  for (const char* a :
       {"conv(3, w_std=1.4, b_std=0.1), repeat(8, relu, conv(3, w_std=1.4, b_std=0.1)), gap, dense",
        "repeat(8, conv(3, w_std=1.4), relu), flatten, dense",
        "conv(5, pad=valid), erf, conv(2), gelu, conv(3, pad=valid, trainable=false), relu, gap, "
        "dense(b_std=0.3), relu, dense"}) {
    for (Parameterization p : {Parameterization::kNtk, Parameterization::kStandard}) {
      expect_matches({a, p}, x1, &x2, testing::tolerance(dt));
      expect_matches({a, p}, x1, nullptr, testing::tolerance(dt));
    }
  }
}

// Pooled, strided and circular layers (the planes of a segment combine the previous segment's): random
// architectures on odd image sizes, x1 against a different x2 (whose position covariance is not symmetric, so
// that a plane combined from the wrong offsets shows) and the symmetric kernel.
TEST_P(EngineAxis, PooledStridedCircularRandomArchitectures) {
  const int ran = expect_random_cases(
      {{7, 9, 2}, {6, 5, 3}, {9, 9, 1}, {5, 11, 2}, {8, 8, 2}}, 5, 4, 30, 300, 60, 30,
      [](uint64_t seed) { return random_pooled_cnn(seed, seed % 3 != 2); },
      [](const Architecture& a, const Tensor& x) {
        return circular_window_covers_image(a, example_shape_of(x, "x1"));
      });
  EXPECT_GE(ran, 20);
}

// Windows that are wider than their stride, that wrap around more than once, and activations after the
// readout (which need the self pass's readout of (x, x)).
TEST_P(EngineAxis, PooledEdgeCases) {
  const DType dt = dtype();
  const Tensor x1 = testing::random_tensor({4, 7, 9, 2}, 41),
               x2 = testing::random_tensor({3, 7, 9, 2}, 42, 1.3);
  for (const char* a :
       {"conv(3, w_std=1.3, b_std=0.2), relu, avgpool(3, stride=2), conv(2, b_std=0.1), erf, flatten, dense",
        "conv(2), gelu, avgpool(3, stride=1, pad=valid), conv(3, stride=2, pad=valid), relu, gap, dense, "
        "relu, dense",
        "conv(5, pad=circular), relu, avgpool(9, pad=circular), flatten, dense",
        "conv(3, stride=3, pad=circular, w_std=1.2), abs, conv(3, pad=circular), relu, gap, "
        "dense(b_std=0.3), sin(a=1.2, b=0.7, c=0.3), dense",
        "conv(3), avgpool(2, stride=2), layernorm, relu, conv(3), sign, avgpool(2, stride=2, pad=valid), "
        "conv(1), relu, flatten, dense",
        "conv(3), relu, residual(conv(3), relu), avgpool(2), conv(3, w_std=1.4), relu, gap, dense"}) {
    for (Parameterization p : {Parameterization::kNtk, Parameterization::kStandard}) {
      expect_matches({a, p}, x1, &x2, testing::tolerance(dt));
      expect_matches({a, p}, x1, nullptr, testing::tolerance(dt));
    }
  }
}

// The Myrtle networks (Shankar et al. 2020: 3x3 convolutions and ReLU, 2x2 average pools with stride 2, a
// final 8x8 pool, flatten, dense; depths 5, 7, 10) on CIFAR-sized images: every one runs on the engine, and
// Myrtle-5 (with the final pool as neural-tangents writes it, three 2x2 pools) equals the reference engine.
TEST_P(EngineAxis, MyrtleNetworks) {
  const DType dt = dtype();
  const std::string c = "conv(3, w_std=1.4142135623730951), relu";
  auto myrtle = [&](int a, int b, int d, bool three_pools) {
    std::string s;
    auto blocks = [&](int n) {
      for (int i = 0; i < n; ++i) s += c + ", ";
    };
    blocks(a);
    s += "avgpool(2, stride=2), ";
    blocks(b);
    s += "avgpool(2, stride=2), ";
    blocks(d);
    s += three_pools ? "avgpool(2, stride=2), avgpool(2, stride=2), avgpool(2, stride=2), "
                     : "avgpool(8, stride=8), ";
    return s + "flatten, dense(w_std=1.4142135623730951)";
  };
  const Tensor x1 = testing::random_tensor({2, 32, 32, 3}, 51),
               x2 = testing::random_tensor({1, 32, 32, 3}, 52);
  KernelOptions o = testing::options(Parameterization::kNtk, dt);
  o.engine = engine();
  for (const std::string& a : {myrtle(2, 1, 1, false), myrtle(2, 2, 2, false), myrtle(3, 3, 3, false)}) {
    const std::string why =
        EngineRegistry::instance().find(engine())->why_not(EngineCase{Architecture::parse(a), x1, &x2, o});
    EXPECT_EQ(why, "") << a;
  }
  expect_matches({myrtle(2, 1, 1, true), Parameterization::kNtk}, x1, &x2, testing::tolerance(dt));
}

// Arbitrary tiles (crossing the diagonal of a symmetric kernel, single entries, ragged edges) equal the full
// kernel, and the result does not depend on the thread count.
TEST_P(EngineAxis, ArbitraryTilesAndThreads) {
  const DType dt = dtype();
  struct Input {
    std::string arch;
    Tensor x;
  };
  const std::vector<Input> inputs = {
      {"repeat(3, dense(w_std=1.5, b_std=0.1), relu), dense", testing::random_tensor({41, 9}, 7)},
      {"repeat(3, conv(3, w_std=1.5, b_std=0.1), relu), gap, dense", testing::random_tensor({9, 5, 6, 2}, 8)},
      {"conv(3, w_std=1.5, b_std=0.1), relu, avgpool(2, stride=2), conv(3, stride=2, pad=circular), relu, "
       "gap, dense, relu, dense",
       testing::random_tensor({9, 7, 9, 2}, 9)}};
  const std::vector<TileSpec> tiles = {
      {0, 5, 0, 5}, {3, 17, 2, 30}, {7, 8, 7, 8}, {2, 9, 0, 9}, {4, 6, 1, 9}};
  for (const Input& in : inputs) {
    SCOPED_TRACE(in.arch);
    const Architecture arch = Architecture::parse(in.arch);
    KernelOptions o = testing::options(Parameterization::kNtk, dt);
    o.engine = engine();
    const Kernels two = expect_same_across_threads(arch, in.x, o);
    auto engine = KernelEngine::create(arch, in.x, nullptr, o);
    engine->prepare();
    const int64_t n = in.x.rows();
    for (const TileSpec& t : tiles) {
      const int64_t r1 = std::min(t.row_end, n), c1 = std::min(t.col_end, n);
      if (t.row_begin >= r1 || t.col_begin >= c1) continue;
      const int64_t ld = c1 - t.col_begin + 3;
      std::vector<double> nd((r1 - t.row_begin) * ld), td(nd.size());
      std::vector<float> nf(nd.size()), tf(nd.size());
      const bool f32 = dt == DType::kFloat32;
      engine->compute_tile({t.row_begin, r1, t.col_begin, c1},
                           f32 ? static_cast<void*>(nf.data()) : nd.data(),
                           f32 ? static_cast<void*>(tf.data()) : td.data(), ld);
      for (int64_t i = t.row_begin; i < r1; ++i)
        for (int64_t j = t.col_begin; j < c1; ++j) {
          const int64_t q = (i - t.row_begin) * ld + (j - t.col_begin);
          // The Gram of a fully-connected tile is one BLAS call whose blocking depends on the tile's shape.
          const double tol = (f32 ? 1e-5 : 1e-13);
          EXPECT_NEAR(f32 ? nf[q] : nd[q], two.nngp(i, j), tol * std::abs(two.nngp(i, j))) << i << "," << j;
          EXPECT_NEAR(f32 ? tf[q] : td[q], two.ntk(i, j), tol * std::abs(two.ntk(i, j))) << i << "," << j;
        }
    }
  }
}

// Kernels larger than the FC engine's column panels and its non-temporal-store threshold (64 MB of output):
// rows from the top, middle and bottom (mostly mirrored entries there) against the reference engine, and the
// symmetric kernel exactly symmetric.
TEST_P(EngineAxis, FullyConnectedLargeKernels) {
  const DType dt = dtype();
  const bool f32 = dt == DType::kFloat32;
  const int64_t n = 2903, n1 = 1509;  // f64: 135 MB / 70 MB of output; f32: 67 MB / 35 MB
  const Tensor x = testing::random_tensor({n, 11}, 21), x1 = testing::random_tensor({n1, 11}, 22);
  const Architecture arch =
      Architecture::parse("dense(w_std=1.3, b_std=0.2), repeat(3, relu, dense(w_std=1.4, b_std=0.1)), dense");
  KernelOptions o = testing::options(Parameterization::kNtk, dt);
  o.engine = engine();
  for (const Tensor* left : {&x, &x1}) {
    const Tensor* right = left == &x ? nullptr : &x;
    const int64_t rows = left->rows();
    SCOPED_TRACE(right ? "x1 != x2" : "symmetric");
    auto fast = KernelEngine::create(arch, *left, right, o);
    fast->prepare();
    std::vector<double> nd(f32 ? 0 : rows * n), td(nd.size());
    std::vector<float> nf(f32 ? rows * n : 0), tf(nf.size());
    fast->compute_tile({0, rows, 0, n}, f32 ? static_cast<void*>(nf.data()) : nd.data(),
                       f32 ? static_cast<void*>(tf.data()) : td.data(), n);
    auto at = [&](bool ntk, int64_t i, int64_t j) {
      const int64_t q = i * n + j;
      return f32 ? static_cast<double>(ntk ? tf[q] : nf[q]) : (ntk ? td[q] : nd[q]);
    };
    KernelOptions ro = o;
    ro.engine = "reference";
    auto ref = KernelEngine::create(arch, *left, right, ro);
    ref->prepare();
    for (int64_t r0 : {int64_t{0}, rows / 2 - 7, rows - 29}) {
      const int64_t r1 = r0 + 29;
      std::vector<double> rn((r1 - r0) * n), rt(rn.size());
      std::vector<float> rnf(rn.size()), rtf(rn.size());
      ref->compute_tile({r0, r1, 0, n}, f32 ? static_cast<void*>(rnf.data()) : rn.data(),
                        f32 ? static_cast<void*>(rtf.data()) : rt.data(), n);
      Matrix a(r1 - r0, n), b(r1 - r0, n), at_(r1 - r0, n), bt(r1 - r0, n);
      for (int64_t i = r0; i < r1; ++i)
        for (int64_t j = 0; j < n; ++j) {
          const int64_t q = (i - r0) * n + j;
          a(i - r0, j) = at(false, i, j);
          at_(i - r0, j) = at(true, i, j);
          b(i - r0, j) = f32 ? rnf[q] : rn[q];
          bt(i - r0, j) = f32 ? rtf[q] : rt[q];
        }
      EXPECT_LE(max_rel_diff(a, b), testing::tolerance(dt)) << "rows " << r0 << ".." << r1;
      EXPECT_LE(max_rel_diff(at_, bt), testing::tolerance(dt)) << "rows " << r0 << ".." << r1;
    }
    if (!right) {
      int64_t asymmetric = 0;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < i; ++j)
          asymmetric += (at(false, i, j) != at(false, j, i)) + (at(true, i, j) != at(true, j, i));
      EXPECT_EQ(asymmetric, 0);
    }
  }
}

// ---------------- quadrature activations ----------------
// tanh, sigmoid, softplus, silu (Gauss–Hermite) and elu (polar Gauss–Legendre): the fast engines run the
// reference engine's rule at the same order per pair, vectorised over the inner nodes, so they agree to
// rounding (1e-10 asked, float32 by dtype). Quadrature costs ~10⁴ evaluations per position pair: tiny sizes.

const char* const kQuadratureActivations[] = {"tanh", "sigmoid", "softplus", "silu", "elu"};

// `first`: the activation of the first layer (so that a few seeds cover all five); later ones random, now
// and then a closed form between them (sign and relu are sensitive to a self-correlation that misses 1).
std::string quadrature_or_closed(std::mt19937_64& rng) {
  if (rng() % 4 == 0) return rng() % 2 ? "sign" : "relu";
  return kQuadratureActivations[rng() % 5];
}

Case random_quadrature_fc(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string a = random_affine(rng, "dense");
  const int depth = 1 + static_cast<int>(rng() % 2);
  for (int l = 0; l < depth; ++l) {
    if (rng() % 5 == 0) a += ", layernorm";
    a += ", " + (l == 0 ? std::string(kQuadratureActivations[seed % 5]) : quadrature_or_closed(rng));
    int width = 0;
    a += ", " + random_affine(rng, "dense", "", -1, &width);
    if (rng() % 4 == 0)
      a += ", residual(" + quadrature_or_closed(rng) + ", " + random_affine(rng, "dense", "", width) + ")";
  }
  a += rng() % 2 ? ", " + quadrature_or_closed(rng) + ", dense" : ", dense(w_std=0.9)";
  return {a, rng() % 2 ? Parameterization::kNtk : Parameterization::kStandard};
}

// conv 3 x 3 and 1 x 1 (same or valid), gap or flatten, sometimes a pooled or strided segment boundary, and
// activations after the readout.
Case random_quadrature_cnn(uint64_t seed, bool gap) {
  std::mt19937_64 rng(seed);
  auto conv = [&]() {
    const int k = rng() % 3 == 0 ? 1 : 3;
    const bool valid = k == 3 && rng() % 5 == 0;
    return random_affine(rng, "conv", std::to_string(k) + ", pad=" + (valid ? "valid" : "same"));
  };
  std::string a = conv();
  const int depth = 1 + static_cast<int>(rng() % 2);
  for (int l = 0; l < depth; ++l) {
    if (rng() % 6 == 0) a += ", layernorm";
    a += ", " + (l == 0 ? std::string(kQuadratureActivations[seed % 5]) : quadrature_or_closed(rng));
    if (rng() % 5 == 0) a += ", avgpool(2, stride=2)";
    a += ", " + conv();
  }
  if (rng() % 3 == 0) a += ", " + quadrature_or_closed(rng);
  a += gap ? ", gap" : ", flatten";
  if (rng() % 2) a += ", " + random_affine(rng, "dense") + ", " + quadrature_or_closed(rng);
  a += ", dense";
  return {a, rng() % 2 ? Parameterization::kNtk : Parameterization::kStandard};
}

TEST_P(EngineAxis, QuadratureFullyConnectedRandomArchitectures) {
  expect_seeded_cases(15, testing::random_tensor({11, 6}, 51), testing::random_tensor({9, 6}, 52, 1.7),
                      random_quadrature_fc);
}

TEST_P(EngineAxis, QuadratureConvolutionalRandomArchitectures) {
  const int ran = expect_random_cases(
      {{5, 6, 2}, {4, 5, 1}, {3, 7, 2}}, 3, 1, 60, 600, 8, 8,
      [](uint64_t seed) { return random_quadrature_cnn(seed, seed % 3 != 2); },
      [](const Architecture&, const Tensor&) { return false; });
  EXPECT_GE(ran, 6);
}

// Cases chosen rather than drawn: every activation on 5 x 7 images through gap and flatten and in an FC net;
// large variances (high Gauss–Hermite orders); a closed form after a quadrature one, which reads the self
// pass's recorded variances (a self-correlation that missed 1 would move sign by 1e-8); a residual block.
TEST_P(EngineAxis, QuadratureChosenCases) {
  const DType dt = dtype();
  const Tensor x1 = testing::random_tensor({2, 5, 7, 2}, 71),
               x2 = testing::random_tensor({2, 5, 7, 2}, 72, 1.5);
  const Tensor v1 = testing::random_tensor({6, 4}, 73), v2 = testing::random_tensor({5, 4}, 74, 3.0);
  for (const char* act : kQuadratureActivations) {
    const std::string a(act);
    expect_matches({"conv(3, w_std=1.1, b_std=0.2), " + a + ", conv(1), gap, dense", Parameterization::kNtk},
                   x1, &x2, testing::tolerance(dt));
    const Case flat{"conv(1, w_std=1.1), " + a + ", conv(3, b_std=0.1), sign, flatten, dense",
                    Parameterization::kStandard};
    expect_matches(flat, x1, &x2, testing::tolerance(dt));
    expect_matches(flat, x1, nullptr, testing::tolerance(dt));
    const Case fc{"dense(w_std=1.4, b_std=0.1), " + a + ", dense(w_std=1.2), sign, dense",
                  Parameterization::kNtk};
    expect_matches(fc, v1, &v2, testing::tolerance(dt));
    expect_matches(fc, v1, nullptr, testing::tolerance(dt));
  }
  for (const char* arch :
       {"dense(w_std=3, b_std=1), tanh, dense(w_std=4), silu, dense",
        "conv(3, w_std=2.5), softplus, residual(conv(3), elu, conv(1)), flatten, dense, tanh, "
        "dense"}) {
    const bool conv = arch[0] == 'c';
    expect_matches({arch, Parameterization::kNtk}, conv ? x1 : v1, conv ? &x2 : &v2, testing::tolerance(dt));
    expect_matches({arch, Parameterization::kNtk}, conv ? x1 : v1, nullptr, testing::tolerance(dt));
  }
}

// Quadrature kernels do not depend on the thread count or the tiles, and the symmetric kernel K(x, x) is
// exactly symmetric, with the diagonal (the self pass's pairs) exactly that of K(x, x2) with x2 = x given
// explicitly.
TEST_P(EngineAxis, QuadratureThreadsTilesAndSymmetry) {
  const DType dt = dtype();
  const bool f32 = dt == DType::kFloat32;
  struct Input {
    std::string arch;
    Tensor x;
  };
  const std::vector<Input> inputs = {
      {"dense(w_std=1.5, b_std=0.1), tanh, dense, layernorm, elu, dense",
       testing::random_tensor({19, 5}, 81)},
      {"conv(3, w_std=1.2, b_std=0.1), silu, conv(1), sigmoid, gap, dense",
       testing::random_tensor({4, 5, 6, 2}, 82)},
      {"conv(3), elu, avgpool(2, stride=2), conv(3), softplus, flatten, dense, tanh, dense",
       testing::random_tensor({4, 5, 7, 2}, 83)}};
  for (const Input& in : inputs) {
    SCOPED_TRACE(in.arch);
    const Architecture arch = Architecture::parse(in.arch);
    KernelOptions o = testing::options(Parameterization::kNtk, dt);
    o.engine = engine();
    const Kernels two = expect_same_across_threads(arch, in.x, o);
    const Kernels expl = compute_kernels(arch, in.x, &in.x, o);
    const int64_t n = in.x.rows();
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_EQ(two.nngp(i, i), expl.nngp(i, i)) << i;
      EXPECT_EQ(two.ntk(i, i), expl.ntk(i, i)) << i;
      for (int64_t j = 0; j < n; ++j) {
        EXPECT_EQ(two.nngp(i, j), two.nngp(j, i)) << i << "," << j;
        EXPECT_EQ(two.ntk(i, j), two.ntk(j, i)) << i << "," << j;
      }
    }
    const double tol = f32 ? 1e-5 : 1e-13;
    EXPECT_LE(max_rel_diff(expl.nngp, two.nngp), tol);
    EXPECT_LE(max_rel_diff(expl.ntk, two.ntk), tol);
    auto eng = KernelEngine::create(arch, in.x, nullptr, o);
    eng->prepare();
    for (const TileSpec& t : std::vector<TileSpec>{{0, 3, 1, 4}, {2, 4, 0, 2}, {1, 2, 1, 2}}) {
      const int64_t ld = t.col_end - t.col_begin;
      std::vector<double> nd((t.row_end - t.row_begin) * ld), td(nd.size());
      std::vector<float> nf(nd.size()), tf(nd.size());
      eng->compute_tile(t, f32 ? static_cast<void*>(nf.data()) : nd.data(),
                        f32 ? static_cast<void*>(tf.data()) : td.data(), ld);
      for (int64_t i = t.row_begin; i < t.row_end; ++i)
        for (int64_t j = t.col_begin; j < t.col_end; ++j) {
          const int64_t q = (i - t.row_begin) * ld + (j - t.col_begin);
          EXPECT_NEAR(f32 ? nf[q] : nd[q], two.nngp(i, j), tol * std::abs(two.nngp(i, j))) << i << "," << j;
          EXPECT_NEAR(f32 ? tf[q] : td[q], two.ntk(i, j), tol * std::abs(two.ntk(i, j))) << i << "," << j;
        }
    }
  }
}

// Cases outside an engine's scope: the registry says why, `auto` falls back to the reference engine, and an
// engine asked for by name fails with its reason.
TEST_P(EngineAxis, SaysWhyOutsideItsScope) {
  const Tensor v = testing::random_tensor({4, 5}, 1), img = testing::random_tensor({3, 6, 6, 2}, 2);
  KernelOptions o = testing::options(Parameterization::kNtk, dtype());
  const EngineInfo& e = *EngineRegistry::instance().find(engine());
  struct Out {
    const char* arch;
    const Tensor* x;
  };
  std::string nested = "dense";  // residual blocks nested deeper than the fast engines' stacks of 8
  for (int k = 0; k < 9; ++k) nested = "residual(dense, " + nested + ")";
  nested = "dense, " + nested + ", relu, dense";
  for (const Out& c : {Out{nested.c_str(), &v},
                       Out{"conv(3), relu, residual(conv(3, pad=circular), relu), gap, dense", &img}}) {
    SCOPED_TRACE(c.arch);
    const Architecture arch = Architecture::parse(c.arch);
    const std::string why = e.why_not(EngineCase{arch, *c.x, nullptr, o});
    if (why.empty()) continue;  // in this engine's scope after all: nothing to check
    o.engine = "auto";
    const Kernels k = compute_kernels(arch, *c.x, nullptr, o);
    EXPECT_EQ(k.engine, "reference");
    o.engine = engine();
    try {
      compute_kernels(arch, *c.x, nullptr, o);
      ADD_FAILURE() << "no error";
    } catch (const Error& err) {
      EXPECT_NE(err.message().find(why), std::string::npos) << err.message();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, EngineAxis,
                         ::testing::Combine(::testing::ValuesIn(testing::engines_under_test()),
                                            ::testing::Values(DType::kFloat64, DType::kFloat32)),
                         [](const auto& info) {
                           std::string n =
                               std::get<0>(info.param) + "_" + dtype_name(std::get<1>(info.param));
                           for (char& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

}  // namespace
}  // namespace ntk
