// Preconditioned conjugate gradient on kernel operators (ntk/cg.h).
#include "ntk/cg.h"

#include <omp.h>

#include <Eigen/Cholesky>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <type_traits>

#include "ntk/error.h"
#include "ntk/parallel.h"

namespace ntk {

// Row by row, column by column, one dot product each: no BLAS and no threads inside, so the result does not
// depend on how many threads or ranks share the panels (a threaded GEMM's does).
template <class T>
static void multiply_panel_impl(const T* panel, int64_t rows, int64_t cols, const Matrix& x, Matrix& y,
                                int64_t y_row) {
  const Matrix xt = x.transpose();  // k x cols, rows contiguous
  Eigen::VectorXd row(cols);
  for (int64_t i = 0; i < rows; ++i) {
    if constexpr (std::is_same_v<T, double>) {
      Eigen::Map<const Eigen::VectorXd> r(panel + i * cols, cols);
      for (int64_t c = 0; c < xt.rows(); ++c) y(y_row + i, c) = r.dot(xt.row(c).transpose());
    } else {
      row = Eigen::Map<const Eigen::VectorXf>(panel + i * cols, cols).template cast<double>();
      for (int64_t c = 0; c < xt.rows(); ++c) y(y_row + i, c) = row.dot(xt.row(c).transpose());
    }
  }
}

void multiply_panel(const double* panel, int64_t rows, int64_t cols, const Matrix& x, Matrix& y,
                    int64_t y_row) {
  multiply_panel_impl(panel, rows, cols, x, y, y_row);
}
void multiply_panel(const float* panel, int64_t rows, int64_t cols, const Matrix& x, Matrix& y,
                    int64_t y_row) {
  multiply_panel_impl(panel, rows, cols, x, y, y_row);
}

void DenseKernelOperator::multiply_rows(int64_t r0, int64_t r1, const Matrix& x, Matrix& y) const {
  multiply_panel(k_.data() + r0 * k_.cols(), r1 - r0, k_.cols(), x, y, r0);
}

void DenseKernelOperator::row(int64_t i, double* out) const {
  std::copy(k_.data() + i * k_.cols(), k_.data() + (i + 1) * k_.cols(), out);
}

Matrix multiply_shared(const KernelOperator& k, const Matrix& x, int64_t panel_rows,
                       const RowSharing& sharing) {
  NTK_THROW_IF_NOT(x.rows() == k.cols(), "the vectors have %lld rows, the kernel %lld columns",
                   static_cast<long long>(x.rows()), static_cast<long long>(k.cols()));
  NTK_THROW_IF_NOT(panel_rows >= 1, "panel_rows must be >= 1, got %lld", static_cast<long long>(panel_rows));
  Matrix y = Matrix::Zero(k.rows(), x.cols());
  const int64_t panels = (k.rows() + panel_rows - 1) / panel_rows;
  std::vector<int64_t> mine;
  for (int64_t p = sharing.rank; p < panels; p += sharing.size) mine.push_back(p);
  // One thread per panel, each product single-threaded (BLAS and Eigen do not thread inside a parallel
  // region): every row comes out the same whatever the threads and ranks.
  OmpExceptions errors;
  const int threads = sharing.threads > 0 ? sharing.threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (size_t i = 0; i < mine.size(); ++i)
    errors.run([&] {
      const int64_t p = mine[i];
      k.multiply_rows(p * panel_rows, std::min(k.rows(), (p + 1) * panel_rows), x, y);
    });
  errors.rethrow();
  if (sharing.size > 1 && sharing.sum_in_place) sharing.sum_in_place(y.data(), y.size());
  return y;
}

namespace {

// P = L Lᵀ + s I from a rank-k partial pivoted Cholesky of K; P⁻¹ v = (v − L (s I + LᵀL)⁻¹ Lᵀ v) / s. Every
// product is a fixed-order loop (no threaded BLAS), so all ranks and thread counts give the same P⁻¹ v.
class PivotedCholeskyPreconditioner {
 public:
  using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  PivotedCholeskyPreconditioner(const KernelOperator& k, int64_t rank, double diag_added, double mean_diag,
                                int threads)
      : threads_(threads) {
    const int64_t n = k.rows();
    Eigen::VectorXd d(n);
    for (int64_t i = 0; i < n; ++i) d(i) = k.diagonal(i);
    const double trace = d.sum();
    rank = std::min(rank, n);
    l_ = RowMat::Zero(n, rank);
    std::vector<double> row(static_cast<size_t>(n));
    int64_t m = 0;
    for (; m < rank; ++m) {
      Eigen::Index pivot = 0;
      const double dmax = d.maxCoeff(&pivot);
      // The rest of the kernel is negligible: a lower rank does as well.
      if (!(dmax > 1e-14 * trace)) break;
      k.row(pivot, row.data());
      const double scale = 1.0 / std::sqrt(dmax);
      const Eigen::VectorXd lp = l_.row(pivot).head(m).transpose();
#pragma omp parallel for schedule(static) num_threads(threads_)
      for (int64_t i = 0; i < n; ++i) {
        const double v = (row[static_cast<size_t>(i)] - l_.row(i).head(m).dot(lp.transpose())) * scale;
        l_(i, m) = v;
        d(i) = std::max(0.0, d(i) - v * v);
      }
      d(pivot) = 0;
    }
    l_.conservativeResize(n, m);
    // The shift: the regulariser when there is one (then P <= K + diag_reg I and the spectrum of P⁻¹A lies in
    // [1, 1 + |E| / diag_reg]); otherwise the mean of what the low-rank part leaves out.
    shift_ = diag_added > 0 ? diag_added : std::max(d.mean(), 1e-12 * mean_diag);
    // The k x k Cholesky of s I + LᵀL, by hand (k is small; LAPACK/Eigen blocking could thread).
    Eigen::MatrixXd small = gram(l_);
    small.diagonal().array() += shift_;
    c_ = Eigen::MatrixXd::Zero(m, m);
    for (int64_t j = 0; j < m; ++j) {
      double djj = small(j, j);
      for (int64_t q = 0; q < j; ++q) djj -= c_(j, q) * c_(j, q);
      NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, djj > 0,
                            "the preconditioner's %lld x %lld system is not positive definite",
                            static_cast<long long>(m), static_cast<long long>(m));
      c_(j, j) = std::sqrt(djj);
      for (int64_t i = j + 1; i < m; ++i) {
        double v = small(i, j);
        for (int64_t q = 0; q < j; ++q) v -= c_(i, q) * c_(j, q);
        c_(i, j) = v / c_(j, j);
      }
    }
  }
  int64_t rank() const {
    return l_.cols();
  }
  double shift() const {
    return shift_;
  }
  Eigen::MatrixXd apply(const Eigen::MatrixXd& v) const {
    const int64_t n = v.rows(), m = l_.cols(), cols = v.cols();
    if (m == 0) return v / shift_;
    // w = Lᵀ v, summed over fixed panels in order.
    const int64_t panel = 256, panels = (n + panel - 1) / panel;
    std::vector<Eigen::MatrixXd> part(static_cast<size_t>(panels));
#pragma omp parallel for schedule(static) num_threads(threads_)
    for (int64_t p = 0; p < panels; ++p) {
      Eigen::MatrixXd w = Eigen::MatrixXd::Zero(m, cols);
      for (int64_t i = p * panel; i < std::min(n, (p + 1) * panel); ++i)
        for (int64_t c = 0; c < cols; ++c) w.col(c) += l_.row(i).transpose() * v(i, c);
      part[static_cast<size_t>(p)] = std::move(w);
    }
    Eigen::MatrixXd w = Eigen::MatrixXd::Zero(m, cols);
    for (const auto& pw : part) w += pw;
    // (s I + LᵀL)⁻¹ w by the two triangular solves.
    for (int64_t c = 0; c < cols; ++c) {
      for (int64_t i = 0; i < m; ++i) {
        double t = w(i, c);
        for (int64_t q = 0; q < i; ++q) t -= c_(i, q) * w(q, c);
        w(i, c) = t / c_(i, i);
      }
      for (int64_t i = m - 1; i >= 0; --i) {
        double t = w(i, c);
        for (int64_t q = i + 1; q < m; ++q) t -= c_(q, i) * w(q, c);
        w(i, c) = t / c_(i, i);
      }
    }
    Eigen::MatrixXd out(n, cols);
#pragma omp parallel for schedule(static) num_threads(threads_)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < cols; ++c) out(i, c) = (v(i, c) - l_.row(i).dot(w.col(c).transpose())) / shift_;
    return out;
  }

