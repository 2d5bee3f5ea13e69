#include "ntk/tiled_job.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "ntk/error.h"
#include "ntk/io.h"
#include "ntk/kernel_engine.h"
#include "ntk/progress.h"

namespace ntk {
namespace {

uint64_t fnv1a(const void* data, size_t bytes, uint64_t h = 1469598103934665603ull) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

uint64_t tensor_hash(const Tensor& t, uint64_t h) {
  h = fnv1a(t.shape.data(), t.shape.size() * sizeof(int64_t), h);
  return fnv1a(t.data.data(), t.data.size() * sizeof(double), h);
}

// msync of the byte range [begin, end) of a mapping starting at `base` (page-aligned as msync requires).
void sync_rows(char* base, int64_t begin, int64_t end) {
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGE_SIZE));
  const uintptr_t lo = reinterpret_cast<uintptr_t>(base + begin) / page * page;
  const uintptr_t hi = reinterpret_cast<uintptr_t>(base + end);
  NTK_THROW_KIND_IF_NOT(ErrorKind::kIo, msync(reinterpret_cast<void*>(lo), hi - lo, MS_SYNC) == 0,
                        "cannot write the kernel to disk: %s", std::strerror(errno));
}

}  // namespace

std::vector<TileSpec> plan_tiles(int64_t n1, int64_t n2, int64_t tile, bool symmetric,
                                 std::vector<int64_t>* ids) {
  const int64_t tr = (n1 + tile - 1) / tile, tc = (n2 + tile - 1) / tile;
  std::vector<TileSpec> tiles;
  for (int64_t a = 0; a < tr; ++a)
    for (int64_t b = symmetric ? a : 0; b < tc; ++b) {
      tiles.push_back({a * tile, std::min(n1, (a + 1) * tile), b * tile, std::min(n2, (b + 1) * tile)});
      if (ids) ids->push_back(a * tc + b);
    }
  return tiles;
}

int64_t default_tile(const KernelEngine& engine) {
  const int64_t t = engine.preferred_tile();
  return t > 0 ? t : kDefaultTile;
}

namespace {
// In 64 x 64 blocks, in parallel: a plain row loop reads a new cache line (and often a new page) for every
// entry of the upper triangle.
template <class T>
void mirror_blocks(T* m, int64_t n, int64_t ld, int threads) {
  const int64_t bs = 64, nb = (n + bs - 1) / bs;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (int64_t bi = 0; bi < nb; ++bi)
    for (int64_t bj = 0; bj <= bi; ++bj)
      for (int64_t i = bi * bs; i < std::min(n, (bi + 1) * bs); ++i)
        for (int64_t j = bj * bs; j < std::min(i, (bj + 1) * bs); ++j) m[i * ld + j] = m[j * ld + i];
}
}  // namespace

void mirror_upper_triangle(double* m, int64_t n, int64_t ld, int threads) {
  mirror_blocks(m, n, ld, threads);
}
void mirror_upper_triangle(float* m, int64_t n, int64_t ld, int threads) {
  mirror_blocks(m, n, ld, threads);
}

int64_t physical_memory_bytes() {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : (int64_t{8} << 30);
}

int64_t parse_memory_size(const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  NTK_THROW_IF_NOT(end != text.c_str() && v > 0 && std::isfinite(v),
                   "memory budget: expected a size such as 512M or 4G, got '%s'", text.c_str());
  std::string unit(end);
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  double mult = 1;
  if (unit.empty() || unit == "B")
    mult = 1;
  else if (unit == "K" || unit == "KB" || unit == "KIB")
    mult = 1024.0;
  else if (unit == "M" || unit == "MB" || unit == "MIB")
    mult = 1024.0 * 1024;
  else if (unit == "G" || unit == "GB" || unit == "GIB")
    mult = 1024.0 * 1024 * 1024;
  else if (unit == "T" || unit == "TB" || unit == "TIB")
    mult = 1024.0 * 1024 * 1024 * 1024;
  else
    NTK_THROW("memory budget: unknown unit '%s' in '%s' (use K, M, G or T)", end, text.c_str());
  return static_cast<int64_t>(v * mult);
}

std::string format_bytes(int64_t bytes) {
  const double b = static_cast<double>(bytes);
  if (b >= 1024.0 * 1024 * 1024) return strprintf("%.2f GiB", b / (1024.0 * 1024 * 1024));
  if (b >= 1024.0 * 1024) return strprintf("%.1f MiB", b / (1024.0 * 1024));
  return strprintf("%.0f KiB", b / 1024.0);
}

