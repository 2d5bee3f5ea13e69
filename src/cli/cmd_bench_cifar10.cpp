// ntk bench cifar10: kernel regression on CIFAR-10 subsets with any architecture or preset, ZCA, flips and the
// few-shot table of Arora et al. 2020.
#include <nlohmann/json.hpp>

#include "cli/cmd_bench.h"
#include "cli/command.h"
#include "cli/common.h"
#include "cli/options.h"
#include "ntk/bench_cifar.h"
#include "ntk/error.h"
#include "ntk/io.h"

namespace ntk::cli {
namespace {

// The experiment's options are the library's CifarBenchOptions, whose table declares the flags.
struct Args {
  CifarBenchOptions o;
  std::string json;
  ContextOptions ctx;
};

void register_bench_cifar10(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* cmd = bench_command(app)->add_subcommand(
      "cifar10",
      "kernel regression on CIFAR-10 subsets: any architecture or preset (CNTK sweep of Arora et al. 2019 by "
      "default), ZCA, flips, few-shot table of Arora et al. 2020");
  cmd->footer(
      "DIR is the official cifar-10-batches-bin folder, or an image-folder root with train/ (and test/; without\n"
      "it a disjoint part of train/ is held out). Without --arch the sweep runs cntk_v(d) (--readouts flatten)\n"
      "and cntk_gap(d) (gap) for d in --depths. Only the train x train and test x train kernel blocks are\n"
      "computed, once for all sizes and repeats (the union of their training images); preprocessing is fitted on\n"
      "training images only. Targets are one-hot -0.1 / 0.9; the ridge is chosen among --diag-reg by\n"
      "--ridge-folds-fold cross-validation on each training set.\n"
      "Examples:\n  ntk bench cifar10 --data cifar10 --train 500,1000,2000 --test 1000 --depths 3,11 "
      "--readouts flatten,gap\n"
      "  ntk bench cifar10 --data cifar10 --arch myrtle5 --preprocess zca --flip --few-shot 10,20,40,80 "
      "--repeats 5 --test 1000");
  add_options(cmd, cifar_bench_options(), a->o);
  cmd->add_option("--json", a->json,
                  "write the runs as JSON: {\"runs\": [{arch, kernel, train, repeat, test, accuracy, ...}], "
                  "\"summary\": [...]}");
  a->ctx.add_to(cmd);
  cmd->callback([a]() {
    if (!a->json.empty()) check_output_path(a->json);
    CifarBenchOptions& o = a->o;
    o.ctx = a->ctx.make(o.seed);
    validate_flags(cifar_bench_options(), o);
    std::vector<CifarRun> runs = run_cifar_bench(o);
    nlohmann::json j;
    j["runs"] = nlohmann::json::array();
    for (const CifarRun& r : runs) {
      print_warning(r.warning);
      j["runs"].push_back({{"arch", r.arch},         {"spec", r.spec},
                           {"kernel", r.kernel},     {"readout", r.readout},
                           {"depth", r.depth},       {"train", r.train},
                           {"repeat", r.repeat},     {"test", r.test},
                           {"accuracy", r.accuracy}, {"diag_reg", r.diag_reg},
                           {"kernel_seconds", r.kernel_seconds}});
    }
    const bool few_shot = !o.few_shot.empty();
    std::printf("%-14s %-6s %7s %6s %8s %17s", "arch", "kernel", "train", "test", "repeats", "accuracy");
    if (few_shot) std::printf(" %15s %15s", "CNTK (Arora20)", "ResNet-34");
    std::printf(" %11s\n", "kernel (s)");
    j["summary"] = nlohmann::json::array();
    for (const CifarSummary& s : summarize_cifar_runs(runs)) {
      std::printf("%-14s %-6s %7lld %6lld %8lld %8.2f%% ± %5.2f", s.arch.c_str(), s.kernel.c_str(),
                  (long long)s.train, (long long)s.test, (long long)s.repeats, 100 * s.mean, 100 * s.std);
      double cntk = 0, resnet = 0;
      const bool published = few_shot && arora2020_published(s.train, &cntk, &resnet);
      if (few_shot) {
        if (published)
          std::printf(" %14.2f%% %14.2f%%", 100 * cntk, 100 * resnet);
        else
          std::printf(" %15s %15s", "-", "-");
      }
      std::printf(" %11.1f\n", s.kernel_seconds);
      nlohmann::json row = {{"arch", s.arch},   {"kernel", s.kernel}, {"train", s.train},
                            {"test", s.test},   {"repeats", s.repeats}, {"mean", s.mean},
                            {"std", s.std},     {"kernel_seconds", s.kernel_seconds}};
      if (published) {
        row["arora2020_cntk"] = cntk;
        row["arora2020_resnet34"] = resnet;
      }
      j["summary"].push_back(row);
    }
    if (!a->json.empty()) write_json_file(a->json, j);
  });
}

NTK_REGISTER_COMMAND(60, register_bench_cifar10);

}  // namespace
}  // namespace ntk::cli
