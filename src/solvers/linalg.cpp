// Regularised Cholesky (with jitter escalation) and symmetric eigendecomposition on LAPACK.
#include <cmath>

#include "ntk/error.h"
#include "ntk/solvers.h"
#include "solvers/lapack.h"

namespace ntk {

namespace {

void check_square_finite(const Matrix& k, const char* what) {
  NTK_THROW_IF_NOT(k.rows() == k.cols() && k.rows() > 0,
                   "%s must be a non-empty square matrix, got %lld x %lld", what,
                   static_cast<long long>(k.rows()), static_cast<long long>(k.cols()));
  NTK_THROW_IF_NOT(k.allFinite(), "%s (%lld x %lld) contains NaN or infinite entries", what,
                   static_cast<long long>(k.rows()), static_cast<long long>(k.cols()));
  NTK_THROW_IF_NOT(k.rows() <= 46340,
                   "kernel of %lld rows is too large for the LAPACK solvers (32-bit indices)",
                   static_cast<long long>(k.rows()));
}

// Column-major copy of the symmetric part (K + Kᵀ)/2: LAPACK reads one triangle, and a kernel that is not
// quite symmetric (float32 accumulation) should not depend on which one.
std::vector<double> symmetric_copy(const Matrix& k, double add_to_diag) {
  const int64_t n = k.rows();
  std::vector<double> a(static_cast<size_t>(n * n));
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < n; ++i) a[static_cast<size_t>(j * n + i)] = 0.5 * (k(i, j) + k(j, i));
  for (int64_t i = 0; i < n; ++i) a[static_cast<size_t>(i * n + i)] += add_to_diag;
  return a;
}

void check_finite_result(const Matrix& m, const char* what) {
  NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, m.allFinite(),
                        "%s produced NaN or infinite values (kernel too ill-conditioned; raise diag_reg)",
                        what);
}

}  // namespace

double absolute_diag_reg(const Matrix& k, const RegOptions& reg) {
  reg_options().validate(reg);
  if (reg.absolute) return reg.diag_reg;
  return reg.diag_reg * k.diagonal().mean();
}

Cholesky::Cholesky(const Matrix& k, const RegOptions& reg) {
  check_square_finite(k, "kernel matrix");
  n_ = k.rows();
  const double mean_diag = k.diagonal().mean();
  NTK_THROW_IF_NOT(mean_diag > 0,
                   "kernel matrix (%lld x %lld) has a non-positive mean diagonal %g; not a kernel",
                   static_cast<long long>(n_), static_cast<long long>(n_), mean_diag);
  info_.mean_diagonal = mean_diag;
  const double base = absolute_diag_reg(k, reg);
  const int n = static_cast<int>(n_);
  double jitter = 0.0;
  for (int attempt = 0;; ++attempt) {
    factor_ = symmetric_copy(k, base + jitter);
    int info = 0;
    dpotrf_("L", &n, factor_.data(), &n, &info, 1);
    NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, info >= 0, "dpotrf: illegal argument %d", -info);
    if (info == 0) break;
    NTK_THROW_IF_NOT(attempt < reg.max_jitter_steps,
                     "kernel matrix (%d x %d) is not positive definite even with jitter %.3g (%.1e x mean "
                     "diagonal) after %d attempts; check the kernel or raise diag_reg",
                     n, n, jitter, jitter / mean_diag, attempt + 1);
    jitter = jitter == 0.0 ? reg.jitter_start * mean_diag : jitter * reg.jitter_growth;
    info_.jitter_steps = attempt + 1;
  }
  info_.jitter = jitter;
  info_.diag_added = base + jitter;
  if (jitter > 0) {
    info_.warning = strprintf(
        "kernel matrix (%d x %d) is not numerically positive definite; added jitter %.3g (%.1e x mean "
        "diagonal) "
        "to the diagonal after %d failed Cholesky attempts",
        n, n, jitter, jitter / mean_diag, info_.jitter_steps);
  }
}

