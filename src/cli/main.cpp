// ntk command-line entry point: dispatches to the registered subcommands and turns every failure into one
// line on stderr with exit status 2.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "cli/command.h"
#include "ntk/error.h"
#include "ntk/version.h"
#include "platform/blas_tuning.h"

namespace ntk::cli {

std::vector<std::pair<int, RegisterFn>>& CommandRegistry::entries() {
  static std::vector<std::pair<int, RegisterFn>> list;
  return list;
}

CommandRegistrar::CommandRegistrar(int order, RegisterFn fn) {
  CommandRegistry::entries().emplace_back(order, std::move(fn));
}

bool stderr_is_terminal() {
  return isatty(STDERR_FILENO) == 1;
}

}  // namespace ntk::cli

int main(int argc, char** argv) {
  // Debian's OpenBLAS misdetects recent Xeons as "Prescott" and runs a generic kernel 8x slower; pick the
  // right core type before the library initialises (re-executes once when needed).
  ntk::platform::ensure_fast_blas(argc, argv);

  CLI::App app{
      "ntk: exact neural tangent (NTK) and NNGP kernels of infinitely wide networks, their finite-width\n"
      "networks, and what they predict.\n\n"
      "Example:\n"
      "  ntk kernel --arch 'dense(w_std=1.5), relu, dense' --x1 train.npy --out K.npy\n"
      "Run 'ntk <command> --help' for each command's options."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("ntk ") + NTK_VERSION_STRING +
                                        " (BLAS: " + ntk::platform::blas_vendor() + ")");
  auto& entries = ntk::cli::CommandRegistry::entries();
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& entry : entries) entry.second(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    std::replace(what.begin(), what.end(), '\n', ' ');
    std::fprintf(stderr, "ntk: error: %s (see 'ntk --help')\n", what.c_str());
    return ntk::cli::kExitBadInput;
  } catch (const ntk::Error& e) {
    std::string what = e.message();
    std::replace(what.begin(), what.end(), '\n', ' ');
    std::fprintf(stderr, "ntk: error: %s\n", what.c_str());
    return ntk::cli::kExitBadInput;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "ntk: error: out of memory (reduce the problem size or use --memory)\n");
    return ntk::cli::kExitBadInput;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ntk: error: %s\n", e.what());
    return ntk::cli::kExitBadInput;
  }
  return 0;
}
