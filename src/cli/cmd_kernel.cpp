// ntk kernel / ntk empirical: the exact infinite-width kernel, and its Monte Carlo estimate from finite
// networks.
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "cli/command.h"
#include "cli/common.h"
#include "ntk/arch.h"
#include "ntk/distributed.h"
#include "ntk/engine_registry.h"
#include "ntk/error.h"
#include "ntk/network.h"
#include "ntk/tiled_job.h"

namespace ntk::cli {
namespace {

struct KernelArgs {
  std::string arch, x1, x2, get = "ntk", parameterization = "ntk", out;
  ContextOptions ctx;
  bool resume = false;
  std::string memory;
  int64_t tile = 0;
  std::string engine = "auto";
  bool verbose = false;
};

void add_common(CLI::App* cmd, KernelArgs& a) {
  cmd->add_option("--arch", a.arch,
                  "architecture, e.g. 'dense(w_std=1.5, b_std=0.2), relu, dense' "
                  "(docs/architecture.md)")
      ->required();
  cmd->add_option("--x1", a.x1, "inputs (N1, d) or (N1, H, W, C): .npy (float32/float64), .csv, IDX")
      ->required();
  cmd->add_option("--x2", a.x2, "second inputs (N2, ...); default: x1 (symmetric kernel)");
  cmd->add_option("--get", a.get, "which kernel: ntk | nngp")
      ->capture_default_str()
      ->check(CLI::IsMember({"ntk", "nngp"}));
  // mup is accepted here so that the exact kernel can say why it has none (check_kernel_parameterization);
  // `ntk empirical` measures finite muP networks.
  cmd->add_option("--parameterization", a.parameterization,
                  "ntk | standard (neural-tangents' definitions); mup: finite networks only (empirical)")
      ->capture_default_str()
      ->check(CLI::IsMember({"ntk", "standard", "mup"}));
  cmd->add_option("--out", a.out, "output N1 x N2 kernel (.npy, written atomically)")->required();
  a.ctx.add_to(cmd);
}

void register_kernel(CLI::App& app) {
  auto a = std::make_shared<KernelArgs>();
  CLI::App* cmd = app.add_subcommand("kernel", "exact infinite-width NTK or NNGP kernel");
  cmd->footer(
      "Examples:\n  ntk kernel --arch 'repeat(3, conv(3), relu), gap, dense' --x1 images.npy --out K.npy\n"
      "  ntk kernel --arch 'dense, relu, dense' --x1 train.csv --x2 test.csv --get nngp --out K.npy\n"
      "  ntk kernel --arch 'repeat(10, conv(3), relu), gap, dense' --x1 big.npy --memory 8G --out K.npy\n"
      "  (killed?) run the same command with --resume: finished tiles are kept.\n"
      "The kernel is computed in tiles written into <out>.partial (memory-mapped) as they finish, with a\n"
      "journal <out>.partial.journal; <out> appears only when the whole kernel is done.");
  add_common(cmd, *a);
  cmd->add_flag("--resume", a->resume, "continue a killed run of the same job from <out>.partial");
  cmd->add_option("--memory", a->memory,
                  "working-memory budget, e.g. 4G (default: 80% of RAM); a job that cannot "
                  "fit is refused before it starts");
  cmd->add_option("--tile", a->tile,
                  "tile edge in pairs (default 2048 for fully-connected kernels, 256 otherwise)");
  cmd->add_option("--engine", a->engine,
                  "kernel engine: auto (the fastest that can run the case), reference, fast, or a name "
                  "listed by `ntk engines`")
      ->capture_default_str();
  cmd->add_flag("-v,--verbose", a->verbose, "say which engine ran, and the tiles and time, on stderr");
  cmd->callback([a]() {
    check_output_path(a->out);
    Architecture arch = Architecture::parse(a->arch);
    KernelOptions opt;
    opt.parameterization = parse_parameterization(a->parameterization);
    check_kernel_parameterization(opt.parameterization);  // before any data is read
    dist::Communicator& world = dist::world();
    opt.ctx = a->ctx.make();
    if (world.size() > 1) {
      // Ranks on one machine share its cores unless --threads says otherwise; only rank 0 draws progress.
      if (a->ctx.threads == 0) opt.ctx.threads = rank_threads(world);
      if (world.rank() != 0) opt.ctx.progress = false;
    }
    opt.engine = a->engine;
    TiledJobOptions job;
    if (world.size() > 1) job.team = &world;
    job.out_path = a->out;
    job.want_ntk = a->get == "ntk";
    job.resume = a->resume;
    job.tile = a->tile;
    if (!a->memory.empty()) job.memory_bytes = parse_memory_size(a->memory);
    if (const char* stop = std::getenv("NTK_TEST_STOP_AFTER_TILES")) job.stop_after_tiles = std::atoll(stop);
    Tensor x1 = load_inputs(a->x1);
    Tensor x2;
    if (!a->x2.empty()) x2 = load_inputs(a->x2);
    TiledJobReport r = run_tiled_kernel_job(arch, x1, a->x2.empty() ? nullptr : &x2, opt, job);
    NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, r.complete || job.stop_after_tiles >= 0,
                          "%s: %lld of %lld tiles are missing after every process finished", a->out.c_str(),
                          (long long)(r.tiles_total - r.tiles_computed - r.tiles_resumed),
                          (long long)r.tiles_total);
    if (!r.complete) {
      // Only reachable through NTK_TEST_STOP_AFTER_TILES: leave like a killed process would.
      std::fprintf(stderr, "ntk: stopped after %lld of %lld tiles (test hook)\n", (long long)r.tiles_computed,
                   (long long)r.tiles_total);
      std::_Exit(137);
    }
    if (world.rank() != 0) return;
    if (r.tiles_resumed > 0)
      std::fprintf(stderr, "ntk: resumed: %lld of %lld tiles were already done\n", (long long)r.tiles_resumed,
                   (long long)r.tiles_total);
    if (a->verbose)
      std::fprintf(
          stderr,
          "ntk: engine %s, %lld tiles (%lld computed, %lld resumed), %d process%s x %d threads, %.3f s\n",
          r.engine.c_str(), (long long)r.tiles_total, (long long)r.tiles_computed, (long long)r.tiles_resumed,
          world.size(), world.size() > 1 ? "es" : "", opt.ctx.num_threads(), r.seconds);
  });
}

struct EmpiricalArgs : KernelArgs {
  int64_t width = 512;
  uint64_t seed = 0;
  int samples = 1;
};

void register_empirical(CLI::App& app) {
  auto a = std::make_shared<EmpiricalArgs>();
  CLI::App* cmd =
      app.add_subcommand("empirical", "empirical NTK / NNGP of finite networks (Monte Carlo mean)");
  cmd->footer(
      "Example:\n  ntk empirical --arch 'dense, relu, dense' --x1 x.npy --width 1024 --samples 100 "
      "--out K.npy\n"
      "The NTK is <df(x)/dθ, df(x')/dθ> of each network, the NNGP f(x) f(x'); both are averaged over\n"
      "--samples networks drawn with seeds seed, seed+1, ... and over the readout's outputs. The NNGP\n"
      "estimate converges with samples x readout outputs, not with the width: for it use a wide readout,\n"
      "e.g. --arch 'dense, relu, dense(width=256)'.");
  add_common(cmd, *a);
  cmd->add_option("--width", a->width, "width of every hidden dense/conv layer without an explicit width=")
      ->capture_default_str();
  cmd->add_option("--seed", a->seed, "seed of the first network")->capture_default_str();
  cmd->add_option("--samples", a->samples, "number of networks to average")->capture_default_str();
  cmd->callback([a]() {
    check_output_path(a->out);
    NTK_THROW_IF_NOT(a->width >= 1, "--width must be >= 1, got %lld", (long long)a->width);
    NTK_THROW_IF_NOT(a->samples >= 1, "--samples must be >= 1, got %d", a->samples);
    Architecture::parse(a->arch, ParseOptions{a->width});  // report spec errors before loading data
    Context ctx = a->ctx.make(a->seed);
    Tensor x1 = load_inputs(a->x1);
    Tensor x2;
    if (!a->x2.empty()) x2 = load_inputs(a->x2);
    if (!a->x2.empty())
      NTK_THROW_IF_NOT(x1.row_size() == x2.row_size() && x1.rank() == x2.rank(),
                       "x1 and x2 have different example shapes: x1 %s, x2 %s", x1.shape_string().c_str(),
                       x2.shape_string().c_str());
    MonteCarloKernels k =
        monte_carlo_kernels(a->arch, a->width, x1, a->x2.empty() ? nullptr : &x2, a->samples, a->seed,
                            parse_parameterization(a->parameterization), ctx, a->get == "ntk");
    save_matrix_npy(a->out, a->get == "ntk" ? k.ntk : k.nngp, ctx.dtype);
  });
}

void register_engines(CLI::App& app) {
  auto a = std::make_shared<KernelArgs>();
  CLI::App* cmd =
      app.add_subcommand("engines", "which kernel engines can run a case, and why the others cannot");
  cmd->footer(
      "Example:\n  ntk engines --arch 'repeat(3, conv(3), relu), avgpool(2), gap, dense' --x1 images.npy\n"
      "One line per engine: its name, then `yes` or the reason it cannot run this case. `ntk kernel\n"
      "--engine auto` takes the first `yes` (the fast engines before the reference engine).");
  cmd->add_option("--arch", a->arch, "architecture (docs/architecture.md)")->required();
  cmd->add_option("--x1", a->x1, "inputs (N1, d) or (N1, H, W, C)")->required();
  cmd->add_option("--x2", a->x2, "second inputs; default: x1");
  cmd->add_option("--get", a->get, "which kernel: ntk | nngp")
      ->capture_default_str()
      ->check(CLI::IsMember({"ntk", "nngp"}));
  cmd->add_option("--parameterization", a->parameterization, "ntk | standard")
      ->capture_default_str()
      ->check(CLI::IsMember({"ntk", "standard", "mup"}));
  a->ctx.add_to(cmd);
  cmd->callback([a]() {
    Architecture arch = Architecture::parse(a->arch);
    KernelOptions opt;
    opt.parameterization = parse_parameterization(a->parameterization);
    check_kernel_parameterization(opt.parameterization);
    opt.ctx = a->ctx.make();
    opt.nngp = a->get == "nngp";
    opt.ntk = a->get == "ntk";
    Tensor x1 = load_inputs(a->x1);
    Tensor x2;
    if (!a->x2.empty()) x2 = load_inputs(a->x2);
    const EngineCase c{arch, x1, a->x2.empty() ? nullptr : &x2, opt};
    size_t width = 0;
    for (const EngineInfo& e : EngineRegistry::instance().all()) width = std::max(width, e.name.size());
    for (const auto& [name, why] : engine_support(c))
      std::printf("%-*s  %s\n", static_cast<int>(width), name.c_str(), why.empty() ? "yes" : why.c_str());
    if (a->ctx.device == "cuda" && !EngineRegistry::instance().find("cuda"))
      std::printf("%-*s  %s\n", static_cast<int>(width), "cuda",
                  "this build has no CUDA engine (NTK_ENABLE_CUDA=OFF)");
  });
}

NTK_REGISTER_COMMAND(10, register_kernel);
NTK_REGISTER_COMMAND(15, register_engines);
NTK_REGISTER_COMMAND(20, register_empirical);

}  // namespace
}  // namespace ntk::cli