TiledJobReport run_tiled_kernel_job(const Architecture& arch, const Tensor& x1, const Tensor* x2,
                                    const KernelOptions& options_in, const TiledJobOptions& job) {
  const auto start = std::chrono::steady_clock::now();
  KernelOptions options = options_in;
  options.nngp = !job.want_ntk;
  options.ntk = job.want_ntk;
  auto engine = KernelEngine::create(arch, x1, x2, options);
  const int64_t n1 = engine->rows(), n2 = engine->cols();
  const bool symmetric = engine->symmetric();
  const DType dtype = engine->dtype();
  const int64_t elem = dtype == DType::kFloat32 ? 4 : 8;

  // Memory: inputs + per-input self trajectories + per-thread pair states. The output lives on disk (mmap).
  const int64_t budget = job.memory_bytes > 0 ? job.memory_bytes : physical_memory_bytes() / 10 * 8;
  const int64_t inputs = static_cast<int64_t>((x1.data.size() + (x2 ? x2->data.size() : 0)) * sizeof(double));
  const int64_t fixed = inputs + engine->prepared_bytes() +
                        static_cast<int64_t>(options.ctx.num_threads()) * engine->bytes_per_pair();
  NTK_THROW_KIND_IF_NOT(
      ErrorKind::kOutOfMemory, fixed <= budget,
      "this job needs at least %s of memory (inputs %s, per-input state %s, %d threads x %s per "
      "pair) but the budget is %s; use fewer inputs per job, fewer --threads, or a larger --memory",
      format_bytes(fixed).c_str(), format_bytes(inputs).c_str(),
      format_bytes(engine->prepared_bytes()).c_str(), options.ctx.num_threads(),
      format_bytes(engine->bytes_per_pair()).c_str(), format_bytes(budget).c_str());
  int64_t tile = job.tile;
  if (tile <= 0) {
    tile = default_tile(*engine);
    // Tile buffers are written straight into the map; keep the touched window within the budget anyway.
    while (tile > 16 && fixed + tile * tile * elem * 2 > budget) tile /= 2;
  }
  NTK_THROW_IF_NOT(tile >= 1, "--tile must be >= 1, got %lld", (long long)tile);

  // The job's fingerprint: a resumed journal must describe exactly this computation.
  uint64_t h = fnv1a(arch.describe().data(), arch.describe().size());
  h = tensor_hash(x1, h);
  if (x2) h = tensor_hash(*x2, h);
  const std::string meta =
      strprintf("%s|%s|%s|tile=%lld|sym=%d", parameterization_name(options.parameterization),
                dtype_name(dtype), job.want_ntk ? "ntk" : "nngp", (long long)tile, symmetric);
  h = fnv1a(meta.data(), meta.size(), h);
  const std::string fingerprint =
      strprintf("ntk-tiled-job v1 %016llx %s", (unsigned long long)h, meta.c_str());

  const std::string partial = job.out_path + ".partial";
  const std::string journal_path = partial + ".journal";
  std::set<int64_t> done;
  bool resuming = false;
  if (job.resume) {
    std::ifstream j(journal_path);
    std::string first;
    if (j && std::getline(j, first)) {
      NTK_THROW_IF_NOT(first == fingerprint,
                       "%s: cannot resume: it belongs to a different job (architecture, inputs "
                       "or options changed); remove it or run without --resume",
                       journal_path.c_str());
      int64_t t;
      while (j >> t) done.insert(t);
      resuming = true;
    }
  }
  const std::vector<int64_t> shape = {n1, n2};
  io::NpyMapWriter writer = resuming ? io::NpyMapWriter::open_existing(job.out_path, partial, shape, dtype)
                                     : io::NpyMapWriter::create(job.out_path, shape, dtype, partial);
  if (!resuming) {
    io::AtomicFile jf(journal_path);
    jf.write(fingerprint + "\n");
    jf.commit();
  }
  FILE* journal = std::fopen(journal_path.c_str(), "a");
  NTK_THROW_KIND_IF_NOT(ErrorKind::kIo, journal != nullptr, "%s: cannot open the job journal: %s",
                        journal_path.c_str(), std::strerror(errno));

  std::vector<int64_t> ids;
  const std::vector<TileSpec> tiles = plan_tiles(n1, n2, tile, symmetric, &ids);
  TiledJobReport report;
  report.tiles_total = static_cast<int64_t>(tiles.size());
  engine->prepare();
  int64_t entries_left = 0;
  for (size_t k = 0; k < tiles.size(); ++k)
    if (!done.count(ids[k]))
      entries_left += (tiles[k].row_end - tiles[k].row_begin) * (tiles[k].col_end - tiles[k].col_begin);
  Progress progress(entries_left, "kernel", options.ctx.progress);
  char* base = static_cast<char*>(writer.data());
  try {
    for (size_t k = 0; k < tiles.size(); ++k) {
      if (done.count(ids[k])) {
        ++report.tiles_resumed;
        continue;
      }
      if (job.stop_after_tiles >= 0 && report.tiles_computed >= job.stop_after_tiles) break;
      const TileSpec& t = tiles[k];
      void* dst = base + (t.row_begin * n2 + t.col_begin) * elem;
      engine->compute_tile(t, options.nngp ? dst : nullptr, options.ntk ? dst : nullptr, n2);
      // Make the tile durable before the journal says it is done; only the tile's rows need syncing (syncing
      // the whole map after every tile made large jobs wait on the disk).
      sync_rows(base, t.row_begin * n2 * elem, t.row_end * n2 * elem);
      std::fprintf(journal, "%lld\n", (long long)ids[k]);
      std::fflush(journal);
      fsync(fileno(journal));
      ++report.tiles_computed;
      progress.advance((t.row_end - t.row_begin) * (t.col_end - t.col_begin));
    }
  } catch (...) {
    std::fclose(journal);
    throw;
  }
  std::fclose(journal);
  progress.finish();
  if (report.tiles_computed + report.tiles_resumed < report.tiles_total)
    return report;  // stopped early (tests)
  if (symmetric) {
    // Mirror the upper triangle; tiles on the diagonal were computed whole.
    if (dtype == DType::kFloat32)
      mirror_upper_triangle(writer.data_f32(), n1, n2, options.ctx.num_threads());
    else
      mirror_upper_triangle(writer.data_f64(), n1, n2, options.ctx.num_threads());
  }
  writer.commit();
  std::remove(journal_path.c_str());
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace ntk
