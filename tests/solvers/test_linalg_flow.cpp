// Cholesky / eigen solves, jitter escalation, gradient flow and discrete gradient descent.
#include <gtest/gtest.h>

#include <unsupported/Eigen/MatrixFunctions>

#include "ntk/error.h"
#include "ntk/solvers.h"
#include "solvers/solvers_test_util.h"

namespace ntk {
namespace {

using test::random_matrix;
using test::rbf_kernel;

struct Problem {
  Matrix x_train, x_test, k_dd, k_td, y;
};

Problem make_problem(int n = 30, int m = 12, int d = 4, int outputs = 3) {
  Problem p;
  p.x_train = random_matrix(n, d, 1);
  p.x_test = random_matrix(m, d, 2);
  p.k_dd = rbf_kernel(p.x_train, p.x_train, 1.5, 0.5);
  p.k_td = rbf_kernel(p.x_test, p.x_train, 1.5, 0.5);
  p.y = random_matrix(n, outputs, 3);
  return p;
}

TEST(SolversLinalg, CholeskyMatchesEigenAtInfiniteTime) {
  Problem p = make_problem();
  RegOptions reg;
  reg.diag_reg = 1e-3;
  GradientFlow flow(p.k_dd, 1.0, reg);
  Matrix chol = flow.predict_test(kInfiniteTime, p.k_td, p.y);
  // Θ⁻¹ through the eigendecomposition of the same regularised matrix.
  SymmetricEigen eig(p.k_dd, reg);
  Matrix spectral = p.k_td * eig.apply([](double l) { return 1.0 / l; }, p.y);
  EXPECT_LT((chol - spectral).cwiseAbs().maxCoeff(), 1e-9 * spectral.cwiseAbs().maxCoeff());
  // And the eigen-form gradient flow converges to it for large t.
  Matrix late = flow.predict_test(1e7, p.k_td, p.y);
  EXPECT_LT((chol - late).cwiseAbs().maxCoeff(), 1e-7 * spectral.cwiseAbs().maxCoeff());
  // Against a dense direct solve.
  Matrix kreg = p.k_dd;
  kreg.diagonal().array() += 1e-3 * p.k_dd.diagonal().mean();
  Matrix direct = p.k_td * Eigen::MatrixXd(kreg).ldlt().solve(Eigen::MatrixXd(p.y));
  EXPECT_LT((chol - direct).cwiseAbs().maxCoeff(), 1e-9 * direct.cwiseAbs().maxCoeff());
  EXPECT_EQ(flow.info().jitter_steps, 0);
  EXPECT_TRUE(flow.info().warning.empty());
}

TEST(SolversLinalg, RelativeAndAbsoluteDiagReg) {
  Problem p = make_problem();
  RegOptions rel;
  rel.diag_reg = 0.1;
  RegOptions abs;
  abs.diag_reg = 0.1 * p.k_dd.diagonal().mean();
  abs.absolute = true;
  SolveInfo i1, i2;
  Matrix a = cholesky_solve(p.k_dd, p.y, rel, &i1);
  Matrix b = cholesky_solve(p.k_dd, p.y, abs, &i2);
  EXPECT_NEAR(i1.diag_added, i2.diag_added, 1e-15);
  EXPECT_LT((a - b).cwiseAbs().maxCoeff(), 1e-12);
}

TEST(SolversLinalg, JitterEscalatesOnSingularMatrix) {
  // Rank 2 Gram matrix of 12 points: exactly singular, so the unjittered factorisation fails.
  Matrix x = random_matrix(12, 2, 7);
  Matrix k = x * x.transpose();
  Matrix y = random_matrix(12, 1, 8);
  RegOptions reg;
  // The solvers never print: the warning comes back in the info, for the front ends to show.
  ::testing::internal::CaptureStderr();
  Cholesky chol(k, reg);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_GT(chol.info().jitter_steps, 0);
  EXPECT_GT(chol.info().jitter, 0.0);
  EXPECT_NE(chol.info().warning.find("not numerically positive definite"), std::string::npos);
  Matrix sol = chol.solve(y);
  EXPECT_TRUE(sol.allFinite());
  // The jitter actually used makes the factor exact for K + jitter·I.
  Matrix kj = k;
  kj.diagonal().array() += chol.info().diag_added;
  EXPECT_LT((kj * sol - y).cwiseAbs().maxCoeff(), 1e-6 * y.cwiseAbs().maxCoeff() * kj.norm());
}

TEST(SolversLinalg, IndefiniteMatrixThrowsInsteadOfNaN) {
  Matrix k(2, 2);
  k << 1.0, 2.0, 2.0, 1.0;  // eigenvalues 3 and −1: no small jitter repairs it
  RegOptions reg;
  EXPECT_THROW(Cholesky(k, reg), Error);
  Matrix bad = Matrix::Identity(3, 3);
  bad(1, 2) = bad(2, 1) = std::nan("");
  EXPECT_THROW(Cholesky(bad, reg), Error);
  Matrix neg = -Matrix::Identity(3, 3);
  EXPECT_THROW(Cholesky(neg, reg), Error);
  EXPECT_THROW(cholesky_solve(Matrix::Identity(3, 3), Matrix::Ones(4, 1)), Error);
}

TEST(SolversFlow, MatchesMatrixExponential) {
  Problem p = make_problem();
  const double lr = 0.7;
  GradientFlow flow(p.k_dd, lr);
  Matrix f0_train = 0.3 * random_matrix(p.y.rows(), p.y.cols(), 11);
  Matrix f0_test = 0.3 * random_matrix(p.k_td.rows(), p.y.cols(), 12);
  const Eigen::MatrixXd theta = p.k_dd;
  const Eigen::MatrixXd theta_inv = theta.inverse();
  const Eigen::MatrixXd identity = Eigen::MatrixXd::Identity(theta.rows(), theta.cols());
  for (double t : {0.0, 0.1, 1.0, 10.0}) {
    Eigen::MatrixXd decay = (-lr * t * theta).exp();
    Eigen::MatrixXd residual = p.y - f0_train;
    Eigen::MatrixXd expect_train = p.y + decay * (f0_train - p.y);
    Eigen::MatrixXd expect_test = f0_test + p.k_td * theta_inv * (identity - decay) * residual;
    Matrix got_train = flow.predict_train(t, p.y, &f0_train);
    Matrix got_test = flow.predict_test(t, p.k_td, p.y, &f0_train, &f0_test);
    EXPECT_LT((got_train - Matrix(expect_train)).cwiseAbs().maxCoeff(), 1e-8) << "t = " << t;
    EXPECT_LT((got_test - Matrix(expect_test)).cwiseAbs().maxCoeff(), 1e-6) << "t = " << t;
  }
  // t = 0 is the initial function exactly; t = ∞ on the training set interpolates the targets.
  EXPECT_LT((flow.predict_train(0.0, p.y, &f0_train) - f0_train).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_LT((flow.predict_train(kInfiniteTime, p.y, &f0_train) - p.y).cwiseAbs().maxCoeff(), 1e-6);
  EXPECT_THROW(flow.predict_train(-1.0, p.y), Error);
}

TEST(SolversFlow, DiscreteStepsMatchIteration) {
  Problem p = make_problem();
  const double lr = 0.9 / p.k_dd.diagonal().sum();  // a stable step
  Matrix f0_train = 0.3 * random_matrix(p.y.rows(), p.y.cols(), 21);
  Matrix f0_test = 0.3 * random_matrix(p.k_td.rows(), p.y.cols(), 22);
  GradientFlow flow(p.k_dd, lr);
  for (int64_t k : {0, 1, 7, 250}) {
    GdTrajectory it = gradient_descent_steps(p.k_dd, &p.k_td, p.y, lr, k, &f0_train, &f0_test);
    Matrix train = flow.predict_train_steps(k, p.y, &f0_train);
    Matrix test = flow.predict_test_steps(k, p.k_td, p.y, &f0_train, &f0_test);
    EXPECT_LT((train - it.train).cwiseAbs().maxCoeff(), 1e-8) << "k = " << k;
    EXPECT_LT((test - it.test).cwiseAbs().maxCoeff(), 1e-8) << "k = " << k;
  }
  // Large steps too (the eigen form is exact for any η, including divergent ones within double range).
  const double big = 2.5 / p.k_dd.diagonal().sum();
  GradientFlow flow_big(p.k_dd, big);
  GdTrajectory it = gradient_descent_steps(p.k_dd, &p.k_td, p.y, big, 20);
  EXPECT_LT((flow_big.predict_train_steps(20, p.y) - it.train).cwiseAbs().maxCoeff(), 1e-8);
}

TEST(SolversFlow, NegativeEigenvaluesAreReportedAndClipped) {
  Matrix x = random_matrix(10, 2, 31);
  Matrix k = x * x.transpose();
  k.diagonal().array() -= 1e-3;  // slightly indefinite
  RegOptions reg;
  GradientFlow flow(k, 1.0, reg);
  Matrix y = random_matrix(10, 1, 32);
  ::testing::internal::CaptureStderr();
  Matrix f = flow.predict_train(1e3, y);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_TRUE(f.allFinite());
  EXPECT_LT(flow.info().min_eigenvalue, 0.0);
  EXPECT_NE(flow.info().warning.find("negative eigenvalue"), std::string::npos);
}

}  // namespace
}  // namespace ntk
