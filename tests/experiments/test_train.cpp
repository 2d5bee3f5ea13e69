// Training finite networks: the twin model, gradients, gradient descent / SGD / momentum, determinism.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "common/test_util.h"
#include "ntk/arch.h"
#include "ntk/error.h"
#include "ntk/kernel.h"
#include "ntk/solvers.h"
#include "ntk/train.h"

namespace ntk {
namespace {

const char* kMlp =
    "dense(w_std=1.4142, b_std=0.1), relu, dense(w_std=1.4142, b_std=0.1), relu, dense(b_std=0.1)";

Model make_model(int64_t width, F0Mode mode, uint64_t seed = 3, int64_t d = 5) {
  ExampleShape in;
  in.channels = d;
  return Model(Architecture::parse(kMlp, ParseOptions{width}), in, Parameterization::kNtk, seed, mode);
}

TEST(TrainTest, TwinStartsAtZeroWithTheSameKernel) {
  Tensor x = testing::random_tensor({7, 5}, 1);
  Model keep = make_model(32, F0Mode::kKeep);
  Model twin = make_model(32, F0Mode::kTwin);
  EXPECT_EQ(twin.members(), 2u);
  EXPECT_EQ(twin.num_params(), 2 * keep.num_params());
  EXPECT_EQ(twin.apply(x).cwiseAbs().maxCoeff(), 0.0);
  EXPECT_GT(keep.apply(x).cwiseAbs().maxCoeff(), 0.0);
  const Matrix k_keep = keep.empirical_ntk(x), k_twin = twin.empirical_ntk(x);
  EXPECT_LT((k_keep - k_twin).cwiseAbs().maxCoeff(), 1e-12 * k_keep.cwiseAbs().maxCoeff());
}

TEST(TrainTest, GradientMatchesFiniteDifferences) {
  for (F0Mode mode : {F0Mode::kKeep, F0Mode::kTwin}) {
    Tensor x = testing::random_tensor({6, 5}, 2);
    Matrix y = testing::random_matrix(6, 1, 3);
    Model m = make_model(16, mode);
    if (mode == F0Mode::kTwin) {  // move off the symmetric point so both halves matter
      m.add_scaled(m.gradient(x, m.apply(x) - y), -0.05);
      m.add_scaled(m.gradient(x, m.apply(x) - y), -0.05);
    }
    auto loss = [&](const Model& mm) { return 0.5 * (mm.apply(x) - y).squaredNorm(); };
    const ModelParams g = m.gradient(x, m.apply(x) - y);
    // Random direction.
    ModelParams dir = g;
    std::mt19937_64 rng(9);
    std::normal_distribution<double> nd;
    for (auto& member : dir)
      for (auto& lp : member)
        for (auto& t : lp.tensors)
          for (int64_t i = 0; i < t.size(); ++i) t.data()[i] = nd(rng);
    double analytic = 0;
    for (size_t i = 0; i < g.size(); ++i) analytic += Network::dot(g[i], dir[i]);
    const double eps = 1e-5;
    Model plus = m, minus = m;
    plus.add_scaled(dir, eps);
    minus.add_scaled(dir, -eps);
    const double numeric = (loss(plus) - loss(minus)) / (2 * eps);
    EXPECT_NEAR(numeric, analytic, 1e-5 * std::max(1.0, std::abs(analytic))) << f0_mode_name(mode);
  }
}

TEST(TrainTest, MaxLearningRateIsTwoOverLargestEigenvalue) {
  Matrix k = Matrix::Zero(3, 3);
  k.diagonal() << 1.0, 4.0, 2.0;
  EXPECT_NEAR(largest_eigenvalue(k), 4.0, 1e-12);
  EXPECT_NEAR(max_learning_rate(k), 0.5, 1e-12);
  EXPECT_THROW(max_learning_rate(Matrix::Zero(2, 2)), Error);
  EXPECT_THROW(largest_eigenvalue(Matrix::Zero(2, 3)), Error);
}

TEST(TrainTest, FullBatchGradientDescentFitsTheTrainingSet) {
  Tensor x = testing::random_tensor({20, 5}, 4);
  Matrix y = testing::random_matrix(20, 1, 5);
  Model m = make_model(256, F0Mode::kTwin);
  TrainOptions o;
  o.steps = 300;
  o.lr_fraction = 0.5;
  int64_t calls = 0;
  TrainResult r = train(m, x, y, o, [&](int64_t k, const Model&) { EXPECT_EQ(k, calls++); });
  EXPECT_EQ(calls, 301);
  ASSERT_EQ(r.loss.size(), 301u);
  EXPECT_GT(r.lambda_max, 0);
  EXPECT_NEAR(r.learning_rate, o.lr_fraction * 2.0 / r.lambda_max, 1e-12);
  EXPECT_NEAR(r.loss.front(), 0.5 * y.squaredNorm(), 1e-12);  // the twin starts at 0
  EXPECT_LT(r.final_loss, 0.05 * r.loss.front());
  for (size_t k = 1; k < r.loss.size(); ++k) EXPECT_LE(r.loss[k], r.loss[k - 1] * (1 + 1e-9)) << k;
}

TEST(TrainTest, MultiOutputTargets) {
  Tensor x = testing::random_tensor({12, 5}, 6);
  Matrix y = testing::random_matrix(12, 3, 7);
  ExampleShape in;
  in.channels = 5;
  Model m(Architecture::parse("dense, relu, dense(width=3)", ParseOptions{128}), in, Parameterization::kNtk,
          1, F0Mode::kKeep);
  TrainOptions o;
  o.steps = 200;
  TrainResult r = train(m, x, y, o);
  EXPECT_LT(r.final_loss, 0.1 * r.loss.front());
  EXPECT_THROW(train(m, x, testing::random_matrix(12, 1, 1), o), Error);
}

TEST(TrainTest, SgdAndMomentumAreSeededAndConverge) {
  Tensor x = testing::random_tensor({24, 5}, 8);
  Matrix y = testing::random_matrix(24, 1, 9);
  TrainOptions o;
  o.steps = 150;
  o.batch_size = 8;
  o.momentum = 0.5;
  o.lr_fraction = 0.25;
  o.seed = 11;
  Model a = make_model(64, F0Mode::kTwin), b = make_model(64, F0Mode::kTwin),
        c = make_model(64, F0Mode::kTwin);
  const double l0 = 0.5 * y.squaredNorm();
  TrainResult ra = train(a, x, y, o);
  TrainResult rb = train(b, x, y, o);
  o.seed = 12;
  train(c, x, y, o);
  EXPECT_TRUE(ra.loss.empty());
  EXPECT_EQ(Model::distance(a.params(), b.params()), 0.0);
  EXPECT_GT(Model::distance(a.params(), c.params()), 0.0);
  EXPECT_EQ(ra.final_loss, rb.final_loss);
  EXPECT_LT(ra.final_loss, 0.2 * l0);
  EXPECT_NEAR(equivalent_flow_time(o, 0.1, 24), 0.1 * 150 * (8.0 / 24) / 0.5, 1e-12);
}

// Bitwise reproducible for a fixed BLAS thread count (run_equivalence runs its networks with one BLAS thread
// each, which makes the experiment independent of --threads; see EquivalenceExperiment tests).
TEST(TrainTest, Reproducible) {
  Tensor x = testing::random_tensor({16, 5}, 10);
  Matrix y = testing::random_matrix(16, 1, 11);
  TrainOptions o;
  o.steps = 20;
  Context one;
  one.threads = 1;
  set_blas_threads(one);
  Matrix out[2];
  for (int t = 0; t < 2; ++t) {
    Model m = make_model(512, F0Mode::kTwin);
    train(m, x, y, o);
    out[t] = m.apply(x);
  }
  set_blas_threads(Context{});
  EXPECT_EQ((out[0] - out[1]).cwiseAbs().maxCoeff(), 0.0);
}

TEST(TrainTest, BadOptionsThrow) {
  Tensor x = testing::random_tensor({4, 5}, 1);
  Matrix y = testing::random_matrix(4, 1, 1);
  Model m = make_model(8, F0Mode::kKeep);
  TrainOptions o;
  o.momentum = 1.0;
  EXPECT_THROW(train(m, x, y, o), Error);
  o = TrainOptions();
  o.steps = -1;
  EXPECT_THROW(train(m, x, y, o), Error);
  o = TrainOptions();
  o.learning_rate = 100.0;  // far above 2/λ_max: diverges, reported instead of NaN outputs
  o.steps = 2000;
  EXPECT_THROW(train(m, x, y, o), Error);
  EXPECT_THROW(parse_f0_mode("zero"), Error);
}

// A wide network trained by gradient descent follows its linearisation (the empirical-NTK predictor at the
// same step count) closely, and the exact-NTK predictor up to the kernel's O(1/sqrt(width)) fluctuation.
TEST(TrainTest, WideNetworkFollowsTheKernelPredictor) {
  Tensor x = testing::random_tensor({16, 5}, 12), xs = testing::random_tensor({8, 5}, 13);
  Matrix y = testing::random_matrix(16, 1, 14);
  KernelOptions ko;
  ko.nngp = false;
  ko.engine = "reference";
  const Matrix th = compute_kernels(kMlp, x, nullptr, ko).ntk;
  const Matrix th_s = compute_kernels(kMlp, xs, &x, ko).ntk;
  double gap[2], gap_lin[2];
  int64_t widths[2] = {64, 1024};
  for (int i = 0; i < 2; ++i) {
    Model m = make_model(widths[i], F0Mode::kTwin, 21);
    const Matrix k0 = m.empirical_ntk(x), k0_s = m.empirical_ntk(xs, &x);
    TrainOptions o;
    o.steps = 30;
    o.learning_rate = 0.5 * max_learning_rate(th);  // the same step for every width
    train(m, x, y, o);
    const Matrix f = m.apply(xs);
    const Matrix f_ntk = GradientFlow(th, o.learning_rate).predict_test_steps(o.steps, th_s, y);
    const Matrix f_lin = GradientFlow(k0, o.learning_rate).predict_test_steps(o.steps, k0_s, y);
    gap[i] = (f - f_ntk).norm() / f_ntk.norm();
    gap_lin[i] = (f - f_lin).norm() / f_lin.norm();
  }
  EXPECT_LT(gap_lin[1], 0.05) << gap_lin[0];
  EXPECT_LT(gap_lin[1], 0.5 * gap_lin[0]);
  EXPECT_LT(gap[1], 0.2) << gap[0];
  EXPECT_LT(gap[1], gap[0]);
}

}  // namespace
}  // namespace ntk
