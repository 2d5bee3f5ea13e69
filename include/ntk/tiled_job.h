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
#include <string>

#include "ntk/arch.h"
#include "ntk/kernel.h"
#include "ntk/kernel_engine.h"

namespace ntk {

struct TiledJobOptions {
  std::string out_path;
  bool want_ntk = true;  // which kernel the output holds (NTK, else NNGP)
  bool resume = false;   // continue from <out>.partial when its journal matches this job
  int64_t tile = 0;      // tile edge (rows = cols); 0: kDefaultTile, smaller if the memory budget needs it
  int64_t memory_bytes = 0;       // working-memory budget; 0: 80% of the physical memory
  int64_t stop_after_tiles = -1;  // tests: stop (as if killed) after this many tiles of this run
};

struct TiledJobReport {
  int64_t tiles_total = 0;
  int64_t tiles_computed = 0;  // in this run
  int64_t tiles_resumed = 0;   // found finished in the journal
  double seconds = 0;
};

// Runs the job; throws ntk::Error with ErrorKind::kOutOfMemory up front when the working set cannot fit the
// budget (the message gives the numbers).
TiledJobReport run_tiled_kernel_job(const Architecture& arch, const Tensor& x1, const Tensor* x2,
                                    const KernelOptions& options, const TiledJobOptions& job);

// The tiles of an n1 x n2 grid, row-major; with `symmetric` only tiles on or above the diagonal (the rest is
// mirrored). ids: the index row * tile_cols + col of each tile. compute_kernels and the tiled job share this
// plan (default tile default_tile(engine)), so in-memory and on-disk kernels are bit-identical.
constexpr int64_t kDefaultTile = 256;
// The tile edge for an engine: its preferred_tile(), or kDefaultTile.
int64_t default_tile(const KernelEngine& engine);
// m[i * ld + j] = m[j * ld + i] for j < i < n, in cache blocks on `threads` threads.
void mirror_upper_triangle(double* m, int64_t n, int64_t ld, int threads);
void mirror_upper_triangle(float* m, int64_t n, int64_t ld, int threads);
std::vector<TileSpec> plan_tiles(int64_t n1, int64_t n2, int64_t tile, bool symmetric,
                                 std::vector<int64_t>* ids = nullptr);

// Installed RAM in bytes (8 GiB when the system does not say); budgets default to 80% of it.
int64_t physical_memory_bytes();
// "512M", "4G", "1.5GiB", "123456" (bytes) -> bytes.
int64_t parse_memory_size(const std::string& text);
std::string format_bytes(int64_t bytes);

}  // namespace ntk
