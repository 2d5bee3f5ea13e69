// ntk command-line entry point: dispatches to the registered subcommands and turns every failure into one
// line on stderr with exit status 2.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "cli/command.h"
#include "ntk/distributed.h"
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
  // Under mpirun / srun: join the MPI job (ntk/distributed.h); a plain run stays one process.
  ntk::dist::init(&argc, &argv);

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

  // A failing rank of an MPI job leaves without MPI_Finalize, so the launcher stops the others.
  const int rank = ntk::dist::world().rank();
  const std::string who = rank == 0 ? "ntk" : "ntk (rank " + std::to_string(rank) + ")";
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    ntk::dist::finalize();
    return rank == 0 ? app.exit(e) : 0;
  } catch (const CLI::CallForAllHelp& e) {
    ntk::dist::finalize();
    return rank == 0 ? app.exit(e) : 0;
  } catch (const CLI::CallForVersion& e) {
    ntk::dist::finalize();
    return rank == 0 ? app.exit(e) : 0;
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    std::replace(what.begin(), what.end(), '\n', ' ');
    std::fprintf(stderr, "%s: error: %s (see 'ntk --help')\n", who.c_str(), what.c_str());
    return ntk::cli::kExitBadInput;
  } catch (const ntk::Error& e) {
    std::string what = e.message();
    std::replace(what.begin(), what.end(), '\n', ' ');
    std::fprintf(stderr, "%s: error: %s\n", who.c_str(), what.c_str());
    return ntk::cli::kExitBadInput;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%s: error: out of memory (reduce the problem size or use --memory)\n", who.c_str());
    return ntk::cli::kExitBadInput;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", who.c_str(), e.what());
    return ntk::cli::kExitBadInput;
  }
  ntk::dist::finalize();
  return 0;
}
