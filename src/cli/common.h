// Options and helpers shared by the CLI subcommands.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ntk/context.h"
#include "ntk/kernel.h"
#include "ntk/tensor.h"

namespace ntk::dist {
class Communicator;
}

namespace ntk::cli {

// --threads, --dtype, --device, --seed, --quiet on a subcommand, filled into a Context.
struct ContextOptions {
  int threads = 0;
  std::string dtype = "float64";
  std::string device = "cpu";
  bool quiet = false;
  void add_to(CLI::App* cmd, bool with_dtype = true);
  Context make(uint64_t seed = 0) const;  // validates dtype/device names
};

// Threads for one rank of an MPI job when --threads is not given: the machine's cores shared among the ranks
// running on it.
int rank_threads(dist::Communicator& world);

// Loads an input array (.npy, CSV, IDX, ...) and checks it is (N, d) or (N, H, W, C) and finite.
Tensor load_inputs(const std::string& path);

// Writes a matrix as .npy in the given dtype, atomically (temporary name, then rename).
void save_matrix_npy(const std::string& path, const Matrix& m, DType dtype);

// Writes a JSON report (indented, newline-terminated) atomically: temporary name, then rename.
void write_json_file(const std::string& path, const nlohmann::json& report);

// Comma-separated items, empty ones skipped.
std::vector<std::string> split_list(const std::string& text);

// A comma-separated list of finite numbers, each > 0 (positive) or >= 0; an error names the option and the
// item.
std::vector<double> parse_number_list(const std::string& text, const char* option, bool positive);

// Prints "ntk: warning: <warning>" on stderr unless `warning` is empty: the library's solvers do not print,
// they return what they had to do (SolveInfo::warning) and the CLI shows it.
void print_warning(const std::string& warning);

// Rejects an output path whose directory does not exist before any work is done.
void check_output_path(const std::string& path);

}  // namespace ntk::cli
