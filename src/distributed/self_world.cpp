// The world of a build without MPI (NTK_ENABLE_MPI=OFF): this process alone.
#include "ntk/distributed.h"
#include "ntk/error.h"

namespace ntk::dist {
namespace {

class SelfWorld final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_size() const override { return 1; }
  void barrier() override {}
  int64_t sum(int64_t v) override { return v; }
  void sum_in_place(double*, int64_t) override {}
  void broadcast(void*, int64_t, int) override {}
};

}  // namespace

bool built_with_mpi() {
  return false;
}

void init(int*, char***) {}

Communicator& world() {
  static SelfWorld w;
  return w;
}

void finalize() {}

Matrix scalapack_kernel_regression(Communicator&, const Architecture&, const Tensor&, const Tensor&,
                                   const Matrix&, const KernelOptions&, const RegOptions&, int64_t,
                                   DistributedSolveReport*) {
  NTK_THROW("distributed kernel regression needs a build with MPI and ScaLAPACK (NTK_ENABLE_MPI=ON)");
}

}  // namespace ntk::dist
