// Conjugate gradient: reaches a relative residual of 1e-8 and the Cholesky solution on an NTK, with fewer
// iterations preconditioned than not, the same from a kernel file as from memory, and a clear error when it
// cannot converge in the iterations allowed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/test_util.h"
#include "ntk/arch.h"
#include "ntk/cg.h"
#include "ntk/error.h"
#include "ntk/io.h"
#include "ntk/kernel_file.h"
#include "ntk/solvers.h"

namespace ntk {
namespace {

Matrix ntk_kernel(int64_t n) {
  const Tensor x = testing::random_tensor({n, 8}, 21);
  return compute_kernels(Architecture::parse("dense(b_std=0.2), relu, dense(b_std=0.2), relu, dense"), x,
                         nullptr, testing::options())
      .ntk;
}

TEST(ConjugateGradient, ReachesTheCholeskySolution) {
  const Matrix k = ntk_kernel(300);
  const Matrix b = testing::random_matrix(300, 3, 22);
  RegOptions reg;
  reg.diag_reg = 1e-3;
  const Matrix exact = cholesky_solve(k, b, reg);
  DenseKernelOperator op(k);
  CgOptions opt;
  opt.preconditioner_rank = 60;
  CgReport with, without;
  const Matrix x = conjugate_gradient_solve(op, b, reg, opt, &with);
  EXPECT_TRUE(with.converged);
  EXPECT_LE(with.final_residual, 1e-8);
  const double sigma = reg.diag_reg * k.diagonal().mean();
  Matrix a = k;
  a.diagonal().array() += sigma;
  const Matrix r = b - a * x;
  for (int c = 0; c < 3; ++c) EXPECT_LE(r.col(c).norm(), 1e-8 * b.col(c).norm());
  EXPECT_LT((x - exact).norm(), 1e-5 * exact.norm());
  EXPECT_EQ(with.residuals.size(), static_cast<size_t>(with.iterations) + 1);
  opt.preconditioner_rank = 0;
  conjugate_gradient_solve(op, b, reg, opt, &without);
  EXPECT_TRUE(without.converged);
  EXPECT_LT(with.iterations, without.iterations) << with.iterations << " vs " << without.iterations;
}

TEST(ConjugateGradient, SaysWhenItDoesNotConverge) {
  const Matrix k = ntk_kernel(200);
  const Matrix b = testing::random_matrix(200, 1, 23);
  RegOptions reg;
  reg.diag_reg = 1e-8;
  CgOptions opt;
  opt.preconditioner_rank = 0;
  opt.max_iterations = 5;
  DenseKernelOperator op(k);
  try {
    conjugate_gradient_solve(op, b, reg, opt);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("did not converge"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("max_iterations"), std::string::npos) << e.message();
  }
  opt.throw_if_not_converged = false;
  CgReport rep;
  conjugate_gradient_solve(op, b, reg, opt, &rep);
  EXPECT_FALSE(rep.converged);
  EXPECT_GT(rep.final_residual, 1e-8);
}

TEST(ConjugateGradient, KernelFileGivesTheSameIteratesAsMemory) {
  const Matrix k = ntk_kernel(150);
  const Matrix b = testing::random_matrix(150, 2, 24);
  const std::string p =
      (std::filesystem::temp_directory_path() / ("ntk_cg_" + std::to_string(getpid()) + ".npy")).string();
  io::save_npy(p, k.data(), {150, 150});
  RegOptions reg;
  reg.diag_reg = 1e-4;
  CgOptions opt;
  opt.preconditioner_rank = 20;
  opt.panel_rows = 32;
  const Matrix from_memory = conjugate_gradient_solve(DenseKernelOperator(k), b, reg, opt);
  Matrix from_file;
  {
    KernelFile f(p);
    EXPECT_EQ(f.rows(), 150);
    from_file = conjugate_gradient_solve(f, b, reg, opt);
  }
  std::filesystem::remove(p);
  EXPECT_EQ((from_file - from_memory).cwiseAbs().maxCoeff(), 0.0);
}

}  // namespace
}  // namespace ntk
