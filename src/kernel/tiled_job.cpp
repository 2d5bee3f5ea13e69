#include "ntk/tiled_job.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
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

struct NpyFileSink::State {
  std::string journal_path;
  io::NpyMapWriter writer;
  std::set<int64_t> done;
  FILE* journal = nullptr;
  int64_t cols = 0, elem = 8;
  DType dtype = DType::kFloat64;
  bool want_ntk = true;
  explicit State(io::NpyMapWriter w) : writer(std::move(w)) {}
};

NpyFileSink::NpyFileSink(const std::string& out_path, const TilePlan& plan, DType dtype, bool want_ntk,
                         bool resume, const std::string& fingerprint) {
  const std::string partial = out_path + ".partial";
  const std::string journal_path = partial + ".journal";
  std::set<int64_t> done;
  bool torn_tail = false;
  if (resume) {
    std::ifstream j(journal_path, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(j)), std::istreambuf_iterator<char>());
    // Only lines ended by a newline count: a write cut short (a full disk, a file-size limit) can leave a
    // torn last line such as "45" of "456", which must not claim tile 45.
    torn_tail = !text.empty() && text.back() != '\n';
    std::vector<std::string> lines;
    for (size_t begin = 0, end; (end = text.find('\n', begin)) != std::string::npos; begin = end + 1)
      lines.push_back(text.substr(begin, end - begin));
    if (!lines.empty()) {
      NTK_THROW_IF_NOT(lines[0] == fingerprint,
                       "%s: cannot resume: it belongs to a different job (architecture, inputs "
                       "or options changed); remove it or run without resume",
                       journal_path.c_str());
      for (size_t i = 1; i < lines.size(); ++i) {
        char* end = nullptr;
        const long long t = std::strtoll(lines[i].c_str(), &end, 10);
        if (!lines[i].empty() && end && *end == '\0' && t >= 0) done.insert(t);
      }
      resumed_ = true;
    }
  }
  const std::vector<int64_t> shape = {plan.rows, plan.cols};
  state_ = std::make_unique<State>(resumed_ ? io::NpyMapWriter::open_existing(out_path, partial, shape, dtype)
                                            : io::NpyMapWriter::create(out_path, shape, dtype, partial));
  state_->journal_path = journal_path;
  state_->done = std::move(done);
  state_->cols = plan.cols;
  state_->dtype = dtype;
  state_->elem = dtype == DType::kFloat32 ? 4 : 8;
  state_->want_ntk = want_ntk;
  if (!resumed_ || torn_tail) {
    // A new journal, or one with a torn last line written back clean before new tiles are appended to it.
    // (Only the team's lead can find a torn tail: it cleans the journal before the other ranks read it.)
    std::string text = fingerprint + "\n";
    for (const int64_t t : state_->done) text += std::to_string(t) + "\n";
    io::AtomicFile jf(journal_path);
    jf.write(text);
    jf.commit();
  }
  state_->journal = std::fopen(journal_path.c_str(), "a");
  NTK_THROW_KIND_IF_NOT(ErrorKind::kIo, state_->journal != nullptr, "%s: cannot open the job journal: %s",
                        journal_path.c_str(), std::strerror(errno));
}

NpyFileSink::~NpyFileSink() {
  if (state_ && state_->journal) std::fclose(state_->journal);
}

TileTarget NpyFileSink::target(const TileSpec& t) {
  char* base = static_cast<char*>(state_->writer.data());
  void* dst = base + (t.row_begin * state_->cols + t.col_begin) * state_->elem;
  return {state_->want_ntk ? nullptr : dst, state_->want_ntk ? dst : nullptr, state_->cols};
}

bool NpyFileSink::finished(int64_t id) const {
  return state_->done.count(id) > 0;
}

void NpyFileSink::tile_done(int64_t id, const TileSpec& t) {
  // Make the tile durable before the journal says it is done; only the tile's rows need syncing (syncing
  // the whole map after every tile made large jobs wait on the disk).
  char* base = static_cast<char*>(state_->writer.data());
  sync_rows(base, t.row_begin * state_->cols * state_->elem, t.row_end * state_->cols * state_->elem);
  std::fprintf(state_->journal, "%lld\n", (long long)id);
  NTK_THROW_KIND_IF_NOT(
      ErrorKind::kIo, std::fflush(state_->journal) == 0 && fsync(fileno(state_->journal)) == 0,
      "%s: cannot write the job journal: %s", state_->journal_path.c_str(), std::strerror(errno));
  state_->done.insert(id);
}

void NpyFileSink::complete(const TilePlan& plan, int threads) {
  if (plan.symmetric) {
    // Mirror the upper triangle; tiles on the diagonal were computed whole.
    if (state_->dtype == DType::kFloat32)
      mirror_upper_triangle(state_->writer.data_f32(), plan.rows, plan.cols, threads);
    else
      mirror_upper_triangle(state_->writer.data_f64(), plan.rows, plan.cols, threads);
  }
  state_->writer.commit();
  std::fclose(state_->journal);
  state_->journal = nullptr;
  std::remove(state_->journal_path.c_str());
}

