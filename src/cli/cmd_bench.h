// The `ntk bench` parent subcommand, shared by every benchmark (uci, kernels, cifar10, ...).
#pragma once

#include <CLI/CLI.hpp>

namespace ntk::cli {

// Returns the `bench` subcommand of `app`, creating it on first use; each benchmark adds itself under it.
CLI::App* bench_command(CLI::App& app);

}  // namespace ntk::cli
