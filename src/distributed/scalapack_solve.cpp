// Kernel regression over MPI ranks with ScaLAPACK: the training kernel is computed block by block straight
// into the 2-D block-cyclic layout (a rank computes only the blocks it holds, lower triangle only: pdpotrf
// reads no other), factored with pdpotrf under the jitter rule of ntk::Cholesky, and solved with pdpotrs.
// The test-train kernel is computed in row blocks dealt out over the ranks and multiplied by the weights as
// it goes; nobody holds either kernel whole.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <vector>

#include "ntk/distributed.h"
#include "ntk/error.h"
#include "ntk/kernel_engine.h"

extern "C" {
void blacs_get_(const int* context, const int* what, int* value);
void blacs_gridinit_(int* context, const char* order, const int* nprow, const int* npcol, size_t order_len);
void blacs_gridinfo_(const int* context, int* nprow, int* npcol, int* myrow, int* mycol);
void blacs_gridexit_(const int* context);
int numroc_(const int* n, const int* nb, const int* iproc, const int* isrcproc, const int* nprocs);
void descinit_(int* desc, const int* m, const int* n, const int* mb, const int* nb, const int* irsrc,
               const int* icsrc, const int* context, const int* lld, int* info);
void pdpotrf_(const char* uplo, const int* n, double* a, const int* ia, const int* ja, const int* desca,
              int* info, size_t uplo_len);
void pdpotrs_(const char* uplo, const int* n, const int* nrhs, const double* a, const int* ia, const int* ja,
              const int* desca, double* b, const int* ib, const int* jb, const int* descb, int* info,
              size_t uplo_len);
}

namespace ntk::dist {
namespace {

constexpr int64_t kDefaultBlock = 128;

// The most square grid rows x cols = size with rows <= cols.
std::pair<int, int> process_grid(int size) {
  int rows = 1;
  for (int r = 1; r * r <= size; ++r)
    if (size % r == 0) rows = r;
  return {rows, size / rows};
}

// A BLACS grid over MPI_COMM_WORLD, released on every path out.
struct Grid {
  int context = -1, rows = 1, cols = 1, my_row = 0, my_col = 0;
  Grid(int r, int c) {
    const int minus_one = -1, zero = 0;
    blacs_get_(&minus_one, &zero, &context);
    blacs_gridinit_(&context, "R", &r, &c, 1);
    blacs_gridinfo_(&context, &rows, &cols, &my_row, &my_col);
    NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, rows == r && cols == c, "BLACS grid %d x %d not formed", r,
                          c);
  }
  ~Grid() {
    if (context >= 0) blacs_gridexit_(&context);
  }
  Grid(const Grid&) = delete;
  Grid& operator=(const Grid&) = delete;
};

// Fills a tile of the engine's kernel as doubles, row-major rows x cols.
void tile_as_double(const KernelEngine& engine, const TileSpec& t, bool ntk, std::vector<double>& out,
                    std::vector<float>& scratch) {
  const int64_t rows = t.row_end - t.row_begin, cols = t.col_end - t.col_begin;
  out.resize(static_cast<size_t>(rows * cols));
  if (engine.dtype() == DType::kFloat64) {
    engine.compute_tile(t, ntk ? nullptr : out.data(), ntk ? out.data() : nullptr, cols);
  } else {
    scratch.resize(out.size());
    engine.compute_tile(t, ntk ? nullptr : scratch.data(), ntk ? scratch.data() : nullptr, cols);
    std::copy(scratch.begin(), scratch.end(), out.begin());
  }
}

}  // namespace

