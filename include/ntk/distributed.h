// Beyond one process: MPI ranks sharing kernel tiles, and kernel regression with ScaLAPACK.
//
// `mpirun -np R ntk kernel ...` (or srun) starts R copies of the program; each calls dist::init() and finds
// its rank in dist::world(). Without an MPI launcher in the environment, or in a build without MPI
// (NTK_ENABLE_MPI=OFF), the world is this process alone and everything runs as on one machine.
//
//   - kernels: world() is a TileTeam (ntk/tiled_job.h): the ranks share the tiles of one plan and write them
//     into one memory-mapped .npy; the file is bit-identical to one process's and resumable with any R;
//   - solves: scalapack_kernel_regression assembles the training kernel directly in ScaLAPACK's 2-D
//     block-cyclic layout (each rank computes only its own blocks), factors it with pdpotrf (the jitter rule
//     of ntk::Cholesky) and solves with pdpotrs; predictions are returned on every rank;
//   - conjugate gradient (ntk/cg.h) takes world()'s sums to split its matrix-vector products by rows.
#pragma once

#include <cstdint>
#include <string>

#include "ntk/arch.h"
#include "ntk/kernel.h"
#include "ntk/solvers.h"
#include "ntk/tiled_job.h"

namespace ntk::dist {

class Communicator : public TileTeam {
 public:
  virtual int local_size() const = 0;  // processes of the world on this machine
  virtual void sum_in_place(double* data, int64_t n) = 0;
  virtual void broadcast(void* data, int64_t bytes, int root) = 0;
};

// Whether this build has MPI (NTK_ENABLE_MPI) and ScaLAPACK.
bool built_with_mpi();
// Starts MPI when an MPI launcher started this process (OMPI_COMM_WORLD_SIZE, PMIX_RANK or PMI_SIZE in the
// environment); otherwise the world is this process alone. Call once, early in main.
void init(int* argc, char*** argv);
Communicator& world();
// Ends MPI after a successful run. After a failure skip it: the rank exits with an error and the launcher
// stops the others (a rank waiting in a collective operation would wait forever for a finalize).
void finalize();

struct DistributedSolveReport {
  int grid_rows = 1, grid_cols = 1;  // the process grid
  int64_t block = 0;                 // block-cyclic block edge
  SolveInfo info;                    // diag_reg and jitter as ntk::Cholesky reports them
  double kernel_seconds = 0, solve_seconds = 0;
};

// Kernel regression K(test, train) (K(train, train) + diag_reg·I)⁻¹ Y over every rank of `comm`, with the
// kernel that options.ntk (else NNGP) selects. Neither kernel is ever held whole by one rank: the training
// kernel lives block-cyclically on a near-square process grid, test rows are dealt out in blocks. `y_train`
// and the returned predictions (test rows x outputs) are the same on every rank. block: 0 for the default.
Matrix scalapack_kernel_regression(Communicator& comm, const Architecture& arch, const Tensor& x_train,
                                   const Tensor& x_test, const Matrix& y_train, const KernelOptions& options,
                                   const RegOptions& reg, int64_t block = 0,
                                   DistributedSolveReport* report = nullptr);

}  // namespace ntk::dist
