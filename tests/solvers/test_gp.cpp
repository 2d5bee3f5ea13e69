// NNGP posterior and NTK-GP ensemble against direct formulas and a Monte Carlo ensemble.
#include <gtest/gtest.h>

#include <unsupported/Eigen/MatrixFunctions>

#include "ntk/arch.h"
#include "ntk/error.h"
#include "ntk/kernel.h"
#include "ntk/network.h"
#include "ntk/solvers.h"
#include "solvers/solvers_test_util.h"

namespace ntk {
namespace {

using test::random_matrix;
using test::rbf_kernel;

TEST(SolversGp, NngpPosteriorMatchesDirectFormula) {
  Matrix xd = random_matrix(25, 3, 41), xt = random_matrix(9, 3, 42);
  Matrix kdd = rbf_kernel(xd, xd, 1.2, 0.3), ktd = rbf_kernel(xt, xd, 1.2, 0.3),
         ktt = rbf_kernel(xt, xt, 1.2, 0.3);
  Matrix y = random_matrix(25, 2, 43);
  RegOptions reg;
  reg.diag_reg = 0.05;
  reg.absolute = true;
  GpPrediction gp = nngp_posterior(kdd, ktd, y, &ktt, nullptr, reg);
  Eigen::MatrixXd inv = (Eigen::MatrixXd(kdd) + 0.05 * Eigen::MatrixXd::Identity(25, 25)).inverse();
  Eigen::MatrixXd mean = Eigen::MatrixXd(ktd) * inv * Eigen::MatrixXd(y);
  Eigen::MatrixXd cov = Eigen::MatrixXd(ktt) - Eigen::MatrixXd(ktd) * inv * Eigen::MatrixXd(ktd).transpose();
  EXPECT_LT((gp.mean - Matrix(mean)).cwiseAbs().maxCoeff(), 1e-10);
  EXPECT_LT((gp.covariance - Matrix(cov)).cwiseAbs().maxCoeff(), 1e-10);
  // Diagonal-only request gives the same variance.
  Vector diag = ktt.diagonal();
  GpPrediction gv = nngp_posterior(kdd, ktd, y, nullptr, &diag, reg);
  EXPECT_EQ(gv.covariance.size(), 0);
  EXPECT_LT((gv.variance - cov.diagonal().cwiseMax(0.0)).cwiseAbs().maxCoeff(), 1e-10);
  // Mean only.
  GpPrediction gm = nngp_posterior(kdd, ktd, y);
  EXPECT_EQ(gm.variance.size(), 0);
  EXPECT_THROW(nngp_posterior(kdd, ktd.leftCols(5), y), Error);
}

struct EnsembleProblem {
  Matrix ntk_dd, ntk_td, nngp_dd, nngp_td, nngp_tt, y;
};

EnsembleProblem make_ensemble_problem(int n, int m) {
  Matrix xd = random_matrix(n, 3, 51), xt = random_matrix(m, 3, 52);
  EnsembleProblem p;
  p.ntk_dd = rbf_kernel(xd, xd, 1.0, 1.0);
  p.ntk_td = rbf_kernel(xt, xd, 1.0, 1.0);
  p.nngp_dd = 0.5 * rbf_kernel(xd, xd, 2.0, 0.2);
  p.nngp_td = 0.5 * rbf_kernel(xt, xd, 2.0, 0.2);
  p.nngp_tt = 0.5 * rbf_kernel(xt, xt, 2.0, 0.2);
  p.y = random_matrix(n, 1, 53);
  return p;
}

TEST(SolversGp, NtkEnsembleMatchesDirectFormula) {
  EnsembleProblem p = make_ensemble_problem(20, 7);
  const double lr = 0.5;
  NtkGpEnsemble ens(p.ntk_dd, p.nngp_dd, lr);
  const Eigen::MatrixXd th = p.ntk_dd, thx = p.ntk_td, k = p.nngp_dd, kx = p.nngp_td, kxx = p.nngp_tt;
  const Eigen::MatrixXd id = Eigen::MatrixXd::Identity(20, 20);
  Vector diag = p.nngp_tt.diagonal();
  for (double t : {0.0, 0.3, 3.0, kInfiniteTime}) {
    Eigen::MatrixXd a = std::isinf(t) ? Eigen::MatrixXd(th.inverse())
                                      : Eigen::MatrixXd(th.inverse() * (id - (-lr * t * th).exp()));
    Eigen::MatrixXd mean = thx * a * Eigen::MatrixXd(p.y);
    // Lee et al. 2019 eq. (16).
    Eigen::MatrixXd cov =
        kxx + thx * a * k * a * thx.transpose() - (thx * a * kx.transpose() + kx * a * thx.transpose());
    GpPrediction g = ens.predict(t, p.ntk_td, p.nngp_td, p.y, &p.nngp_tt);
    EXPECT_LT((g.mean - Matrix(mean)).cwiseAbs().maxCoeff(), 1e-7) << "t = " << t;
    EXPECT_LT((g.covariance - Matrix(cov)).cwiseAbs().maxCoeff(), 1e-7) << "t = " << t;
    GpPrediction gv = ens.predict(t, p.ntk_td, p.nngp_td, p.y, nullptr, &diag);
    EXPECT_LT((gv.variance - cov.diagonal().cwiseMax(0.0)).cwiseAbs().maxCoeff(), 1e-7) << "t = " << t;
  }
  // t = 0: the prior, mean 0 and covariance K**.
  GpPrediction g0 = ens.predict(0.0, p.ntk_td, p.nngp_td, p.y, &p.nngp_tt);
  EXPECT_LT(g0.mean.cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_LT((g0.covariance - p.nngp_tt).cwiseAbs().maxCoeff(), 1e-12);
}

TEST(SolversGp, NngpTrainedReadoutEnsembleEqualsPosteriorAtInfinity) {
  // Training only the readout (Θ = K) to convergence gives the noiseless NNGP posterior (Lee et al. 2019
  // §2.3).
  EnsembleProblem p = make_ensemble_problem(15, 6);
  NtkGpEnsemble ens(p.nngp_dd, p.nngp_dd, 1.0);
  GpPrediction a = ens.predict(kInfiniteTime, p.nngp_td, p.nngp_td, p.y, &p.nngp_tt);
  GpPrediction b = nngp_posterior(p.nngp_dd, p.nngp_td, p.y, &p.nngp_tt);
  EXPECT_LT((a.mean - b.mean).cwiseAbs().maxCoeff(), 1e-8);
  EXPECT_LT((a.covariance - b.covariance).cwiseAbs().maxCoeff(), 1e-8);
}

TEST(SolversGp, NtkEnsembleMatchesMonteCarloOfLinearisedNetworks) {
  // Function-space Monte Carlo: draw f0 ~ GP(0, K) jointly on train and test inputs and evolve each draw with
  // the linearised dynamics f_t = f0 + Θ(x,X) A (Y − f0(X)); the sample mean / covariance must match the
  // closed form.
  EnsembleProblem p = make_ensemble_problem(12, 5);
  const int n = 12, m = 5, samples = 40000;
  const double lr = 1.0, t = 0.8;
  Eigen::MatrixXd joint(n + m, n + m);
  joint.topLeftCorner(n, n) = p.nngp_dd;
  joint.topRightCorner(n, m) = Eigen::MatrixXd(p.nngp_td).transpose();
  joint.bottomLeftCorner(m, n) = p.nngp_td;
  joint.bottomRightCorner(m, m) = p.nngp_tt;
  joint.diagonal().array() += 1e-10;
  Eigen::MatrixXd l = joint.llt().matrixL();
  Eigen::MatrixXd z = random_matrix(n + m, samples, 54);
  Eigen::MatrixXd f0 = l * z;  // columns are draws
  GradientFlow flow(p.ntk_dd, lr);
  Eigen::MatrixXd residual = -f0.topRows(n);
  residual.colwise() += Eigen::VectorXd(p.y.col(0));
  Eigen::MatrixXd ft =
      f0.bottomRows(m) + Eigen::MatrixXd(p.ntk_td) * Eigen::MatrixXd(flow.apply(t, residual));
  Eigen::VectorXd mc_mean = ft.rowwise().mean();
  Eigen::MatrixXd centred = ft.colwise() - mc_mean;
  Eigen::MatrixXd mc_cov = centred * centred.transpose() / (samples - 1);

  NtkGpEnsemble ens(p.ntk_dd, p.nngp_dd, lr);
  GpPrediction g = ens.predict(t, p.ntk_td, p.nngp_td, p.y, &p.nngp_tt);
  for (int i = 0; i < m; ++i) {
    const double sd = std::sqrt(g.covariance(i, i) / samples);
    EXPECT_NEAR(mc_mean(i), g.mean(i, 0), 5 * sd + 1e-12) << "test point " << i;
    for (int j = 0; j < m; ++j) {
      // Var of a sample covariance: (Σii Σjj + Σij²) / samples.
      const double se = std::sqrt(
          (g.covariance(i, i) * g.covariance(j, j) + g.covariance(i, j) * g.covariance(i, j)) / samples);
      EXPECT_NEAR(mc_cov(i, j), g.covariance(i, j), 5 * se + 1e-12) << "entry " << i << "," << j;
    }
  }
}

// An ensemble of finite, actually trained wide networks (include/ntk/network.h): M networks with independent
// initialisations, each trained by full-batch gradient descent on ½||f(X) − Y||²; the sample mean and
// covariance of their test outputs must match the closed-form NTK-GP ensemble within Monte Carlo error plus a
// finite-width allowance.
TEST(SolversGp, NtkEnsembleMatchesTrainedFiniteNetworks) {
  const std::string arch = "dense(w_std=1.5, b_std=0.1), relu, dense(w_std=1.5, b_std=0.1)";
  const int n = 6, m = 3, d = 3, networks = 300, steps = 40;
  const int64_t width = 1024;
  Matrix xm = random_matrix(n + m, d, 61);
  Tensor x({n + m, d}, std::vector<double>(xm.data(), xm.data() + xm.size()));
  Tensor xtr = x.slice_rows(0, n), xte = x.slice_rows(n, n + m);
  Matrix y = random_matrix(n, 1, 62);
  KernelOptions opt;
  Kernels k = compute_kernels(arch, x, nullptr, opt);
  std::vector<int64_t> tr = {0, 1, 2, 3, 4, 5}, te = {6, 7, 8};
  const Matrix ntk_dd = submatrix(k.ntk, tr, tr), ntk_td = submatrix(k.ntk, te, tr);
  const Matrix nngp_dd = submatrix(k.nngp, tr, tr), nngp_td = submatrix(k.nngp, te, tr),
               nngp_tt = submatrix(k.nngp, te, te);
  const double lr =
      0.5 / Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(Eigen::MatrixXd(ntk_dd)).eigenvalues().maxCoeff();
  NtkGpEnsemble ens(ntk_dd, nngp_dd, lr);
  GpPrediction g = ens.predict_steps(steps, ntk_td, nngp_td, y, &nngp_tt);

  Eigen::MatrixXd outs(m, networks);
  const ExampleShape shape = example_shape_of(xtr, "x");
  for (int s = 0; s < networks; ++s) {
    Network net(arch, width, shape, Parameterization::kNtk, 1000 + s);
    for (int step = 0; step < steps; ++step) {
      Matrix grad_out = net.apply(xtr) - y;
      net.add_scaled(net.gradient(xtr, grad_out), -lr);
    }
    outs.col(s) = net.apply(xte).col(0);
  }
  Eigen::VectorXd mean = outs.rowwise().mean();
  Eigen::MatrixXd centred = outs.colwise() - mean;
  Eigen::MatrixXd cov = centred * centred.transpose() / (networks - 1);
  const double scale = nngp_tt.diagonal().maxCoeff();
  for (int i = 0; i < m; ++i) {
    const double sd = std::sqrt(g.covariance(i, i) / networks);
    // Monte Carlo error (4 sd) plus a 1/sqrt(width)-sized allowance for finite-width corrections.
    EXPECT_NEAR(mean(i), g.mean(i, 0), 4 * sd + 0.05 * std::sqrt(scale)) << "test point " << i;
    for (int j = 0; j < m; ++j) {
      const double se = std::sqrt(
          (g.covariance(i, i) * g.covariance(j, j) + g.covariance(i, j) * g.covariance(i, j)) / networks);
      EXPECT_NEAR(cov(i, j), g.covariance(i, j), 4 * se + 0.05 * scale) << "entry " << i << "," << j;
    }
  }
}

}  // namespace
}  // namespace ntk