Matrix scalapack_kernel_regression(Communicator& comm, const Architecture& arch, const Tensor& x_train,
                                   const Tensor& x_test, const Matrix& y_train,
                                   const KernelOptions& options_in, const RegOptions& reg, int64_t block,
                                   DistributedSolveReport* report) {
  auto clock = std::chrono::steady_clock::now();
  auto lap = [&clock]() {
    const auto now = std::chrono::steady_clock::now();
    const double s = std::chrono::duration<double>(now - clock).count();
    clock = now;
    return s;
  };
  const int64_t n64 = x_train.rows(), m64 = x_test.rows();
  NTK_THROW_IF_NOT(y_train.rows() == n64 && y_train.cols() >= 1,
                   "y_train has %lld rows x %lld columns, the training inputs %lld rows",
                   static_cast<long long>(y_train.rows()), static_cast<long long>(y_train.cols()),
                   static_cast<long long>(n64));
  NTK_THROW_IF_NOT(y_train.allFinite(), "right-hand side (targets) contains NaN or infinite values");
  NTK_THROW_IF_NOT(n64 >= 1 && n64 < INT_MAX, "the training set has %lld examples; ScaLAPACK needs 1 to %d",
                   static_cast<long long>(n64), INT_MAX - 1);
  NTK_THROW_IF_NOT(std::isfinite(reg.diag_reg) && reg.diag_reg >= 0, "diag_reg must be >= 0, got %g",
                   reg.diag_reg);
  NTK_THROW_IF_NOT(reg.jitter_start > 0 && reg.jitter_growth > 1 && reg.max_jitter_steps >= 0,
                   "jitter settings must be positive and growing (start %g, growth %g)", reg.jitter_start,
                   reg.jitter_growth);
  NTK_THROW_IF_NOT(block >= 0, "block must be >= 1, got %lld", static_cast<long long>(block));
  const int nb = static_cast<int>(std::min<int64_t>(block > 0 ? block : kDefaultBlock, n64));
  const bool want_ntk = options_in.ntk;
  KernelOptions options = options_in;
  options.nngp = !want_ntk;
  options.ntk = want_ntk;
  options.ctx.progress = false;

  const auto [pr, pc] = process_grid(comm.size());
  Grid grid(pr, pc);
  const int n = static_cast<int>(n64), zero = 0, one = 1;
  const int local_rows = numroc_(&n, &nb, &grid.my_row, &zero, &grid.rows);
  const int local_cols = numroc_(&n, &nb, &grid.my_col, &zero, &grid.cols);
  const int lld = std::max(1, local_rows);
  int desc_a[9], info = 0;
  descinit_(desc_a, &n, &n, &nb, &nb, &zero, &zero, &grid.context, &lld, &info);
  NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, info == 0, "descinit (kernel) failed (info %d)", info);

  // The training kernel's lower triangle, block by block, into local column-major storage.
  std::vector<double> kernel(static_cast<size_t>(lld) * std::max(1, local_cols), 0.0);
  double diag_sum = 0;
  {
    auto engine = KernelEngine::create(arch, x_train, nullptr, options);
    engine->prepare();
    std::vector<double> tile;
    std::vector<float> scratch;
    const int64_t blocks = (n64 + nb - 1) / nb;
    for (int64_t bi = grid.my_row; bi < blocks; bi += grid.rows)
      for (int64_t bj = grid.my_col; bj <= bi; bj += grid.cols) {
        const TileSpec t{bi * nb, std::min(n64, (bi + 1) * nb), bj * nb, std::min(n64, (bj + 1) * nb)};
        tile_as_double(*engine, t, want_ntk, tile, scratch);
        const int64_t rows = t.row_end - t.row_begin, cols = t.col_end - t.col_begin;
        const int64_t lr0 = (bi / grid.rows) * nb, lc0 = (bj / grid.cols) * nb;
        for (int64_t j = 0; j < cols; ++j)
          for (int64_t i = 0; i < rows; ++i)
            kernel[static_cast<size_t>((lc0 + j) * lld + lr0 + i)] = tile[static_cast<size_t>(i * cols + j)];
        if (bi == bj)
          for (int64_t i = 0; i < rows; ++i) diag_sum += tile[static_cast<size_t>(i * cols + i)];
      }
  }
  comm.sum_in_place(&diag_sum, 1);
  const double kernel_seconds = lap();
  const double mean_diag = diag_sum / static_cast<double>(n64);
  NTK_THROW_IF_NOT(std::isfinite(mean_diag) && mean_diag > 0,
                   "kernel matrix (%d x %d) has a non-positive mean diagonal %g; not a kernel", n, n,
                   mean_diag);
  const double base = reg.absolute ? reg.diag_reg : reg.diag_reg * mean_diag;

  // Local positions of the global diagonal.
  auto add_to_diagonal = [&](std::vector<double>& a, double value) {
    for (int64_t g = 0; g < n64; ++g) {
      const int64_t b = g / nb;
      if (b % grid.rows != grid.my_row || b % grid.cols != grid.my_col) continue;
      const int64_t lr = (b / grid.rows) * nb + g % nb, lc = (b / grid.cols) * nb + g % nb;
      a[static_cast<size_t>(lc * lld + lr)] += value;
    }
  };

  // The jitter rule of ntk::Cholesky: base, then jitter_start x mean diagonal, growing by jitter_growth.
  SolveInfo solve_info;
  solve_info.mean_diagonal = mean_diag;
  std::vector<double> factor;
  double jitter = 0.0;
  for (int attempt = 0;; ++attempt) {
    factor = kernel;
    add_to_diagonal(factor, base + jitter);
    pdpotrf_("L", &n, factor.data(), &one, &one, desc_a, &info, 1);
    NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, info >= 0, "pdpotrf: illegal argument %d", -info);
    const bool failed = comm.sum(info > 0 ? 1 : 0) > 0;  // every rank takes the same branch
    if (!failed) break;
    NTK_THROW_IF_NOT(attempt < reg.max_jitter_steps,
                     "kernel matrix (%d x %d) is not positive definite even with jitter %.3g (%.1e x mean "
                     "diagonal) after %d attempts; check the kernel or raise diag_reg",
                     n, n, jitter, jitter / mean_diag, attempt + 1);
    jitter = jitter == 0.0 ? reg.jitter_start * mean_diag : jitter * reg.jitter_growth;
    solve_info.jitter_steps = attempt + 1;
  }
  kernel.clear();
  kernel.shrink_to_fit();
  solve_info.jitter = jitter;
  solve_info.diag_added = base + jitter;
  if (jitter > 0) {
    solve_info.warning = strprintf(
        "kernel matrix (%d x %d) is not numerically positive definite; added jitter %.3g (%.1e x mean "
        "diagonal) to the diagonal after %d failed Cholesky attempts",
        n, n, jitter, jitter / mean_diag, solve_info.jitter_steps);
  }

  // Right-hand sides: all columns in one block column, on process column 0, rows as the kernel's.
  const int nrhs = static_cast<int>(y_train.cols());
  const int b_cols = numroc_(&nrhs, &nrhs, &grid.my_col, &zero, &grid.cols);
  int desc_b[9];
  descinit_(desc_b, &n, &nrhs, &nb, &nrhs, &zero, &zero, &grid.context, &lld, &info);
  NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, info == 0, "descinit (targets) failed (info %d)", info);
  std::vector<double> rhs(static_cast<size_t>(lld) * std::max(1, b_cols), 0.0);
  auto local_row = [&](int64_t g) { return (g / nb / grid.rows) * nb + g % nb; };
  auto my_row = [&](int64_t g) { return (g / nb) % grid.rows == grid.my_row; };
  if (b_cols > 0)
    for (int64_t g = 0; g < n64; ++g)
      if (my_row(g))
        for (int c = 0; c < nrhs; ++c) rhs[static_cast<size_t>(c * lld + local_row(g))] = y_train(g, c);
  pdpotrs_("L", &n, &nrhs, factor.data(), &one, &one, desc_a, rhs.data(), &one, &one, desc_b, &info, 1);
  NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, info == 0, "pdpotrs failed (info %d)", info);
  factor.clear();
  factor.shrink_to_fit();

  // The weights on every rank (N x outputs is small next to the kernel).
  Matrix alpha = Matrix::Zero(n64, nrhs);
  if (b_cols > 0)
    for (int64_t g = 0; g < n64; ++g)
      if (my_row(g))
        for (int c = 0; c < nrhs; ++c) alpha(g, c) = rhs[static_cast<size_t>(c * lld + local_row(g))];
  comm.sum_in_place(alpha.data(), alpha.size());
  NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, alpha.allFinite(),
                        "Cholesky solve produced NaN or infinite values (kernel too ill-conditioned; raise "
                        "--diag-reg)");

  // Predictions: test row blocks dealt out over the ranks, columns in chunks.
  Matrix pred = Matrix::Zero(m64, nrhs);
  if (m64 > 0) {
    auto engine = KernelEngine::create(arch, x_test, &x_train, options);
    engine->prepare();
    std::vector<double> tile;
    std::vector<float> scratch;
    const int64_t col_chunk = std::max<int64_t>(nb, 2048);
    const int64_t row_blocks = (m64 + nb - 1) / nb;
    for (int64_t rb = comm.rank(); rb < row_blocks; rb += comm.size())
      for (int64_t c0 = 0; c0 < n64; c0 += col_chunk) {
        const TileSpec t{rb * nb, std::min(m64, (rb + 1) * nb), c0, std::min(n64, c0 + col_chunk)};
        tile_as_double(*engine, t, want_ntk, tile, scratch);
        const int64_t rows = t.row_end - t.row_begin, cols = t.col_end - t.col_begin;
        Eigen::Map<const Matrix> k(tile.data(), rows, cols);
        pred.middleRows(t.row_begin, rows).noalias() += k * alpha.middleRows(c0, cols);
      }
    comm.sum_in_place(pred.data(), pred.size());
  }
  if (report) {
    report->grid_rows = grid.rows;
    report->grid_cols = grid.cols;
    report->block = nb;
    report->info = solve_info;
    report->kernel_seconds = kernel_seconds;
    report->solve_seconds = lap();
  }
  return pred;
}

}  // namespace ntk::dist