std::vector<bool> assign_tiles(const TilePlan& plan, const TileSink& sink, int rank, int size) {
  NTK_THROW_IF_NOT(size >= 1 && rank >= 0 && rank < size, "rank %d of %d processes is out of range", rank,
                   size);
  int64_t ids = 0;
  for (int64_t id : plan.ids) ids = std::max(ids, id + 1);
  std::vector<bool> mine(static_cast<size_t>(ids), false);
  std::vector<int64_t> load(static_cast<size_t>(size), 0);
  for (size_t k = 0; k < plan.tiles.size(); ++k) {
    if (sink.finished(plan.ids[k])) continue;
    const int who = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
    load[static_cast<size_t>(who)] += plan.entries(k);
    if (who == rank) mine[static_cast<size_t>(plan.ids[k])] = true;
  }
  return mine;
}

TiledJobReport run_tiled_kernel_job(const Architecture& arch, const Tensor& x1, const Tensor* x2,
                                    const KernelOptions& options_in, const TiledJobOptions& job) {
  const auto start = std::chrono::steady_clock::now();
  KernelOptions options = options_in;
  options.nngp = !job.want_ntk;
  options.ntk = job.want_ntk;
  auto engine = KernelEngine::create(arch, x1, x2, options);
  const int threads = options.ctx.num_threads();
  const DType dtype = engine->dtype();
  const int64_t elem = dtype == DType::kFloat32 ? 4 : 8;

  // Memory: inputs + per-input state + per-thread pair states. The output lives on disk (mmap).
  const MemoryNeed need = memory_need(*engine, x1, x2, threads, false, options.nngp, options.ntk);
  check_memory(need, job.memory_bytes, "use fewer inputs per job, fewer threads, or a larger memory budget");
  const int64_t budget = job.memory_bytes > 0 ? job.memory_bytes : physical_memory_bytes() / 10 * 8;
  int64_t tile = job.tile;
  NTK_THROW_IF_NOT(tile >= 0, "tile must be >= 1, got %lld", (long long)tile);
  if (tile == 0) {
    tile = default_tile(*engine);
    // Tile buffers are written straight into the map; keep the touched window within the budget anyway.
    while (tile > 16 && need.total() + tile * tile * elem * 2 > budget) tile /= 2;
  }
  // Every process of a team takes rank 0's tile edge (budgets may differ between machines).
  if (job.team) tile = job.team->sum(job.team->rank() == 0 ? tile : 0);
  const TilePlan plan = plan_tiles(*engine, tile);

  // The job's fingerprint: a resumed journal must describe exactly this computation.
  uint64_t h = fnv1a(arch.describe().data(), arch.describe().size());
  h = tensor_hash(x1, h);
  if (x2) h = tensor_hash(*x2, h);
  const std::string meta =
      strprintf("%s|%s|%s|tile=%lld|sym=%d", parameterization_name(options.parameterization),
                dtype_name(dtype), job.want_ntk ? "ntk" : "nngp", (long long)tile, plan.symmetric);
  h = fnv1a(meta.data(), meta.size(), h);
  const std::string fingerprint =
      strprintf("ntk-tiled-job v1 %016llx %s", (unsigned long long)h, meta.c_str());

  // A team: rank 0 creates (or reopens) the file and journal before the others open them.
  TileTeam* team = job.team;
  const bool lead = !team || team->rank() == 0;
  std::unique_ptr<NpyFileSink> sink;
  if (lead)
    sink = std::make_unique<NpyFileSink>(job.out_path, plan, dtype, job.want_ntk, job.resume, fingerprint);
  if (team) team->barrier();
  if (!lead) sink = std::make_unique<NpyFileSink>(job.out_path, plan, dtype, job.want_ntk, true, fingerprint);
  // Every rank has read the journal before any appends to it: they all deal out the same tiles.
  if (team) team->barrier();
  engine->prepare();
  TileHooks hooks;
  hooks.progress = options.ctx.progress && lead;
  hooks.stop_after_tiles = job.stop_after_tiles;
  std::vector<bool> mine;
  if (team) {
    mine = assign_tiles(plan, *sink, team->rank(), team->size());
    hooks.owns = [&](int64_t id) { return static_cast<bool>(mine[static_cast<size_t>(id)]); };
  }
  const TileRunReport r = run_tiles(*engine, plan, *sink, hooks, threads);
  TiledJobReport report;
  report.engine = r.engine;
  report.tiles_total = r.tiles_total;
  report.tiles_computed = r.tiles_computed;
  report.tiles_resumed = r.tiles_resumed;
  report.complete = r.complete;
  if (team) {
    // Stopped early (the test hook): leave like a killed process, without waiting for the others.
    if (job.stop_after_tiles >= 0 && r.tiles_computed >= job.stop_after_tiles &&
        std::count(mine.begin(), mine.end(), true) > r.tiles_computed)
      return report;
    report.tiles_computed = team->sum(r.tiles_computed);  // also waits for every rank's tiles
    report.complete = report.tiles_computed + report.tiles_resumed == report.tiles_total;
    if (lead && report.complete && !r.complete) sink->complete(plan, threads);
    team->barrier();  // the file is committed before any rank returns
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace ntk
