// ntk bench cifar10: CNTK-V / CNTK-GAP kernel regression on CIFAR-10 subsets (Arora et al. 2019).
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
      "cifar10", "CNTK kernel regression on CIFAR-10 subsets (Arora et al. 2019): accuracy vs training size and depth");
  cmd->footer(
      "DIR is the official cifar-10-batches-bin folder, or an image-folder root with train/ (and test/; without\n"
      "it a disjoint part of train/ is held out). CNTK-V = repeat(d, conv(3), relu), flatten, dense; CNTK-GAP\n"
      "fixes the first and last layer as in the paper. Inputs are standardised per channel on the training set;\n"
      "targets are one-hot -0.1 / 0.9.\n"
      "Example:\n  ntk bench cifar10 --data cifar10 --train 500,1000,2000 --test 1000 --depths 3,11 "
      "--readouts flatten,gap --json out/cifar10.json");
  add_options(cmd, cifar_bench_options(), a->o);
  cmd->add_option("--json", a->json, "write the runs as JSON: {\"runs\": [{readout, depth, train, test, accuracy}]}");
  a->ctx.add_to(cmd);
  cmd->callback([a]() {
    if (!a->json.empty()) check_output_path(a->json);
    CifarBenchOptions& o = a->o;
    o.ctx = a->ctx.make(o.seed);
    validate_flags(cifar_bench_options(), o);
    std::vector<CifarRun> runs = run_cifar_bench(o);
    std::printf("%-8s %6s %7s %6s %9s %12s\n", "readout", "depth", "train", "test", "accuracy", "kernel (s)");
    nlohmann::json j;
    j["runs"] = nlohmann::json::array();
    for (const CifarRun& r : runs) {
      print_warning(r.warning);
      std::printf("%-8s %6d %7lld %6lld %8.2f%% %12.1f\n", r.readout.c_str(), r.depth, (long long)r.train,
                  (long long)r.test, 100 * r.accuracy, r.kernel_seconds);
      j["runs"].push_back({{"readout", r.readout}, {"depth", r.depth}, {"train", r.train}, {"test", r.test},
                           {"accuracy", r.accuracy}, {"kernel_seconds", r.kernel_seconds}, {"arch", r.arch}});
    }
    if (!a->json.empty()) {
      write_json_file(a->json, j);
    }
  });
}

NTK_REGISTER_COMMAND(60, register_bench_cifar10);

}  // namespace
}  // namespace ntk::cli