Matrix Cholesky::solve(const Matrix& b) const {
  NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, n_ > 0, "Cholesky::solve before factorisation");
  NTK_THROW_IF_NOT(b.rows() == n_, "right-hand side has %lld rows, the kernel %lld",
                   static_cast<long long>(b.rows()), static_cast<long long>(n_));
  NTK_THROW_IF_NOT(b.allFinite(), "right-hand side (targets) contains NaN or infinite values");
  if (b.cols() == 0) return Matrix(n_, 0);
  Eigen::MatrixXd x = b;  // column-major for LAPACK
  const int n = static_cast<int>(n_), nrhs = static_cast<int>(b.cols());
  int info = 0;
  dpotrs_("L", &n, &nrhs, factor_.data(), &n, x.data(), &n, &info, 1);
  NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, info == 0, "dpotrs failed (info %d)", info);
  Matrix out = x;
  check_finite_result(out, "Cholesky solve");
  return out;
}

Matrix cholesky_solve(const Matrix& k, const Matrix& b, const RegOptions& reg, SolveInfo* info) {
  Cholesky chol(k, reg);
  if (info) *info = chol.info();
  return chol.solve(b);
}

SymmetricEigen::SymmetricEigen(const Matrix& k, const RegOptions& reg) {
  check_square_finite(k, "kernel matrix");
  const int n = static_cast<int>(k.rows());
  info_.mean_diagonal = k.diagonal().mean();
  const double base = absolute_diag_reg(k, reg);
  info_.diag_added = base;
  std::vector<double> a = symmetric_copy(k, base);
  values_.resize(n);
  int lwork = -1, liwork = -1, info = 0, iwork_query = 0;
  double work_query = 0;
  dsyevd_("V", "L", &n, a.data(), &n, values_.data(), &work_query, &lwork, &iwork_query, &liwork, &info, 1,
          1);
  NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, info == 0, "dsyevd workspace query failed (info %d)", info);
  lwork = static_cast<int>(work_query) + 1;
  liwork = iwork_query;
  std::vector<double> work(static_cast<size_t>(lwork));
  std::vector<int> iwork(static_cast<size_t>(std::max(liwork, 1)));
  dsyevd_("V", "L", &n, a.data(), &n, values_.data(), work.data(), &lwork, iwork.data(), &liwork, &info, 1,
          1);
  NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, info == 0, "dsyevd failed to converge (info %d)", info);
  vectors_ = Eigen::Map<Eigen::MatrixXd>(a.data(), n, n);
  info_.min_eigenvalue = values_(0);
}

Matrix SymmetricEigen::apply(const std::function<double(double)>& f, const Matrix& b) const {
  NTK_THROW_IF_NOT(b.rows() == values_.size(), "right-hand side has %lld rows, the kernel %lld",
                   static_cast<long long>(b.rows()), static_cast<long long>(values_.size()));
  NTK_THROW_IF_NOT(b.allFinite(), "right-hand side (targets) contains NaN or infinite values");
  Eigen::MatrixXd coeff = vectors_.transpose() * Eigen::MatrixXd(b);
  for (Eigen::Index i = 0; i < values_.size(); ++i) coeff.row(i) *= f(values_(i));
  Matrix out = vectors_ * coeff;
  check_finite_result(out, "spectral solve");
  return out;
}

Matrix submatrix(const Matrix& k, const std::vector<int64_t>& rows, const std::vector<int64_t>& cols) {
  for (int64_t r : rows)
    NTK_THROW_IF_NOT(r >= 0 && r < k.rows(), "row index %lld out of range [0, %lld)",
                     static_cast<long long>(r), static_cast<long long>(k.rows()));
  for (int64_t c : cols)
    NTK_THROW_IF_NOT(c >= 0 && c < k.cols(), "column index %lld out of range [0, %lld)",
                     static_cast<long long>(c), static_cast<long long>(k.cols()));
  Matrix out(static_cast<Eigen::Index>(rows.size()), static_cast<Eigen::Index>(cols.size()));
  for (size_t i = 0; i < rows.size(); ++i) {
    const double* src = k.data() + rows[i] * k.cols();
    double* dst = out.data() + static_cast<int64_t>(i) * out.cols();
    for (size_t j = 0; j < cols.size(); ++j) dst[j] = src[cols[j]];
  }
  return out;
}

}  // namespace ntk
