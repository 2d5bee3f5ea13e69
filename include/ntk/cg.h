// Preconditioned conjugate gradient for kernel regression when the kernel is too large to factor: solves
// (K + diag_reg·I) X = B with matrix products that read the kernel in row panels (from memory, from a
// memory-mapped .npy written by the tile driver: ntk/kernel_file.h) and a rank-k partial pivoted Cholesky
// preconditioner P = L Lᵀ + s·I (Harbrecht, Peters & Schneider 2012; Gardner et al. 2018), applied through
// the Woodbury identity. Over MPI ranks (ntk/distributed.h) each rank multiplies its own row panels and the
// products are summed; every rank then holds the same iterates.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ntk/kernel.h"
#include "ntk/solvers.h"

namespace ntk {

// A rows x cols kernel matrix read by rows (square and symmetric for the training kernel).
class KernelOperator {
 public:
  virtual ~KernelOperator() = default;
  virtual int64_t rows() const = 0;
  virtual int64_t cols() const = 0;
  // y.middleRows(r0, r1 - r0) = K[r0:r1, :] x (x is cols x k).
  virtual void multiply_rows(int64_t r0, int64_t r1, const Matrix& x, Matrix& y) const = 0;
  // Row i of K (cols entries).
  virtual void row(int64_t i, double* out) const = 0;
  virtual double diagonal(int64_t i) const = 0;
};

// y.middleRows(y_row, rows) = panel x for a row-major rows x cols panel, in a fixed order (no BLAS, no
// threads): what the operators' multiply_rows use, so that products never depend on threads or ranks.
void multiply_panel(const double* panel, int64_t rows, int64_t cols, const Matrix& x, Matrix& y,
                    int64_t y_row);
void multiply_panel(const float* panel, int64_t rows, int64_t cols, const Matrix& x, Matrix& y,
                    int64_t y_row);

// A kernel held in memory.
class DenseKernelOperator final : public KernelOperator {
 public:
  explicit DenseKernelOperator(const Matrix& k) : k_(k) {}
  int64_t rows() const override { return k_.rows(); }
  int64_t cols() const override { return k_.cols(); }
  void multiply_rows(int64_t r0, int64_t r1, const Matrix& x, Matrix& y) const override;
  void row(int64_t i, double* out) const override;
  double diagonal(int64_t i) const override { return k_(i, i); }

 private:
  const Matrix& k_;
};

// How the ranks of a job share the products: sum_in_place(data, n) adds the vectors of every rank (null:
// one process); rank / size choose this rank's row panels. The products are the same, bit for bit, for any
// number of ranks and threads.
struct RowSharing {
  int rank = 0, size = 1;
  int threads = 0;  // this rank's threads for the products (0: OpenMP's default)
  std::function<void(double* data, int64_t n)> sum_in_place;
};

struct CgOptions {
  double tolerance = 1e-8;            // stop when ||B − A X|| <= tolerance ||B||, every column
  int max_iterations = 1000;          // then throw ntk::Error (throw_if_not_converged) naming these options
  int64_t preconditioner_rank = 100;  // k of the partial pivoted Cholesky; 0: no preconditioner
  int64_t panel_rows = 256;           // rows per product panel (what one rank reads at a time)
  bool throw_if_not_converged = true;
};

struct CgReport {
  bool converged = false;
  int iterations = 0;
  int64_t preconditioner_rank = 0;  // pivots actually taken (fewer when the kernel's rank is lower)
  double diag_added = 0;            // the absolute diag_reg
  double shift = 0;                 // s of the preconditioner
  std::vector<double> residuals;  // max over columns of ||r|| / ||b||, after each iteration (index 0: start)
  double final_residual = 0;      // recomputed as ||B − A X|| / ||B|| (max over columns)
  double seconds = 0;
};

// X = (K + diag_reg·I)⁻¹ B for a square symmetric positive semi-definite K; diag_reg is relative to the mean
// kernel diagonal unless reg.absolute (as for ntk::Cholesky). Throws when it does not converge and
// options.throw_if_not_converged.
Matrix conjugate_gradient_solve(const KernelOperator& k, const Matrix& b, const RegOptions& reg,
                                const CgOptions& options = {}, CgReport* report = nullptr,
                                const RowSharing& sharing = {});

// K x over the ranks' row panels (every rank gets the whole product).
Matrix multiply_shared(const KernelOperator& k, const Matrix& x, int64_t panel_rows,
                       const RowSharing& sharing);

}  // namespace ntk
