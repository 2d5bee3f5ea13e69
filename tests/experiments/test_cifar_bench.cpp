// ntk bench cifar10: end to end on a synthetic CIFAR-10 binary folder whose classes are learnable (brightness),
// and its pieces: ZCA whitening, flips, the kernel blocks, the cross-validated ridge.
#include <gtest/gtest.h>
#include <unistd.h>

#include <Eigen/Dense>
#include <filesystem>
#include <fstream>
#include <random>

#include "common/test_util.h"
#include "ntk/bench_cifar.h"
#include "ntk/error.h"
#include "ntk/solvers.h"

namespace ntk {
namespace {

namespace fs = std::filesystem;

void write_batch(const std::string& path, int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> noise(0, 60);
  std::ofstream f(path, std::ios::binary);
  for (int i = 0; i < n; ++i) {
    const unsigned char label = static_cast<unsigned char>(i % 10);
    f.put(static_cast<char>(label));
    for (int p = 0; p < 3072; ++p) f.put(static_cast<char>(label * 18 + noise(rng)));
  }
}

struct SyntheticCifar {
  fs::path dir;
  SyntheticCifar() {
    dir = fs::temp_directory_path() / ("ntk_cifar_" + std::to_string(getpid()));
    fs::create_directories(dir);
    for (int b = 1; b <= 5; ++b)
      write_batch((dir / ("data_batch_" + std::to_string(b) + ".bin")).string(), 12, static_cast<uint64_t>(b));
    write_batch((dir / "test_batch.bin").string(), 30, 2);
  }
  ~SyntheticCifar() { fs::remove_all(dir); }
};

TEST(CifarBench, RunsTheSweepAndLearnsALearnableTask) {
  SyntheticCifar data;
  CifarBenchOptions o;
  o.data = data.dir.string();
  o.train_sizes = {10, 20};
  o.test = 10;
  o.depths = {2};
  o.readouts = {"flatten", "gap"};
  o.diag_reg = {0};
  o.ctx.threads = 2;
  std::vector<CifarRun> runs = run_cifar_bench(o);
  ASSERT_EQ(runs.size(), 4u);
  for (const CifarRun& r : runs) {
    EXPECT_EQ(r.test, 10);
    EXPECT_GT(r.accuracy, 0.5) << r.arch << " " << r.train;  // chance is 0.1
  }
  EXPECT_EQ(runs[0].arch, "cntk_v(2)");
  EXPECT_EQ(runs[3].arch, "cntk_gap(2)");
  EXPECT_EQ(runs[3].readout, "gap");
  EXPECT_NE(runs[3].spec.find("trainable=false"), std::string::npos);
  o.train_sizes = {100};
  EXPECT_THROW(run_cifar_bench(o), Error);           // more than the data holds
  EXPECT_THROW(cntk_architecture("gap", 1), Error);  // nothing trainable: first and last layer are fixed
}

TEST(CifarBench, AnyArchitectureFlipsBothKernelsAndRepeats) {
  SyntheticCifar data;
  CifarBenchOptions o;
  o.data = data.dir.string();
  o.arch = "conv(3, w_std=1.4142135623730951), relu, conv(3), relu, flatten, dense";  // cheap on 32x32
  o.few_shot = {10, 20};
  o.repeats = 2;
  o.test = 10;
  o.kernels = {"ntk", "nngp"};
  o.preprocess = "standardize";  // zca's per-image centring would remove this data's signal (brightness)
  o.flip = true;
  o.ctx.threads = 2;
  o.ctx.dtype = DType::kFloat32;
  std::vector<CifarRun> runs = run_cifar_bench(o);
  ASSERT_EQ(runs.size(), 8u);  // 2 kernels x 2 sizes x 2 repeats
  double mean = 0;
  for (const CifarRun& r : runs) mean += r.accuracy / static_cast<double>(runs.size());
  EXPECT_GT(mean, 0.25);  // chance is 0.1; one or two images per class and 10 test images
  std::vector<CifarSummary> s = summarize_cifar_runs(runs);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].repeats, 2);
  EXPECT_EQ(s[0].kernel, "ntk");
  EXPECT_EQ(s[2].kernel, "nngp");
  EXPECT_NEAR(s[0].mean, (runs[0].accuracy + runs[1].accuracy) / 2, 1e-12);
  EXPECT_NEAR(s[0].std, std::abs(runs[0].accuracy - runs[1].accuracy) / 2, 1e-12);
  double cntk = 0, resnet = 0;
  ASSERT_TRUE(arora2020_published(1280, &cntk, &resnet));
  EXPECT_DOUBLE_EQ(cntk, 0.4886);
  EXPECT_DOUBLE_EQ(resnet, 0.4914);
  EXPECT_FALSE(arora2020_published(30, &cntk, &resnet));
}