 private:
  Eigen::MatrixXd gram(const RowMat& l) const {
    const int64_t n = l.rows(), m = l.cols(), panel = 256, panels = (n + panel - 1) / panel;
    std::vector<Eigen::MatrixXd> part(static_cast<size_t>(panels));
#pragma omp parallel for schedule(static) num_threads(threads_)
    for (int64_t p = 0; p < panels; ++p) {
      Eigen::MatrixXd g = Eigen::MatrixXd::Zero(m, m);
      for (int64_t i = p * panel; i < std::min(n, (p + 1) * panel); ++i)
        for (int64_t a = 0; a < m; ++a)
          for (int64_t b = 0; b <= a; ++b) g(a, b) += l(i, a) * l(i, b);
      part[static_cast<size_t>(p)] = std::move(g);
    }
    Eigen::MatrixXd g = Eigen::MatrixXd::Zero(m, m);
    for (const auto& pg : part) g += pg;
    for (int64_t a = 0; a < m; ++a)
      for (int64_t b = 0; b < a; ++b) g(b, a) = g(a, b);
    return g;
  }
  int threads_ = 1;
  RowMat l_;
  Eigen::MatrixXd c_;  // lower Cholesky factor of s I + LᵀL
  double shift_ = 1;
};

}  // namespace

