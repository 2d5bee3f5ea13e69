// The equivalence experiment: kernel-predictor identities, data preparation, small versions of the
// width-scaling claims on real Fashion-MNIST images, the JSON / plot outputs and the CLI.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "common/test_util.h"
#include "ntk/arch.h"
#include "ntk/equivalence.h"
#include "ntk/error.h"
#include "ntk/kernel.h"
#include "ntk/solvers.h"

namespace ntk {
namespace {

bool file_exists(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0;
}

std::string read_text(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---- kernel predictor identities (the solvers' GradientFlow, used by the experiment) ----

struct Problem {
  Matrix theta, theta_st, y, f0, f0_st;
};

Problem small_problem() {
  Tensor x = testing::random_tensor({10, 4}, 1), xs = testing::random_tensor({5, 4}, 2);
  KernelOptions ko;
  ko.nngp = false;
  const char* arch = "dense(w_std=1.4142, b_std=0.1), relu, dense";
  Problem p;
  p.theta = compute_kernels(arch, x, nullptr, ko).ntk;
  p.theta_st = compute_kernels(arch, xs, &x, ko).ntk;
  p.y = testing::random_matrix(10, 2, 3);
  p.f0 = 0.3 * testing::random_matrix(10, 2, 4);
  p.f0_st = 0.3 * testing::random_matrix(5, 2, 5);
  return p;
}

TEST(EquivalencePredictor, DiscreteStepsMatchTheEigenForm) {
  Problem p = small_problem();
  const double lr = 0.9 * max_learning_rate(p.theta);
  GradientFlow flow(p.theta, lr);
  for (int64_t steps : {0, 1, 7, 50}) {
    GdTrajectory gd = gradient_descent_steps(p.theta, &p.theta_st, p.y, lr, steps, &p.f0, &p.f0_st);
    const Matrix tr = flow.predict_train_steps(steps, p.y, &p.f0);
    const Matrix te = flow.predict_test_steps(steps, p.theta_st, p.y, &p.f0, &p.f0_st);
    EXPECT_LT((gd.train - tr).cwiseAbs().maxCoeff(), 1e-8) << steps;
    EXPECT_LT((gd.test - te).cwiseAbs().maxCoeff(), 1e-8) << steps;
  }
  // And the same by hand: u ← u − ηΘ(u − y).
  Matrix u = p.f0, v = p.f0_st;
  for (int k = 0; k < 13; ++k) {
    const Matrix r = u - p.y;
    v -= lr * p.theta_st * r;
    u -= lr * p.theta * r;
  }
  EXPECT_LT((flow.predict_test_steps(13, p.theta_st, p.y, &p.f0, &p.f0_st) - v).cwiseAbs().maxCoeff(), 1e-8);
}

TEST(EquivalencePredictor, InfiniteTimeIsTheLimitOfTheEigenForm) {
  Problem p = small_problem();
  GradientFlow flow(p.theta, 1.0);
  const Matrix inf = flow.predict_test(kInfiniteTime, p.theta_st, p.y, &p.f0, &p.f0_st);
  const Matrix late = flow.predict_test(1e9, p.theta_st, p.y, &p.f0, &p.f0_st);
  EXPECT_LT((inf - late).cwiseAbs().maxCoeff(), 1e-6 * (1 + inf.cwiseAbs().maxCoeff()));
  // The training outputs interpolate the targets at t = ∞.
  EXPECT_LT((flow.predict_train(kInfiniteTime, p.y, &p.f0) - p.y).cwiseAbs().maxCoeff(), 1e-6);
  // t = 0 returns f0.
  EXPECT_LT((flow.predict_test(0.0, p.theta_st, p.y, &p.f0, &p.f0_st) - p.f0_st).cwiseAbs().maxCoeff(),
            1e-12);
}

TEST(EquivalencePredictor, ZeroF0IsTheTwinForm) {
  // With f0 = 0: f_t(x) = Θ(x,X) Θ⁻¹ (I − e^{−ηΘt}) Y, checked against an explicit eigendecomposition.
  Problem p = small_problem();
  const double lr = 0.5, t = 3.0;
  GradientFlow flow(p.theta, lr);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(Eigen::MatrixXd(p.theta));
  const Eigen::VectorXd l = es.eigenvalues();
  Eigen::VectorXd f(l.size());
  for (int i = 0; i < l.size(); ++i) f(i) = (1 - std::exp(-lr * l(i) * t)) / l(i);
  const Matrix expect =
      p.theta_st * (es.eigenvectors() * f.asDiagonal() * es.eigenvectors().transpose() * p.y);
  EXPECT_LT((flow.predict_test(t, p.theta_st, p.y) - expect).cwiseAbs().maxCoeff(), 1e-9);
}

// ---- helpers ----

TEST(EquivalenceHelpers, LogLogSlope) {
  std::vector<double> x = {64, 128, 256, 512}, y;
  for (double w : x) y.push_back(3.0 * std::pow(w, -0.5));
  EXPECT_NEAR(log_log_slope(x, y), -0.5, 1e-12);
  EXPECT_TRUE(std::isnan(log_log_slope({1.0}, {2.0})));
  EXPECT_NEAR(log_log_slope({1, 2, 4}, {0.0, 2.0, 4.0}), 1.0, 1e-12);  // non-positive values skipped
}

TEST(EquivalenceHelpers, WithOutputs) {
  EXPECT_EQ(with_outputs("dense, relu, dense", 1), "dense, relu, dense");
  EXPECT_EQ(with_outputs("dense, relu, dense", 3), "dense, relu, dense(width=3)");
  EXPECT_EQ(with_outputs("dense, relu, dense(b_std=0.1)", 3), "dense, relu, dense(width=3, b_std=0.1)");
  EXPECT_EQ(with_outputs("dense, relu, dense()", 2), "dense, relu, dense(width=2)");
  EXPECT_EQ(with_outputs("dense, relu, dense(4)", 3), "dense, relu, dense(4)");
  EXPECT_EQ(with_outputs("repeat(2, conv(3), relu), flatten, dense(w_std=2)", 10),
            "repeat(2, conv(3), relu), flatten, dense(width=10, w_std=2)");
  EXPECT_THROW(with_outputs("relu", 3), Error);
  // The rewritten architecture has K outputs at any hidden width.
  Architecture a = Architecture::parse(with_outputs("dense, relu, dense", 3), ParseOptions{17});
  ExampleShape in;
  in.channels = 4;
  EXPECT_EQ(a.infer_shapes(in).back().channels, 3);
}

TEST(EquivalenceHelpers, ShapeInputsFor) {
  Tensor img({3, 4, 4, 2});
  EXPECT_EQ(shape_inputs_for(Architecture::parse("dense, relu, dense"), img).shape,
            (std::vector<int64_t>{3, 32}));
  EXPECT_EQ(shape_inputs_for(Architecture::parse("conv(3), relu, flatten, dense"), img).shape, img.shape);
}

io::Dataset synthetic_dataset() {
  io::Dataset ds;
  ds.x = Tensor({60, 4, 4, 1});
  std::mt19937_64 rng(5);
  std::normal_distribution<double> nd;
  for (auto& v : ds.x.data) v = 2.0 + 3.0 * nd(rng);
  for (int i = 0; i < 60; ++i) ds.labels.push_back(i % 3);
  ds.class_names = {"a", "b", "c"};
  return ds;
}

TEST(EquivalenceData, BalancedDisjointStandardised) {
  io::Dataset ds = synthetic_dataset();
  EquivalenceDataOptions o;
  o.n_train = 10;
  o.n_test = 6;
  o.downsample = 2;
  o.standardize = "feature";
  EquivalenceData d = make_equivalence_data(ds, o);
  EXPECT_TRUE(d.scalar_targets);
  EXPECT_EQ(d.x_train.shape, (std::vector<int64_t>{10, 2, 2, 1}));
  EXPECT_EQ(d.x_test.rows(), 6);
  EXPECT_EQ(d.y_train.cols(), 1);
  int count[2] = {0, 0};
  for (size_t i = 0; i < d.labels_train.size(); ++i) {
    count[d.labels_train[i]]++;
    EXPECT_EQ(d.y_train(i, 0), d.labels_train[i] == 1 ? 1.0 : -1.0);
  }
  EXPECT_EQ(count[0], 5);
  EXPECT_EQ(count[1], 5);
  for (int64_t f = 0; f < 4; ++f) {  // per-feature mean 0 / std 1 on the training rows
    double m = 0, s = 0;
    for (int64_t i = 0; i < 10; ++i) m += d.x_train.data[i * 4 + f];
    m /= 10;
    for (int64_t i = 0; i < 10; ++i) s += std::pow(d.x_train.data[i * 4 + f] - m, 2);
    EXPECT_NEAR(m, 0.0, 1e-12);
    EXPECT_NEAR(s / 10, 1.0, 1e-9);
  }
  // No test row is a training row.
  for (int64_t i = 0; i < d.x_test.rows(); ++i)
    for (int64_t j = 0; j < d.x_train.rows(); ++j)
      EXPECT_FALSE(std::equal(d.x_test.row(i), d.x_test.row(i) + 4, d.x_train.row(j)));
  // Same seed, same data; other seed, other rows.
  EquivalenceData d2 = make_equivalence_data(ds, o);
  EXPECT_EQ(d.x_train.data, d2.x_train.data);
  o.seed = 1;
  EXPECT_NE(make_equivalence_data(ds, o).x_train.data, d.x_train.data);

  // Per example: every row has mean 0 and variance 1.
  o.standardize = "example";
  EquivalenceData de = make_equivalence_data(ds, o);
  for (const Tensor* t : {&de.x_train, &de.x_test})
    for (int64_t i = 0; i < t->rows(); ++i) {
      double m = 0, s = 0;
      for (int64_t f = 0; f < 4; ++f) m += t->row(i)[f] / 4;
      for (int64_t f = 0; f < 4; ++f) s += std::pow(t->row(i)[f] - m, 2) / 4;
      EXPECT_NEAR(m, 0.0, 1e-12);
      EXPECT_NEAR(s, 1.0, 1e-9);
    }
  o.standardize = "bogus";
  EXPECT_THROW(make_equivalence_data(ds, o), Error);
  o.standardize = "none";
  EXPECT_EQ(make_equivalence_data(ds, o).x_train.rows(), 10);

  o.classes = {2, 0, 1};
  o.one_hot = true;
  EquivalenceData d3 = make_equivalence_data(ds, o);
  EXPECT_EQ(d3.num_classes, 3);
  EXPECT_EQ(d3.y_train.cols(), 3);
  EXPECT_NEAR(d3.y_train.row(0).sum(), 0.0, 1e-12);
  EXPECT_EQ(d3.class_names[0], "2 (c)");
  o.n_train = 100;
  EXPECT_THROW(make_equivalence_data(ds, o), Error);
}

// ---- the experiment on real images ----

const std::string kFashion = kDefaultEquivalenceData;

EquivalenceData small_fashion(int64_t n_train, int64_t n_test, int64_t downsample) {
  EquivalenceDataOptions o;
  o.n_train = n_train;
  o.n_test = n_test;
  o.downsample = downsample;
  return load_equivalence_data(o);
}

// Small version of the README claims: two widths, fixed seeds.
TEST(EquivalenceExperiment, DeviationsShrinkWithWidth) {
  if (!file_exists(kFashion)) GTEST_SKIP() << kFashion << " not installed";
  EquivalenceData data = small_fashion(64, 64, 4);  // 7x7 images
  EquivalenceOptions o;
  o.widths = {64, 512};
  o.seeds = 2;
  o.train.steps = 60;
  o.kernel_checkpoints = 2;
  EquivalenceResult r = run_equivalence(data, o);
  ASSERT_EQ(r.runs.size(), 2u);
  ASSERT_EQ(r.runs[0].size(), 2u);
  const auto kd = r.means("kernel_init_dev"), kc = r.means("kernel_train_change"), pg = r.means("pred_gap"),
             pl = r.means("pred_gap_lin"), pc = r.means("param_change");
  EXPECT_LT(kd[1], kd[0]);
  EXPECT_LT(kc[1], kc[0]);
  EXPECT_LT(pg[1], pg[0]);
  EXPECT_LT(pl[1], pl[0]);
  EXPECT_LT(pc[1], pc[0]);
  EXPECT_GE(r.slopes.at("kernel_init_dev"), -0.8);
  EXPECT_LE(r.slopes.at("kernel_init_dev"), -0.25);
  EXPECT_LE(r.slopes.at("kernel_train_change"), -0.25);
  EXPECT_LE(r.slopes.at("pred_gap"), -0.25);
  EXPECT_LT(pg[1], 0.15);
  // The networks learn: training loss well below the initial 1 (targets ±1, f0 = 0), good test accuracy.
  EXPECT_LT(r.means("nn_train_loss")[1], 0.2);
  EXPECT_GT(r.means("nn_test_acc")[1], 0.85);
  EXPECT_NEAR(r.means("ntk_test_acc")[1], r.means("nn_test_acc")[1], 0.05);
  // Traces: f_NN(0) = 0 (twin) and f_NN(T) ≈ f_NTK(T) at the large width.
  const EquivalenceRun& big = r.runs[1][0];
  ASSERT_GT(big.trace_nn.rows(), 2);
  EXPECT_EQ(big.trace_nn.row(0).cwiseAbs().maxCoeff(), 0.0);
  EXPECT_EQ(big.trace_at.back(), 60);
  EXPECT_LT((big.trace_nn.bottomRows(1) - big.trace_ntk.bottomRows(1)).norm(),
            0.2 * big.trace_ntk.bottomRows(1).norm());
}

// The claim of docs/feature-learning.md on a small job: with the same base learning rate at every width
// (0.75 · 2/λ_max, which tends to a constant), the empirical NTK of ntk-parameterized networks moves less and
// less in training as the width grows (lazy training), that of μP networks does not (feature learning), while
// both start at the same kernel (μP's NTK at initialisation has the ntk parameterization's limit).
TEST(EquivalenceExperiment, MupKernelKeepsMovingWhileNtkFreezes) {
  if (!file_exists(kFashion)) GTEST_SKIP() << kFashion << " not installed";
  EquivalenceData data = small_fashion(64, 64, 4);  // 7x7 images
  EquivalenceOptions o;
  o.widths = {64, 256, 1024};
  o.seeds = 2;
  o.kernel_seeds = 4;
  o.train.steps = 60;
  o.kernel_checkpoints = 2;
  o.trace_points = 0;
  o.parameterization = Parameterization::kNtk;
  const EquivalenceResult ntk = run_equivalence(data, o);
  o.parameterization = Parameterization::kMup;
  const EquivalenceResult mup = run_equivalence(data, o);
  const double ntk_slope = ntk.slopes.at("kernel_train_change"),
               mup_slope = mup.slopes.at("kernel_train_change");
  EXPECT_LE(ntk_slope, -0.5) << "mup slope " << mup_slope;
  EXPECT_GE(mup_slope, -0.25) << "ntk slope " << ntk_slope;
  const auto kc_ntk = ntk.means("kernel_train_change"), kc_mup = mup.means("kernel_train_change");
  EXPECT_GT(kc_mup.back(), 4 * kc_ntk.back());
  // Both start at the exact NTK: with equal widths μP's empirical NTK at initialisation is the ntk one of the
  // same seed (tests/layers/test_mup.cpp), so the deviations are the same, shrinking with the width.
  const auto kd_ntk = ntk.means("kernel_init_dev"), kd_mup = mup.means("kernel_init_dev");
  for (size_t i = 0; i < kd_ntk.size(); ++i) EXPECT_NEAR(kd_mup[i], kd_ntk[i], 1e-9 * kd_ntk[i]);
  EXPECT_LE(mup.slopes.at("kernel_init_dev"), -0.25);
  // And μP's learning rate does not shrink with the width (nor does ntk's: the same base rate).
  EXPECT_NEAR(mup.runs.back()[0].learning_rate / mup.runs.front()[0].learning_rate, 1.0, 0.35);
  // The μP networks learn the task too.
  EXPECT_GT(mup.means("nn_test_acc").back(), 0.85);
}

TEST(EquivalenceExperiment, ReproducibleAndThreadIndependent) {
  if (!file_exists(kFashion)) GTEST_SKIP() << kFashion << " not installed";
  EquivalenceData data = small_fashion(32, 16, 4);
  EquivalenceOptions o;
  o.widths = {64, 256};
  o.seeds = 2;
  o.kernel_seeds = 4;
  o.train.steps = 20;
  o.ctx.threads = 1;
  EquivalenceResult a = run_equivalence(data, o);
  o.ctx.threads = 2;
  EquivalenceResult b = run_equivalence(data, o);
  o.ctx.threads = 3;
  EquivalenceResult c = run_equivalence(data, o);
  for (size_t w = 0; w < 2; ++w) {
    EXPECT_EQ(a.kernel_init_devs[w], b.kernel_init_devs[w]);
    EXPECT_EQ(a.kernel_init_devs[w], c.kernel_init_devs[w]);
    for (int s = 0; s < 2; ++s)
      for (const auto& name : equivalence_metric_names()) {
        EXPECT_EQ(a.runs[w][s].metrics.at(name), b.runs[w][s].metrics.at(name)) << name;
        EXPECT_EQ(a.runs[w][s].metrics.at(name), c.runs[w][s].metrics.at(name)) << name;
      }
  }
  EXPECT_EQ(a.slopes, b.slopes);
  EXPECT_EQ(a.means("pred_gap"), c.means("pred_gap"));
}

TEST(EquivalenceExperiment, KeepF0SgdMomentumAndOneHot) {
  if (!file_exists(kFashion)) GTEST_SKIP() << kFashion << " not installed";
  EquivalenceDataOptions d;
  d.n_train = 60;
  d.n_test = 30;
  d.downsample = 4;
  d.num_classes = 3;
  EquivalenceData data = load_equivalence_data(d);
  EXPECT_EQ(data.y_train.cols(), 3);
  EquivalenceOptions o;
  o.widths = {64, 256};
  o.seeds = 1;
  o.f0 = F0Mode::kKeep;
  o.train.steps = 60;
  o.train.batch_size = 20;
  o.train.momentum = 0.5;
  o.train.lr_fraction = 0.25;
  EquivalenceResult r = run_equivalence(data, o);
  EXPECT_EQ(r.outputs, 3);
  for (const auto& name : equivalence_metric_names()) EXPECT_TRUE(std::isfinite(r.means(name)[1])) << name;
  EXPECT_GT(r.means("nn_test_acc")[1], 0.6);
  // --time: steps follow from the step size.
  EquivalenceOptions t;
  t.widths = {32};
  t.seeds = 1;
  t.time = 2.0;
  t.train.learning_rate = 0.01;
  EquivalenceResult rt = run_equivalence(data, t);
  EXPECT_EQ(rt.runs[0][0].steps, 200);
  EXPECT_NEAR(rt.runs[0][0].flow_time, 2.0, 1e-12);
}

TEST(EquivalenceExperiment, ConvolutionalVariantRuns) {
  if (!file_exists(kFashion)) GTEST_SKIP() << kFashion << " not installed";
  EquivalenceData data = small_fashion(24, 16, 4);
  EquivalenceOptions o;
  o.arch = "repeat(2, conv(3), relu), flatten, dense";
  o.widths = {8, 64};
  o.seeds = 1;
  o.train.steps = 30;
  o.kernel_checkpoints = 1;
  EquivalenceResult r = run_equivalence(data, o);
  const auto kd = r.means("kernel_init_dev");
  EXPECT_LT(kd[1], kd[0]);
  EXPECT_LT(r.means("pred_gap")[1], r.means("pred_gap")[0]);
}

// ---- outputs ----

EquivalenceResult tiny_result() {
  io::Dataset ds = synthetic_dataset();
  for (size_t i = 0; i < ds.labels.size(); ++i)  // make it learnable
    ds.x.data[i * 16] += ds.labels[i] == 1 ? 3.0 : -3.0;
  EquivalenceDataOptions d;
  d.n_train = 12;
  d.n_test = 8;
  EquivalenceData data = make_equivalence_data(ds, d);
  EquivalenceOptions o;
  o.widths = {16, 64};
  o.seeds = 2;
  o.train.steps = 10;
  return run_equivalence(data, o);
}

TEST(EquivalenceOutput, JsonHasTheDocumentedKeys) {
  EquivalenceResult r = tiny_result();
  nlohmann::json j = nlohmann::json::parse(r.to_json());
  EXPECT_EQ(j["widths"], nlohmann::json({16, 64}));
  for (const char* k : {"kernel_init_dev", "kernel_train_change", "param_change", "pred_gap", "pred_gap_lin",
                        "nn_test_acc", "ntk_test_mse"}) {
    ASSERT_TRUE(j.contains(k)) << k;
    EXPECT_EQ(j[k].size(), 2u) << k;
  }
  for (const char* k : {"kernel_init_dev", "kernel_train_change", "pred_gap"})
    EXPECT_TRUE(j["slopes"].contains(k));
  EXPECT_EQ(j["runs"].size(), 4u);
  EXPECT_EQ(j["config"]["f0"], "twin");
  const std::string table = r.table();
  EXPECT_NE(table.find("slope"), std::string::npos);
  EXPECT_NE(table.find("kernel_init_dev"), std::string::npos);
}

TEST(EquivalenceOutput, PlotIsSvgAndPngIsLeftToPython) {
  EquivalenceResult r = tiny_result();
  const std::string dir = ::testing::TempDir();
  const std::string svg = dir + "/ntk_eq_test.svg", png = dir + "/ntk_eq_test.png";
  write_equivalence_plot(r, svg);
  const std::string s = read_text(svg);
  EXPECT_EQ(s.rfind("<svg", 0), 0u);
  EXPECT_NE(s.find("</svg>"), std::string::npos);
  EXPECT_NE(s.find("kernel_init_dev"), std::string::npos);
  std::remove(svg.c_str());
  EXPECT_THROW(write_equivalence_plot(r, dir + "/x.pdf"), Error);
  // The library draws no PNG (it does not fork python3): the message gives the Python route, no file appears.
  try {
    write_equivalence_plot(r, png);
    ADD_FAILURE() << "a .png plot was accepted";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("python3 -m ntk.plot equivalence"), std::string::npos) << e.message();
  }
  EXPECT_FALSE(file_exists(png));
}

TEST(EquivalenceOutput, JsonCarriesTheTracesOfTheFigure) {
  EquivalenceResult r = tiny_result();
  nlohmann::json j = nlohmann::json::parse(r.to_json());
  ASSERT_EQ(j["runs"].size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    const EquivalenceRun& run = r.runs[i / 2][i % 2];
    const nlohmann::json& jr = j["runs"][i];
    ASSERT_EQ(jr["trace_at"].size(), run.trace_at.size());
    ASSERT_EQ(jr["trace_nn"].size(), static_cast<size_t>(run.trace_nn.rows()));
    ASSERT_EQ(jr["trace_ntk"][0].size(), static_cast<size_t>(run.trace_ntk.cols()));
    EXPECT_GT(run.trace_nn.cols(), 0);
    // Numbers round-trip exactly through the JSON text.
    for (int64_t t = 0; t < run.trace_nn.rows(); ++t)
      for (int64_t p = 0; p < run.trace_nn.cols(); ++p) {
        EXPECT_EQ(jr["trace_nn"][t][p].get<double>(), run.trace_nn(t, p));
        EXPECT_EQ(jr["trace_ntk"][t][p].get<double>(), run.trace_ntk(t, p));
      }
  }
}

TEST(EquivalenceOptions, MessagesNameTheOption) {
  io::Dataset ds = synthetic_dataset();
  EquivalenceDataOptions d;
  d.n_train = 12;
  d.n_test = 8;
  EquivalenceData data = make_equivalence_data(ds, d);
  auto message = [&](const std::function<void(EquivalenceOptions&)>& change) {
    EquivalenceOptions o;
    o.widths = {8};
    o.seeds = 1;
    o.train.steps = 2;
    change(o);
    try {
      run_equivalence(data, o);
    } catch (const Error& e) {
      return e.message();
    }
    return std::string("no error");
  };
  EXPECT_EQ(message([](EquivalenceOptions& o) { o.seeds = 0; }), "seeds must be >= 1, got 0");
  EXPECT_EQ(message([](EquivalenceOptions& o) { o.widths = {8, 0}; }), "widths must be >= 1, got 0");
  EXPECT_EQ(message([](EquivalenceOptions& o) { o.widths.clear(); }), "widths: empty list");
  EXPECT_EQ(message([](EquivalenceOptions& o) { o.train.momentum = 1; }),
            "momentum must be in [0, 1), got 1");
  EXPECT_EQ(message([](EquivalenceOptions& o) { o.lr_kernel = "x"; }),
            "lr_kernel must be one of both, empirical; got 'x'");
  EXPECT_EQ(message([](EquivalenceOptions& o) { o.train.steps = 0; }),
            "steps must be >= 1 (or time > 0), got 0");
  d.n_train = 0;
  try {
    make_equivalence_data(ds, d);
    ADD_FAILURE() << "n_train = 0 was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "n_train must be >= 1, got 0");
  }
  // The table's defaults are the struct's.
  const EquivalenceOptions def;
  EXPECT_EQ(std::get<int64_t>(equivalence_options().find("steps")->spec.default_value), def.train.steps);
  EXPECT_EQ(std::get<std::vector<int64_t>>(equivalence_options().find("widths")->spec.default_value),
            def.widths);
  EXPECT_EQ(std::get<std::string>(equivalence_options().find("f0")->spec.default_value), "twin");
}

// ---- the CLI ----

int run_cli(const std::string& args, std::string* err = nullptr) {
  // One file per test process: ctest runs tests in parallel (-j), and a shared name let one test read
  // another's stderr.
  const std::string log = ::testing::TempDir() + "/ntk_eq_cli_" + std::to_string(getpid()) + "_" +
                          ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".err";
  const std::string cmd = std::string(NTK_CLI_PATH) + " " + args + " >/dev/null 2>" + log;
  const int status = std::system(cmd.c_str());
  if (err) *err = read_text(log);
  std::remove(log.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(EquivalenceCli, BadInputIsOneLineAndExitTwo) {
  std::string err;
  EXPECT_EQ(run_cli("equivalence --widths 64,abc", &err), 2);
  EXPECT_NE(err.find("--widths"), std::string::npos);
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1);
  EXPECT_EQ(run_cli("equivalence --data /nonexistent/file.npy", &err), 2);
  EXPECT_EQ(run_cli("equivalence --arch 'dense, relu,' --widths 8", &err), 2);
  EXPECT_EQ(run_cli("equivalence --plot out.pdf", &err), 2);
  EXPECT_EQ(run_cli("equivalence --steps 0", &err), 2);
  EXPECT_EQ(run_cli("equivalence --seeds 0", &err), 2);
  EXPECT_EQ(err, "ntk: error: --seeds must be >= 1, got 0\n");
  EXPECT_EQ(run_cli("equivalence --f0 zero", &err), 2);
  EXPECT_EQ(err, "ntk: error: --f0 must be one of twin, keep; got 'zero'\n");
  // PNG is drawn by Python from the JSON: refused at once (before loading data), pointing there.
  const std::string png = ::testing::TempDir() + "/ntk_eq_cli_refused.png";
  EXPECT_EQ(run_cli("equivalence --json eq.json --plot " + png, &err), 2);
  EXPECT_NE(err.find("python3 -m ntk.plot equivalence eq.json " + png), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1);
  EXPECT_FALSE(file_exists(png));
}

TEST(EquivalenceCli, SmallJobWritesJson) {
  if (!file_exists(kFashion)) GTEST_SKIP() << kFashion << " not installed";
  const std::string json = ::testing::TempDir() + "/ntk_eq_cli.json";
  const std::string svg = ::testing::TempDir() + "/ntk_eq_cli.svg";
  std::string err;
  ASSERT_EQ(
      run_cli("equivalence --train 32 --test 16 --downsample 4 --widths 32,128 --seeds 2 --steps 20 --json " +
                  json + " --plot " + svg,
              &err),
      0)
      << err;
  nlohmann::json j = nlohmann::json::parse(read_text(json));
  EXPECT_EQ(j["widths"].size(), 2u);
  EXPECT_TRUE(j["slopes"]["pred_gap"].is_number());
  EXPECT_TRUE(err.empty()) << err;  // no progress bar when stderr is not a terminal
  EXPECT_TRUE(file_exists(svg));
  std::remove(json.c_str());
  std::remove(svg.c_str());
}

}  // namespace
}  // namespace ntk
