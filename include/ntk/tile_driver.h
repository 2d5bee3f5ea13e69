// One tile driver for every front end. A kernel is a grid of N1 x N2 pairs cut into tiles (TilePlan); an
// engine fills any tile independently of every other (KernelEngine::compute_tile), and run_tiles hands each
// tile to the engine and its result to a sink:
//   BufferSink    caller's row-major buffers: compute_kernels' matrices, Python's NumPy arrays;
//   NpyFileSink   a memory-mapped .npy with its resume journal (ntk/tiled_job.h: `ntk kernel --out`);
// with hooks for progress (a bar with ETA on stderr, or a callback), for stopping between tiles (Ctrl-C,
// Python signals: the hook throws) and for choosing which tiles this process computes (MPI ranks). Every
// front end uses the same plan for the same engine, so in-memory, on-disk and Python kernels are
// bit-identical. One memory check (check_memory) serves them all.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ntk/kernel_engine.h"
#include "ntk/tensor.h"

namespace ntk {

// The tiles of an n1 x n2 grid, row-major; when symmetric only tiles on or above the diagonal (the rest is
// mirrored). ids[k]: row * tile_cols + col of tiles[k] (stable across runs: the resume journal records them).
struct TilePlan {
  int64_t rows = 0, cols = 0, tile = 0;
  bool symmetric = false;
  std::vector<TileSpec> tiles;
  std::vector<int64_t> ids;
  int64_t entries(size_t k) const {
    return (tiles[k].row_end - tiles[k].row_begin) * (tiles[k].col_end - tiles[k].col_begin);
  }
};

constexpr int64_t kDefaultTile = 256;
// The tile edge for an engine: its preferred_tile(), or kDefaultTile.
int64_t default_tile(const KernelEngine& engine);
TilePlan plan_tiles(int64_t n1, int64_t n2, int64_t tile, bool symmetric);
// The plan for an engine's grid with tile edge `tile` (0: default_tile(engine)).
TilePlan plan_tiles(const KernelEngine& engine, int64_t tile = 0);

// Where tile results go, in the engine's dtype (float for float32, double for float64).
struct TileTarget {
  void* nngp = nullptr;  // top-left entry of the tile; nullptr: this kernel is not wanted
  void* ntk = nullptr;
  int64_t ld = 0;  // leading dimension (entries)
};

class TileSink {
 public:
  virtual ~TileSink() = default;
  virtual TileTarget target(const TileSpec& tile) = 0;
  // Resume: whether the tile is already there (then it is not computed again).
  virtual bool finished(int64_t id) const { return false; }
  // The tile is computed: make it durable (journal) if the sink keeps one.
  virtual void tile_done(int64_t id, const TileSpec& tile) {}
  // Every tile of the plan is there: mirror a symmetric kernel, commit a file.
  virtual void complete(const TilePlan& plan, int threads) {}
};

// Row-major n1 x n2 buffers with leading dimension ld (nullptr: not wanted), in the given dtype.
class BufferSink final : public TileSink {
 public:
  BufferSink(void* nngp, void* ntk, int64_t ld, DType dtype);
  TileTarget target(const TileSpec& tile) override;
  void complete(const TilePlan& plan, int threads) override;

 private:
  char* nngp_;
  char* ntk_;
  int64_t ld_;
  DType dtype_;
};

struct TileHooks {
  bool progress = false;  // draw a bar with ETA on stderr (ignored when on_progress is set)
  std::function<void(int64_t done, int64_t total)> on_progress;  // pairs finished, pairs to do in this run
  std::function<void()> between_tiles;                           // may throw to stop (e.g. interrupted)
  std::function<bool(int64_t id)> owns;                          // tiles this process computes; null: all
  int64_t stop_after_tiles = -1;                                 // tests: stop as if killed after so many
};

struct TileRunReport {
  std::string engine;
  int64_t tiles_total = 0;
  int64_t tiles_computed = 0;  // in this run
  int64_t tiles_resumed = 0;   // found finished in the sink
  bool complete = false;       // every tile is there and sink.complete() ran
  double seconds = 0;
};

// prepare() must have run. Computes the plan's tiles that the sink does not have and this process owns, in
// plan order; completes the sink when every tile is there.
TileRunReport run_tiles(const KernelEngine& engine, const TilePlan& plan, TileSink& sink,
                        const TileHooks& hooks, int threads);

// ---- memory ----

// Working memory of a job: the inputs, each input's prepared state, each thread's pair state, and the output
// when it lives in memory (0 for a file sink, which is memory-mapped).
struct MemoryNeed {
  int64_t inputs = 0, prepared = 0, per_thread = 0, output = 0;
  int threads = 1;
  int64_t total() const { return inputs + prepared + threads * per_thread + output; }
};
MemoryNeed memory_need(const KernelEngine& engine, const Tensor& x1, const Tensor* x2, int threads,
                       bool output_in_memory, bool nngp, bool ntk);
// Throws ntk::Error kOutOfMemory with the figures when need.total() > budget (budget <= 0: 80% of RAM).
// `advice` ends the message ("use fewer inputs per call or a larger memory").
void check_memory(const MemoryNeed& need, int64_t budget, const std::string& advice);

// m[i * ld + j] = m[j * ld + i] for j < i < n, in cache blocks on `threads` threads.
void mirror_upper_triangle(double* m, int64_t n, int64_t ld, int threads);
void mirror_upper_triangle(float* m, int64_t n, int64_t ld, int threads);

// Installed RAM in bytes (8 GiB when the system does not say); budgets default to 80% of it.
int64_t physical_memory_bytes();
// "512M", "4G", "1.5GiB", "123456" (bytes) -> bytes. Errors name the option `memory`.
int64_t parse_memory_size(const std::string& text);
std::string format_bytes(int64_t bytes);

}  // namespace ntk
