// Big kernels as resumable tiled jobs: the (x1, x2) grid is cut into tiles, each computed by the kernel
// engine and written into a memory-mapped .npy as it finishes. A journal next to the output lists finished
// tiles, so a killed job resumes without recomputing them and gives a bit-identical result (tiles are
// deterministic).
//
// Files while running: <out>.partial (the memory-mapped .npy) and <out>.partial.journal (a fingerprint of the
// job, then one finished tile index per line). On success <out>.partial is renamed onto <out> and the journal
// removed: the final path never holds a partial result.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ntk/arch.h"
#include "ntk/kernel.h"
#include "ntk/kernel_engine.h"
#include "ntk/tile_driver.h"

namespace ntk {

// Several processes sharing one job (MPI ranks: ntk/distributed.h's Communicator is one). Rank 0 creates or
// reopens <out>.partial and its journal, the others then open the same file; the tiles still to do are dealt
// out by a deterministic rule over the journal (so a resume may use another number of processes); each
// process writes its own tiles into the one map and appends them to the one journal; rank 0 alone draws
// progress and, once every rank is through, mirrors and commits the file. The file must be visible to every
// process at the same path, with coherent shared memory maps (one machine, or a cluster filesystem that
// provides them).
class TileTeam {
 public:
  virtual ~TileTeam() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual void barrier() = 0;
  virtual int64_t sum(int64_t value) = 0;  // over all processes, returned on every one
};

// Which tiles of `plan` the process `rank` of `size` computes: those the sink does not have, dealt out in
// plan order each to the process with the fewest pairs so far (ties: the lowest rank).
std::vector<bool> assign_tiles(const TilePlan& plan, const TileSink& sink, int rank, int size);

struct TiledJobOptions {
  std::string out_path;
  bool want_ntk = true;  // which kernel the output holds (NTK, else NNGP)
  bool resume = false;   // continue from <out>.partial when its journal matches this job
  int64_t tile =
      0;  // tile edge (rows = cols); 0: the engine's default, smaller if the memory budget needs it
  int64_t memory_bytes = 0;       // working-memory budget; 0: 80% of the physical memory
  int64_t stop_after_tiles = -1;  // tests: stop (as if killed) after this many tiles of this run
  TileTeam* team = nullptr;       // the processes sharing the job; null: this process alone
};

struct TiledJobReport {
  std::string engine;  // the engine that ran
  int64_t tiles_total = 0;
  int64_t tiles_computed = 0;  // in this run (by every process of a team)
  int64_t tiles_resumed = 0;   // found finished in the journal
  bool complete = false;       // every tile is there and the file is committed
  double seconds = 0;
};

// Runs the job; throws ntk::Error with ErrorKind::kOutOfMemory up front when the working set cannot fit the
// budget (the message gives the numbers).
TiledJobReport run_tiled_kernel_job(const Architecture& arch, const Tensor& x1, const Tensor* x2,
                                    const KernelOptions& options, const TiledJobOptions& job);

// The job's sink: the memory-mapped <out>.partial and its journal of finished tiles (resumable; the
// fingerprint ties a journal to one computation). complete() mirrors a symmetric kernel, renames the partial
// file onto <out> and removes the journal.
class NpyFileSink final : public TileSink {
 public:
  // Creates <out>.partial, or with `resume` reopens it when its journal carries this fingerprint.
  NpyFileSink(const std::string& out_path, const TilePlan& plan, DType dtype, bool want_ntk, bool resume,
              const std::string& fingerprint);
  ~NpyFileSink() override;
  TileTarget target(const TileSpec& tile) override;
  bool finished(int64_t id) const override;
  void tile_done(int64_t id, const TileSpec& tile) override;
  void complete(const TilePlan& plan, int threads) override;
  bool resumed() const { return resumed_; }

 private:
  struct State;
  std::unique_ptr<State> state_;
  bool resumed_ = false;
};

}  // namespace ntk
