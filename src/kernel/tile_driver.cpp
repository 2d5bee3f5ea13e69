// The tile driver (ntk/tile_driver.h): plans, sinks, the loop over tiles, memory checks.
#include "ntk/tile_driver.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "ntk/error.h"
#include "ntk/progress.h"

namespace ntk {

TilePlan plan_tiles(int64_t n1, int64_t n2, int64_t tile, bool symmetric) {
  NTK_THROW_IF_NOT(tile >= 1, "tile must be >= 1, got %lld", (long long)tile);
  TilePlan plan;
  plan.rows = n1;
  plan.cols = n2;
  plan.tile = tile;
  plan.symmetric = symmetric;
  const int64_t tr = (n1 + tile - 1) / tile, tc = (n2 + tile - 1) / tile;
  for (int64_t a = 0; a < tr; ++a)
    for (int64_t b = symmetric ? a : 0; b < tc; ++b) {
      plan.tiles.push_back({a * tile, std::min(n1, (a + 1) * tile), b * tile, std::min(n2, (b + 1) * tile)});
      plan.ids.push_back(a * tc + b);
    }
  return plan;
}

TilePlan plan_tiles(const KernelEngine& engine, int64_t tile) {
  return plan_tiles(engine.rows(), engine.cols(), tile > 0 ? tile : default_tile(engine), engine.symmetric());
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
                   "memory: expected a size such as 512M or 4G, got '%s'", text.c_str());
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
    NTK_THROW("memory: unknown unit '%s' in '%s' (use K, M, G or T)", end, text.c_str());
  return static_cast<int64_t>(v * mult);
}

std::string format_bytes(int64_t bytes) {
  const double b = static_cast<double>(bytes);
  if (b >= 1024.0 * 1024 * 1024) return strprintf("%.2f GiB", b / (1024.0 * 1024 * 1024));
  if (b >= 1024.0 * 1024) return strprintf("%.1f MiB", b / (1024.0 * 1024));
  return strprintf("%.0f KiB", b / 1024.0);
}

BufferSink::BufferSink(void* nngp, void* ntk, int64_t ld, DType dtype)
    : nngp_(static_cast<char*>(nngp)), ntk_(static_cast<char*>(ntk)), ld_(ld), dtype_(dtype) {}

TileTarget BufferSink::target(const TileSpec& t) {
  const size_t item = dtype_ == DType::kFloat32 ? sizeof(float) : sizeof(double);
  const size_t off = static_cast<size_t>(t.row_begin * ld_ + t.col_begin) * item;
  return {nngp_ ? nngp_ + off : nullptr, ntk_ ? ntk_ + off : nullptr, ld_};
}

void BufferSink::complete(const TilePlan& plan, int threads) {
  if (!plan.symmetric) return;
  for (char* m : {nngp_, ntk_}) {
    if (!m) continue;
    if (dtype_ == DType::kFloat32)
      mirror_upper_triangle(reinterpret_cast<float*>(m), plan.rows, ld_, threads);
    else
      mirror_upper_triangle(reinterpret_cast<double*>(m), plan.rows, ld_, threads);
  }
}

TileRunReport run_tiles(const KernelEngine& engine, const TilePlan& plan, TileSink& sink,
                        const TileHooks& hooks, int threads) {
  const auto start = std::chrono::steady_clock::now();
  TileRunReport report;
  report.engine = engine.name();
  report.tiles_total = static_cast<int64_t>(plan.tiles.size());
  std::vector<size_t> todo;
  int64_t entries = 0;
  for (size_t k = 0; k < plan.tiles.size(); ++k) {
    if (sink.finished(plan.ids[k])) {
      ++report.tiles_resumed;
      continue;
    }
    if (hooks.owns && !hooks.owns(plan.ids[k])) continue;
    todo.push_back(k);
    entries += plan.entries(k);
  }
  Progress bar(entries, "kernel", hooks.progress && !hooks.on_progress);
  int64_t done = 0;
  for (size_t k : todo) {
    if (hooks.stop_after_tiles >= 0 && report.tiles_computed >= hooks.stop_after_tiles) break;
    if (hooks.between_tiles) hooks.between_tiles();
    const TileSpec& t = plan.tiles[k];
    const TileTarget target = sink.target(t);
    engine.compute_tile(t, target.nngp, target.ntk, target.ld);
    sink.tile_done(plan.ids[k], t);
    ++report.tiles_computed;
    done += plan.entries(k);
    if (hooks.on_progress)
      hooks.on_progress(done, entries);
    else
      bar.advance(plan.entries(k));
  }
  if (hooks.between_tiles) hooks.between_tiles();
  bar.finish();
  if (report.tiles_computed + report.tiles_resumed == report.tiles_total) {
    sink.complete(plan, threads);
    report.complete = true;
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

MemoryNeed memory_need(const KernelEngine& engine, const Tensor& x1, const Tensor* x2, int threads,
                       bool output_in_memory, bool nngp, bool ntk) {
  MemoryNeed m;
  m.inputs = static_cast<int64_t>((x1.data.size() + (x2 ? x2->data.size() : 0)) * sizeof(double));
  m.prepared = engine.prepared_bytes();
  m.per_thread = engine.bytes_per_pair();
  m.threads = threads;
  if (output_in_memory)
    m.output = engine.rows() * engine.cols() * (engine.dtype() == DType::kFloat32 ? 4 : 8) *
               ((nngp ? 1 : 0) + (ntk ? 1 : 0));
  return m;
}

void check_memory(const MemoryNeed& need, int64_t budget, const std::string& advice) {
  if (budget <= 0) budget = physical_memory_bytes() / 10 * 8;
  NTK_THROW_KIND_IF_NOT(ErrorKind::kOutOfMemory, need.total() <= budget,
                        "this job needs at least %s of memory (inputs %s, per-input state %s, %d threads x "
                        "%s per pair%s%s) but "
                        "the budget (memory) is %s; %s",
                        format_bytes(need.total()).c_str(), format_bytes(need.inputs).c_str(),
                        format_bytes(need.prepared).c_str(), need.threads,
                        format_bytes(need.per_thread).c_str(), need.output ? ", kernels " : "",
                        need.output ? format_bytes(need.output).c_str() : "", format_bytes(budget).c_str(),
                        advice.c_str());
}

}  // namespace ntk