// Random images (N, 4, 4, 2) with correlated values, so that whitening has work to do.
Tensor correlated_images(int64_t n, uint64_t seed) {
  Tensor base = testing::random_tensor({n, 4, 4, 2}, seed);
  Tensor x = base;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 1; k < 32; ++k) x.row(i)[k] = 0.6 * x.row(i)[k - 1] + base.row(i)[k] + 0.01 * k;
  return x;
}

Matrix second_moment(const Tensor& x) {
  Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> m(x.data.data(), x.rows(),
                                                                                              x.row_size());
  return m.transpose() * m / static_cast<double>(x.rows());
}

TEST(CifarBench, ZcaWhitensTheTrainingImages) {
  const Tensor train = correlated_images(500, 1), test = correlated_images(50, 2);
  ZcaWhitening z = ZcaWhitening::fit(train, 0.0);
  Tensor wtr = train, wte = test;
  z.apply_inplace(wtr);
  z.apply_inplace(wte);
  // Per-image centring leaves the constant direction empty: identity on its complement, I − 11ᵀ/d.
  const int64_t d = 32;
  const Matrix projector = Matrix::Identity(d, d) - Matrix::Constant(d, d, 1.0 / d);
  EXPECT_LT((second_moment(wtr) - projector).norm(), 1e-9);
  // Fitted on the training images only: the test images are transformed, not whitened.
  EXPECT_GT((second_moment(wte) - projector).norm(), 0.1);
  EXPECT_LT((ZcaWhitening::fit(train, 0.0).w - z.w).norm(), 1e-12);
  // Regularised: eigenvalues λ/(λ + ε·mean λ), all below 1.
  ZcaWhitening r = ZcaWhitening::fit(train, 0.1);
  Tensor rtr = train;
  r.apply_inplace(rtr);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> e(second_moment(rtr));
  EXPECT_LT(e.eigenvalues().maxCoeff(), 1.0);
  EXPECT_GT(e.eigenvalues().maxCoeff(), 0.5);
  // Images are centred and of unit norm before the whitening.
  Tensor n = train;
  normalize_images_inplace(n);
  double sum = 0, norm = 0;
  for (int64_t k = 0; k < d; ++k) sum += n.row(3)[k], norm += n.row(3)[k] * n.row(3)[k];
  EXPECT_NEAR(sum, 0.0, 1e-12);
  EXPECT_NEAR(norm, 1.0, 1e-12);
}

TEST(CifarBench, FlipsDoubleTheTrainingSetWithMirrorImages) {
  const Tensor x = testing::random_tensor({3, 2, 5, 3}, 4);
  const Tensor f = with_flips(x);
  ASSERT_EQ(f.rows(), 6);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t y = 0; y < 2; ++y)
      for (int64_t j = 0; j < 5; ++j)
        for (int64_t c = 0; c < 3; ++c) {
          const double v = x.data[((i * 2 + y) * 5 + j) * 3 + c];
          EXPECT_EQ(f.data[((i * 2 + y) * 5 + j) * 3 + c], v);            // the originals first
          EXPECT_EQ(f.data[(((i + 3) * 2 + y) * 5 + (4 - j)) * 3 + c], v);  // then their mirrors
        }
  EXPECT_EQ(flip_horizontal(flip_horizontal(x)).data, x.data);
}

