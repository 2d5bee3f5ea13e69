// The world of an MPI job (built with NTK_ENABLE_MPI): MPI_COMM_WORLD when a launcher started this process,
// else this process alone (MPI is then never initialised, so plain runs pay nothing for it).
#include <mpi.h>

#include <cstdlib>
#include <memory>

#include "ntk/distributed.h"
#include "ntk/error.h"

namespace ntk::dist {
namespace {

void check(int rc, const char* what) {
  NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, rc == MPI_SUCCESS, "%s failed (MPI error %d)", what, rc);
}

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

class MpiWorld final : public Communicator {
 public:
  MpiWorld() {
    check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
    MPI_Comm local;
    check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local),
          "MPI_Comm_split_type");
    check(MPI_Comm_size(local, &local_size_), "MPI_Comm_size");
    MPI_Comm_free(&local);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_size() const override { return local_size_; }
  void barrier() override { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }
  int64_t sum(int64_t v) override {
    long long in = v, out = 0;
    check(MPI_Allreduce(&in, &out, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
    return out;
  }
  void sum_in_place(double* data, int64_t n) override {
    // In chunks: MPI counts are int.
    const int64_t chunk = int64_t{1} << 28;
    for (int64_t at = 0; at < n; at += chunk)
      check(MPI_Allreduce(MPI_IN_PLACE, data + at, static_cast<int>(std::min(chunk, n - at)), MPI_DOUBLE,
                          MPI_SUM, MPI_COMM_WORLD),
            "MPI_Allreduce");
  }
  void broadcast(void* data, int64_t bytes, int root) override {
    const int64_t chunk = int64_t{1} << 30;
    char* p = static_cast<char*>(data);
    for (int64_t at = 0; at < bytes; at += chunk)
      check(MPI_Bcast(p + at, static_cast<int>(std::min(chunk, bytes - at)), MPI_BYTE, root, MPI_COMM_WORLD),
            "MPI_Bcast");
  }

 private:
  int rank_ = 0, size_ = 1, local_size_ = 1;
};

std::unique_ptr<Communicator>& the_world() {
  static std::unique_ptr<Communicator> w;
  return w;
}

bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK"})
    if (std::getenv(v)) return true;
  return false;
}

}  // namespace

bool built_with_mpi() {
  return true;
}

void init(int* argc, char*** argv) {
  if (the_world()) return;
  if (launched_by_mpi()) {
    int provided = 0;
    // Threads run inside a rank (OpenMP) but only the main thread calls MPI.
    check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    the_world() = std::make_unique<MpiWorld>();
  } else {
    the_world() = std::make_unique<SelfWorld>();
  }
}

Communicator& world() {
  if (!the_world()) init(nullptr, nullptr);
  return *the_world();
}

void finalize() {
  int initialised = 0, finalised = 0;
  MPI_Initialized(&initialised);
  MPI_Finalized(&finalised);
  if (initialised && !finalised) MPI_Finalize();
}

}  // namespace ntk::dist
