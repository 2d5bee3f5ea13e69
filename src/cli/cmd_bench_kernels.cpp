// ntk bench kernels: seconds per kernel entry of the fast engines on the reference problems.
//   - FC: N = 8192 vectors of d = 3072 (CIFAR-10 sized), 10 hidden dense + relu layers, float64, and in the
//   same
//     run the input Gram alone (the SYRK the engine itself does, and a full GEMM): fc_gemm_ratio = FC / Gram.
//   - CNTK on 32 x 32 x 3 images: repeat(L, conv(3, w_std=√2), relu) then gap or flatten and a dense readout,
//     L = 5, 11, 21, float32 and float64, N chosen per case so that each finishes in reasonable time.
// Inputs are standard normal (seeded). Every entry computes NNGP and NTK of the full symmetric N x N kernel.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>

#include "cli/cmd_bench.h"
#include "cli/command.h"
#include "cli/common.h"
#include "ntk/arch.h"
#include "ntk/error.h"
#include "ntk/kernel_engine.h"
#include "ntk/version.h"
#include "platform/blas_tuning.h"

namespace ntk::cli {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct BenchKernelsArgs {
  std::string json_path;
  int64_t fc_n = 8192, fc_d = 3072;
  int fc_depth = 10;
  std::string cntk_n = "gap:5=24,11=16,21=12;flatten:5=256,11=192,21=128";
  std::string only;  // "fc" | "cntk" | "" (both)
  std::string engine = "auto";
  bool quick = false;
  int repeat = 1;  // every time is the least of this many runs
  // One custom case (used by bench/compare_neural_tangents.py): time --arch on --x1 in memory, save the
  // kernels.
  std::string arch, x1, dtype = "float64", save;
  ContextOptions ctx;
};

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

Tensor normal_tensor(std::vector<int64_t> shape, uint64_t seed) {
  Tensor t(std::move(shape));
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n(0.0, 1.0);
  for (double& v : t.data) v = n(rng);
  return t;
}

// Runs prepare() and the whole symmetric kernel as one tile (NNGP and NTK); returns seconds.
// With `save`, writes <save>/nngp.npy and <save>/ntk.npy (after the timing).
// The engine that ran the last timed kernel (each JSON entry records it).
std::string last_engine;

double time_kernel(const std::string& spec, const Tensor& x, DType dtype, const Context& base,
                   const std::string& engine_choice, const std::string& save = "") {
  const Architecture arch = Architecture::parse(spec);
  KernelOptions o;
  o.ctx = base;
  o.ctx.dtype = dtype;
  o.engine = engine_choice;
  const int64_t n = x.rows();
  const size_t bytes = static_cast<size_t>(n * n) * (dtype == DType::kFloat32 ? 4 : 8);
  // Output buffers with their pages mapped before the clock starts, as the Gram baselines' buffer is (and as
  // neural-tangents' second, timed call reuses the memory of its first): the first touch of fresh pages costs
  // the kernel's page zeroing, ~0.1 s per GB here, which is not the engine's work.
  struct FreeDeleter {
    void operator()(char* p) const { std::free(p); }
  };
  const size_t alloc = (bytes + 63) / 64 * 64;  // aligned as a memory-mapped .npy's data (page + 128 bytes)
  std::unique_ptr<char, FreeDeleter> nngp_buf(static_cast<char*>(std::aligned_alloc(64, alloc))),
      ntk_buf(static_cast<char*>(std::aligned_alloc(64, alloc)));
  NTK_THROW_IF_NOT(nngp_buf && ntk_buf, "out of memory for two %zu-byte kernels", bytes);
  char* nngp = nngp_buf.get();
  char* ntk = ntk_buf.get();
  std::memset(nngp, 0, bytes);
  std::memset(ntk, 0, bytes);
  const auto t0 = Clock::now();
  auto engine = KernelEngine::create(arch, x, nullptr, o);
  engine->prepare();
  engine->compute_tile({0, n, 0, n}, nngp, ntk, n);
  const double seconds = seconds_since(t0);
  last_engine = engine->name();
  if (!save.empty()) {
    for (const auto& [name, buf] : {std::make_pair("nngp", nngp), std::make_pair("ntk", ntk)}) {
      Matrix m(n, n);
      for (int64_t q = 0; q < n * n; ++q)
        m.data()[q] = dtype == DType::kFloat32 ? reinterpret_cast<const float*>(buf)[q]
                                               : reinterpret_cast<const double*>(buf)[q];
      save_matrix_npy(save + "/" + name + ".npy", m, dtype);
    }
  }
  return seconds;
}

// The input Gram x xᵀ / d alone: the SYRK the FC engine does, and a full GEMM (for reference).
void time_gram(const Tensor& x, double& syrk_s, double& gemm_s) {
  const int n = static_cast<int>(x.rows()), d = static_cast<int>(x.row_size());
  std::vector<double> g(static_cast<size_t>(n) * n);
  const double alpha = 1.0 / d, beta = 0.0;
  auto t0 = Clock::now();
  dsyrk_("L", "T", &n, &d, &alpha, x.data.data(), &d, &beta, g.data(), &n);
  syrk_s = seconds_since(t0);
  t0 = Clock::now();
  dgemm_("T", "N", &n, &n, &d, &alpha, x.data.data(), &d, x.data.data(), &d, &beta, g.data(), &n);
  gemm_s = seconds_since(t0);
}

std::string cntk_arch(int depth, const std::string& readout) {
  return "repeat(" + std::to_string(depth) + ", conv(3, w_std=1.4142135623730951), relu), " + readout +
         ", dense";
}

// "gap:5=48,11=24;flatten:5=512" -> N for (readout, depth)
int64_t cntk_n_for(const std::string& table, const std::string& readout, int depth) {
  size_t pos = 0;
  while (pos < table.size()) {
    size_t end = table.find(';', pos);
    if (end == std::string::npos) end = table.size();
    const std::string part = table.substr(pos, end - pos);
    const size_t colon = part.find(':');
    NTK_THROW_IF_NOT(colon != std::string::npos, "--cntk-n: '%s' is not readout:depth=N,...", part.c_str());
    if (part.substr(0, colon) == readout) {
      size_t p = colon + 1;
      while (p < part.size()) {
        size_t e = part.find(',', p);
        if (e == std::string::npos) e = part.size();
        const std::string item = part.substr(p, e - p);
        const size_t eq = item.find('=');
        NTK_THROW_IF_NOT(eq != std::string::npos, "--cntk-n: '%s' is not depth=N", item.c_str());
        if (std::stoi(item.substr(0, eq)) == depth) return std::stoll(item.substr(eq + 1));
        p = e + 1;
      }
    }
    pos = end + 1;
  }
  NTK_THROW("--cntk-n has no N for %s depth %d", readout.c_str(), depth);
}

void run(const BenchKernelsArgs& a) {
  const Context ctx = a.ctx.make();
  json out;
  out["ntk_version"] = NTK_VERSION_STRING;
  out["threads"] = ctx.num_threads();
  out["blas"] = platform::blas_vendor();
  out["repeat"] = a.repeat;
  out["entries"] = json::array();
  if (!a.arch.empty() || !a.x1.empty()) {
    NTK_THROW_IF_NOT(!a.arch.empty() && !a.x1.empty(), "a custom case needs both --arch and --x1");
    const Tensor x = load_inputs(a.x1);
    const DType dt = parse_dtype(a.dtype);
    // Timed as neural-tangents is in bench/compare_neural_tangents.py: after one untimed call in the same
    // process (which starts BLAS's threads and maps its buffers), the least of --repeat calls.
    const double first = time_kernel(a.arch, x, dt, ctx, a.engine, "");
    double s = time_kernel(a.arch, x, dt, ctx, a.engine, a.save);
    for (int r = 1; r < a.repeat; ++r) s = std::min(s, time_kernel(a.arch, x, dt, ctx, a.engine, ""));
    const int64_t n = x.rows();
    std::printf("%s %s N=%lld: %.3f s, %.3e s/entry (first call %.3f s)\n", a.arch.c_str(), dtype_name(dt),
                static_cast<long long>(n), s, s / static_cast<double>(n * n), first);
    out["entries"].push_back({{"name", "custom"},
                              {"engine", last_engine},
                              {"arch", a.arch},
                              {"dtype", dtype_name(dt)},
                              {"n", n},
                              {"seconds", s},
                              {"first_call_seconds", first},
                              {"seconds_per_entry", s / static_cast<double>(n * n)}});
    if (!a.json_path.empty()) {
      std::ofstream f(a.json_path);
      NTK_THROW_KIND_IF_NOT(ErrorKind::kIo, static_cast<bool>(f), "cannot write %s", a.json_path.c_str());
      f << out.dump(2) << "\n";
    }
    return;
  }
  std::printf("%-28s %-8s %7s %12s %14s  %s\n", "case", "dtype", "N", "seconds", "s/entry", "engine");
  auto report = [&](const std::string& name, const std::string& arch, DType dt, int64_t n, double s,
                    json extra) {
    const double per = s / static_cast<double>(n * n);
    std::printf("%-28s %-8s %7lld %12.3f %14.3e  %s\n", name.c_str(), dtype_name(dt),
                static_cast<long long>(n), s, per, last_engine.c_str());
    std::fflush(stdout);
    json e = {{"name", name}, {"engine", last_engine},   {"arch", arch}, {"dtype", dtype_name(dt)}, {"n", n},
              {"seconds", s}, {"seconds_per_entry", per}};
    for (auto& [k, v] : extra.items()) e[k] = v;
    out["entries"].push_back(e);
  };
  if (a.only.empty() || a.only == "fc") {
    const int64_t n = a.quick ? std::min<int64_t>(a.fc_n, 2048) : a.fc_n;
    const Tensor x = normal_tensor({n, a.fc_d}, 1);
    std::string arch =
        "repeat(" + std::to_string(a.fc_depth) + ", dense(w_std=1.4142135623730951, b_std=0.1), relu), dense";
    double syrk_s = 0, gemm_s = 0;
    time_gram(x, syrk_s, gemm_s);  // also warms up BLAS threads
    double s = time_kernel(arch, x, DType::kFloat64, ctx, a.engine);
    time_gram(x, syrk_s, gemm_s);
    for (int r = 1; r < a.repeat; ++r) {
      double sy = 0, ge = 0;
      s = std::min(s, time_kernel(arch, x, DType::kFloat64, ctx, a.engine));
      time_gram(x, sy, ge);
      syrk_s = std::min(syrk_s, sy);
      gemm_s = std::min(gemm_s, ge);
    }
    const double ratio = s / gemm_s, syrk_ratio = s / syrk_s;
    report("fc_depth" + std::to_string(a.fc_depth), arch, DType::kFloat64, n, s,
           {{"d", a.fc_d},
            {"gram_syrk_seconds", syrk_s},
            {"gram_gemm_seconds", gemm_s},
            {"fc_gemm_ratio", ratio},
            {"fc_syrk_ratio", syrk_ratio}});
    std::printf(
        "  input Gram alone (%s): GEMM %.3f s, SYRK %.3f s; fc_gemm_ratio (FC / GEMM) = %.3f, "
        "fc_syrk_ratio (FC / SYRK) = %.3f\n",
        platform::blas_vendor(), gemm_s, syrk_s, ratio, syrk_ratio);
    out["fc_gemm_ratio"] = ratio;
    out["fc_syrk_ratio"] = syrk_ratio;
    out["fc"] = {{"n", n},
                 {"d", a.fc_d},
                 {"depth", a.fc_depth},
                 {"seconds", s},
                 {"gram_syrk_seconds", syrk_s},
                 {"gram_gemm_seconds", gemm_s},
                 {"fc_gemm_ratio", ratio},
                 {"fc_syrk_ratio", syrk_ratio}};
  }
  if (a.only.empty() || a.only == "cntk") {
    for (const std::string readout : {"gap", "flatten"})
      for (int depth : {5, 11, 21})
        for (DType dt : {DType::kFloat32, DType::kFloat64}) {
          int64_t n = cntk_n_for(a.cntk_n, readout, depth);
          if (a.quick) n = std::max<int64_t>(2, n / 4);
          const Tensor x = normal_tensor({n, 32, 32, 3}, 2);
          const std::string arch = cntk_arch(depth, readout);
          double s = time_kernel(arch, x, dt, ctx, a.engine);
          for (int r = 1; r < a.repeat; ++r) s = std::min(s, time_kernel(arch, x, dt, ctx, a.engine));
          report("cntk_" + readout + "_depth" + std::to_string(depth), arch, dt, n, s, json::object());
        }
  }
  if (!a.json_path.empty()) {
    std::ofstream f(a.json_path);
    NTK_THROW_KIND_IF_NOT(ErrorKind::kIo, static_cast<bool>(f), "cannot write %s", a.json_path.c_str());
    f << out.dump(2) << "\n";
  }
}

void register_bench_kernels(CLI::App& app) {
  auto a = std::make_shared<BenchKernelsArgs>();
  CLI::App* cmd = bench_command(app)->add_subcommand(
      "kernels",
      "seconds per kernel entry: FC (with the input Gram alone, fc_gemm_ratio) and CNTK gap/flatten");
  cmd->add_option("--json", a->json_path, "write the results as JSON to this file");
  cmd->add_option("--fc-n", a->fc_n, "FC: number of inputs")->capture_default_str();
  cmd->add_option("--fc-d", a->fc_d, "FC: input dimension")->capture_default_str();
  cmd->add_option("--fc-depth", a->fc_depth, "FC: hidden dense + relu layers")->capture_default_str();
  cmd->add_option("--cntk-n", a->cntk_n, "CNTK: N per readout and depth")->capture_default_str();
  cmd->add_option("--only", a->only, "fc | cntk (default: both)");
  cmd->add_option("--engine", a->engine,
                  "kernel engine: auto, reference (small N only), fast, or a name from `ntk engines`")
      ->capture_default_str();
  cmd->add_flag("--quick", a->quick, "smaller N everywhere (smoke test)");
  cmd->add_option("--repeat", a->repeat, "report the least time of this many runs of every case")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--arch", a->arch, "custom case: architecture (with --x1; NNGP and NTK of x1 with itself)");
  cmd->add_option("--x1", a->x1, "custom case: inputs (.npy, ...)");
  cmd->add_option("--dtype", a->dtype, "custom case: float64 | float32")->capture_default_str();
  cmd->add_option("--save", a->save, "custom case: write nngp.npy and ntk.npy into this folder (not timed)");
  a->ctx.add_to(cmd, false);
  cmd->callback([a]() { run(*a); });
}

}  // namespace

NTK_REGISTER_COMMAND(901, register_bench_kernels);

}  // namespace ntk::cli