TEST(CifarBench, KernelBlocksEqualTheBlocksOfTheFullKernel) {
  const Tensor train = testing::random_tensor({5, 8, 8, 2}, 5), test = testing::random_tensor({3, 8, 8, 2}, 6);
  Tensor all({8, 8, 8, 2});
  std::copy(train.data.begin(), train.data.end(), all.data.begin());
  std::copy(test.data.begin(), test.data.end(), all.data.begin() + train.size());
  std::vector<int64_t> tr = {0, 1, 2, 3, 4}, te = {5, 6, 7};
  for (const char* arch : {"cntk_gap(3)", "cntk_v(2)",
                           "conv(3), relu, avgpool(2, stride=2), conv(3), relu, avgpool(4, stride=4), flatten, dense"}) {
    const CifarKernelBlocks b = cifar_kernel_blocks(arch, train, test, testing::options());
    const Kernels full = compute_kernels(arch, all, nullptr, testing::options());
    EXPECT_LT(testing::rel_frobenius(b.train_train.ntk, submatrix(full.ntk, tr, tr)), 1e-12) << arch;
    EXPECT_LT(testing::rel_frobenius(b.test_train.ntk, submatrix(full.ntk, te, tr)), 1e-12) << arch;
    EXPECT_LT(testing::rel_frobenius(b.train_train.nngp, submatrix(full.nngp, tr, tr)), 1e-12) << arch;
    EXPECT_LT(testing::rel_frobenius(b.test_train.nngp, submatrix(full.nngp, te, tr)), 1e-12) << arch;
    EXPECT_EQ(b.test_train.ntk.rows(), 3);
    EXPECT_EQ(b.test_train.ntk.cols(), 5);
  }
}

TEST(CifarBench, CrossValidatedRidgeEqualsExplicitRefits) {
  // Leave-one-group-out (folds >= groups): the closed form must equal refitting without each group.
  const int n = 12, classes = 3;
  Matrix f = testing::random_matrix(n, 6, 7);
  Matrix k = f * f.transpose() + 0.1 * Matrix::Identity(n, n);
  std::vector<int> y;
  std::vector<int64_t> group;
  for (int i = 0; i < n; ++i) y.push_back(i % classes), group.push_back(i / 2);  // pairs, as image + flip
  const double rel = 0.05;
  RidgeChoice choice;
  const Matrix kt = testing::random_matrix(2, n, 8);
  ridge_cv_predict(k, kt, y, group, classes, {rel, rel}, 100, &choice);
  const double absolute = rel * k.diagonal().mean();
  int correct = 0;
  for (int g = 0; g < n / 2; ++g) {
    std::vector<int64_t> in, out;
    std::vector<int> yin;
    for (int i = 0; i < n; ++i) (group[i] == g ? out : in).push_back(i);
    for (int64_t i : in) yin.push_back(y[i]);
    RegOptions reg;
    reg.diag_reg = absolute;
    reg.absolute = true;
    const Matrix pred =
        submatrix(k, out, in) * cholesky_solve(submatrix(k, in, in), one_hot(yin, classes, -0.1, 0.9), reg);
    const std::vector<int> am = argmax_rows(pred);
    for (size_t j = 0; j < out.size(); ++j) correct += am[j] == y[out[j]];
  }
  EXPECT_DOUBLE_EQ(choice.cv_accuracy, correct / static_cast<double>(n));
  EXPECT_EQ(choice.diag_reg, rel);
  // The chosen ridge's test scores are those of the full fit.
  RegOptions reg;
  reg.diag_reg = rel;
  const Matrix direct = kt * cholesky_solve(k, one_hot(y, classes, -0.1, 0.9), reg);
  EXPECT_LT((ridge_cv_predict(k, kt, y, group, classes, {rel, rel}, 100, nullptr) - direct).norm(),
            1e-10 * direct.norm());
}

}  // namespace
}  // namespace ntk
