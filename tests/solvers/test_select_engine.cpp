// One-pass model selection against separate kernel computations: the kernels fc_kernels_all_depths returns
// for every (depth, L') equal compute_kernels on the written-out architecture with trainable=false bottom
// layers, and the grid scores equal those of separately computed kernels.
#include <gtest/gtest.h>

#include <string>

#include "ntk/error.h"
#include "ntk/kernel.h"
#include "ntk/solvers.h"
#include "solvers/solvers_test_util.h"

namespace ntk {
namespace {

std::string fc_arch(int depth, int fixed, double w, double b) {
  std::string s;
  for (int l = 1; l <= depth; ++l) {
    s += strprintf("dense(w_std=%.17g, b_std=%.17g%s), relu, ", w, b, l <= fixed ? ", trainable=false" : "");
  }
  return s + strprintf("dense(w_std=%.17g, b_std=%.17g)", w, b);
}

Tensor to_tensor(const Matrix& m) {
  return Tensor({m.rows(), m.cols()}, std::vector<double>(m.data(), m.data() + m.size()));
}

TEST(SolversSelect, OnePassKernelsEqualSeparateComputations) {
  const Matrix xm = test::random_matrix(14, 5, 91);
  const Tensor x = to_tensor(xm);
  const int max_depth = 4;
  const double w = 1.3, b = 0.2;
  Context ctx;
  ctx.threads = 2;
  std::vector<DepthKernel> all = fc_kernels_all_depths(x, nullptr, max_depth, "relu", w, b, ctx);
  ASSERT_EQ(all.size(), static_cast<size_t>(max_depth * (max_depth + 3) / 2));
  KernelOptions opt;
  opt.ctx = ctx;
  for (const DepthKernel& k : all) {
    const std::string arch = fc_arch(k.depth, k.fixed, w, b);
    Kernels sep = compute_kernels(arch, x, nullptr, opt);
    const double scale = sep.ntk.cwiseAbs().maxCoeff();
    EXPECT_LT((k.ntk - sep.ntk).cwiseAbs().maxCoeff(), 1e-10 * scale) << arch;
    EXPECT_LT((k.nngp - sep.nngp).cwiseAbs().maxCoeff(), 1e-10 * scale) << arch;
  }
}

TEST(SolversSelect, OnePassSelectionEqualsSeparateSelections) {
  const Matrix xm = test::random_matrix(48, 4, 92);
  const Tensor x = to_tensor(xm);
  std::vector<int> labels;
  for (int i = 0; i < 48; ++i) labels.push_back(xm(i, 0) * xm(i, 1) > 0 ? 1 : (xm(i, 2) > 0.7 ? 2 : 0));
  Context ctx;
  ctx.threads = 2;
  const int max_depth = 3;
  std::vector<DepthKernel> all = fc_kernels_all_depths(x, nullptr, max_depth, "relu", 1.0, 0.1, ctx);
  std::vector<DepthKernel> separate;
  KernelOptions opt;
  opt.ctx = ctx;
  for (const DepthKernel& k : all) {
    DepthKernel s;
    s.depth = k.depth;
    s.fixed = k.fixed;
    s.ntk = compute_kernels(fc_arch(k.depth, k.fixed, 1.0, 0.1), x, nullptr, opt).ntk;
    separate.push_back(std::move(s));
  }
  auto splits = kfold_splits(48, 3, true, 4);
  for (SelectMethod m : {SelectMethod::kSvm, SelectMethod::kRegression}) {
    SelectOptions o;
    o.method = m;
    o.values = m == SelectMethod::kSvm ? std::vector<double>{0.1, 10, 1000} : std::vector<double>{1e-3, 1e-1};
    o.ctx = ctx;
    Selection one = select_model(all, labels, Matrix(), splits, o);
    Selection sep = select_model(separate, labels, Matrix(), splits, o);
    ASSERT_EQ(one.grid.size(), sep.grid.size());
    for (size_t i = 0; i < one.grid.size(); ++i) {
      EXPECT_EQ(one.grid[i].depth, sep.grid[i].depth);
      EXPECT_EQ(one.grid[i].fixed, sep.grid[i].fixed);
      EXPECT_NEAR(one.grid[i].score, sep.grid[i].score, 1e-12)
          << select_method_name(m) << " grid point " << i;
    }
    EXPECT_EQ(one.best.depth, sep.best.depth);
    EXPECT_EQ(one.best.fixed, sep.best.fixed);
    EXPECT_EQ(one.best.value, sep.best.value);
  }
}

}  // namespace
}  // namespace ntk
