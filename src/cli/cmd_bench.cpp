#include "cli/cmd_bench.h"

namespace ntk::cli {

CLI::App* bench_command(CLI::App& app) {
  // Registration order between benchmark files is not fixed, so whoever comes first creates the parent.
  auto found = app.get_subcommands([](CLI::App* sub) { return sub->get_name() == "bench"; });
  if (!found.empty()) return found.front();
  CLI::App* bench = app.add_subcommand("bench", "reproducible benchmarks (run 'ntk bench <name> --help')");
  bench->require_subcommand(1);
  return bench;
}

}  // namespace ntk::cli
