// Subcommand registry of the ntk CLI. Each src/cli/cmd_*.cpp registers itself with NTK_REGISTER_COMMAND, so a
// new subcommand is one new file plus one line in src/cli/sources.cmake; main.cpp never changes.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace ntk::cli {

using RegisterFn = std::function<void(CLI::App& app)>;

struct CommandRegistry {
  static std::vector<std::pair<int, RegisterFn>>& entries();
};

struct CommandRegistrar {
  // order: position in `ntk --help` (smaller first).
  CommandRegistrar(int order, RegisterFn fn);
};

// Exit status of a failed job (bad input, cannot fit, I/O): the CLI contract is 2.
constexpr int kExitBadInput = 2;

// True when stderr is a terminal (progress bars are drawn only then, unless --quiet).
bool stderr_is_terminal();

}  // namespace ntk::cli

#define NTK_CLI_CONCAT2(a, b) a##b
#define NTK_CLI_CONCAT(a, b) NTK_CLI_CONCAT2(a, b)
#define NTK_REGISTER_COMMAND(order, fn) \
  static ::ntk::cli::CommandRegistrar NTK_CLI_CONCAT(ntk_cli_registrar_, __LINE__)(order, fn)