Matrix conjugate_gradient_solve(const KernelOperator& k, const Matrix& b_in, const RegOptions& reg,
                                const CgOptions& options, CgReport* report_out, const RowSharing& sharing) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t n = k.rows();
  NTK_THROW_IF_NOT(n > 0 && k.cols() == n, "kernel matrix must be a non-empty square matrix, got %lld x %lld",
                   static_cast<long long>(n), static_cast<long long>(k.cols()));
  NTK_THROW_IF_NOT(b_in.rows() == n, "right-hand side has %lld rows, the kernel %lld",
                   static_cast<long long>(b_in.rows()), static_cast<long long>(n));
  NTK_THROW_IF_NOT(b_in.allFinite(), "right-hand side (targets) contains NaN or infinite values");
  NTK_THROW_IF_NOT(options.tolerance > 0 && options.tolerance < 1, "tolerance must be in (0, 1), got %g",
                   options.tolerance);
  NTK_THROW_IF_NOT(options.max_iterations >= 1, "max_iterations must be >= 1, got %d",
                   options.max_iterations);
  NTK_THROW_IF_NOT(options.preconditioner_rank >= 0, "preconditioner_rank must be >= 0, got %lld",
                   static_cast<long long>(options.preconditioner_rank));
  NTK_THROW_IF_NOT(std::isfinite(reg.diag_reg) && reg.diag_reg >= 0, "diag_reg must be >= 0, got %g",
                   reg.diag_reg);
  double mean_diag = 0;
  for (int64_t i = 0; i < n; ++i) mean_diag += k.diagonal(i);
  mean_diag /= static_cast<double>(n);
  NTK_THROW_IF_NOT(std::isfinite(mean_diag) && mean_diag > 0,
                   "kernel matrix (%lld x %lld) has a non-positive mean diagonal %g; not a kernel",
                   static_cast<long long>(n), static_cast<long long>(n), mean_diag);
  const double sigma = reg.absolute ? reg.diag_reg : reg.diag_reg * mean_diag;

  CgReport report;
  report.diag_added = sigma;
  auto apply_a = [&](const Eigen::MatrixXd& x) -> Eigen::MatrixXd {
    Matrix xr = x;
    Matrix y = multiply_shared(k, xr, options.panel_rows, sharing);
    Eigen::MatrixXd out = y;
    out += sigma * x;
    return out;
  };
  const bool precondition = options.preconditioner_rank > 0;
  std::unique_ptr<PivotedCholeskyPreconditioner> pre;
  if (precondition) {
    pre = std::make_unique<PivotedCholeskyPreconditioner>(
        k, options.preconditioner_rank, sigma, mean_diag,
        sharing.threads > 0 ? sharing.threads : omp_get_max_threads());
    report.preconditioner_rank = pre->rank();
    report.shift = pre->shift();
  }
  auto apply_p = [&](const Eigen::MatrixXd& r) -> Eigen::MatrixXd { return pre ? pre->apply(r) : r; };

  const Eigen::MatrixXd b = b_in;
  const int64_t m = b.cols();
  Eigen::VectorXd bnorm = b.colwise().norm().transpose();
  for (int64_t c = 0; c < m; ++c)
    if (bnorm(c) == 0) bnorm(c) = 1;  // x = 0 solves it: its residual is 0 from the start
  Eigen::MatrixXd x = Eigen::MatrixXd::Zero(n, m), r = b, z = apply_p(r), p = z;
  Eigen::VectorXd rz = (r.array() * z.array()).colwise().sum().transpose();
  auto relative = [&](const Eigen::MatrixXd& res) {
    return (res.colwise().norm().transpose().array() / bnorm.array()).maxCoeff();
  };
  report.residuals.push_back(relative(r));
  std::vector<bool> done(static_cast<size_t>(m), false);
  int it = 0;
  for (int restart = 0;; ++restart) {
    for (++it; it <= options.max_iterations && report.residuals.back() > options.tolerance; ++it) {
      const Eigen::MatrixXd q = apply_a(p);
      for (int64_t c = 0; c < m; ++c) {
        if (done[static_cast<size_t>(c)]) continue;
        const double pq = p.col(c).dot(q.col(c));
        if (!(pq > 0)) {  // breakdown: A is not positive definite along p (numerically)
          done[static_cast<size_t>(c)] = true;
          continue;
        }
        const double alpha = rz(c) / pq;
        x.col(c) += alpha * p.col(c);
        r.col(c) -= alpha * q.col(c);
        if (r.col(c).norm() <= options.tolerance * bnorm(c)) done[static_cast<size_t>(c)] = true;
      }
      report.iterations = it;
      report.residuals.push_back(relative(r));
      if (std::all_of(done.begin(), done.end(), [](bool v) { return v; })) break;
      z = apply_p(r);
      for (int64_t c = 0; c < m; ++c) {
        if (done[static_cast<size_t>(c)]) continue;
        const double rz_new = r.col(c).dot(z.col(c));
        p.col(c) = z.col(c) + (rz_new / rz(c)) * p.col(c);
        rz(c) = rz_new;
      }
    }
    // The recursive residual drifts from the true one: judge by the true one, and restart from it (a few
    // times) where it is still too large.
    r = b - apply_a(x);
    report.final_residual = relative(r);
    report.converged = report.final_residual <= options.tolerance;
    if (report.converged || report.iterations >= options.max_iterations || restart == 3) break;
    z = apply_p(r);
    p = z;
    rz = (r.array() * z.array()).colwise().sum().transpose();
    for (int64_t c = 0; c < m; ++c)
      done[static_cast<size_t>(c)] = r.col(c).norm() <= options.tolerance * bnorm(c);
    report.residuals.push_back(report.final_residual);
    it = report.iterations;
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (report_out) *report_out = report;
  NTK_THROW_IF_NOT(report.converged || !options.throw_if_not_converged,
                   "conjugate gradient did not converge: relative residual %.3g after %d iterations "
                   "(tolerance %.3g); raise max_iterations or preconditioner_rank (now %lld), or diag_reg",
                   report.final_residual, report.iterations, options.tolerance,
                   static_cast<long long>(options.preconditioner_rank));
  return Matrix(x);
}

}  // namespace ntk
