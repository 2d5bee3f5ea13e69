#include "cli/common.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <thread>
#include <vector>

#include "cli/command.h"
#include "ntk/distributed.h"
#include "ntk/error.h"
#include "ntk/io.h"

namespace ntk::cli {

void ContextOptions::add_to(CLI::App* cmd, bool with_dtype) {
  cmd->add_option("--threads", threads, "worker threads (0 = all cores); results do not depend on it")
      ->capture_default_str();
  if (with_dtype)
    cmd->add_option("--dtype", dtype, "compute precision: float64 | float32")->capture_default_str();
  cmd->add_option("--device", device, "cpu | cuda (cuda needs a build with -DNTK_ENABLE_CUDA=ON)")
      ->capture_default_str();
  cmd->add_flag("--quiet,-q", quiet, "no progress bar (it is drawn only when stderr is a terminal anyway)");
}

Context ContextOptions::make(uint64_t seed) const {
  Context ctx;
  NTK_THROW_IF_NOT(threads >= 0, "--threads must be >= 0, got %d", threads);
  ctx.threads = threads;
  ctx.dtype = parse_dtype(dtype);
  ctx.device = parse_device(device);
  ctx.seed = seed;
  ctx.progress = !quiet && stderr_is_terminal();
  return ctx;
}

int rank_threads(dist::Communicator& world) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / std::max(1, world.local_size()));
}

Tensor load_inputs(const std::string& path) {
  Tensor x = io::load_array(path);
  io::check_input_array(x, path);
  io::check_finite(x, path);
  return x;
}

void save_matrix_npy(const std::string& path, const Matrix& m, DType dtype) {
  std::vector<int64_t> shape = {m.rows(), m.cols()};
  if (dtype == DType::kFloat32) {
    std::vector<float> f(m.data(), m.data() + m.size());
    io::save_npy(path, f.data(), shape);
  } else {
    io::save_npy(path, m.data(), shape);
  }
}

void write_json_file(const std::string& path, const nlohmann::json& report) {
  io::AtomicFile f(path);
  f.write(report.dump(2) + "\n");
  f.commit();
}

void check_output_path(const std::string& path) {
  NTK_THROW_IF_NOT(!path.empty(), "no output path given (--out)");
  std::string dir = ".";
  auto slash = path.find_last_of('/');
  if (slash != std::string::npos) dir = slash == 0 ? "/" : path.substr(0, slash);
  struct stat st {};
  NTK_THROW_IF_NOT(stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode),
                   "%s: output directory '%s' does not exist", path.c_str(), dir.c_str());
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::vector<double> parse_number_list(const std::string& text, const char* option, bool positive) {
  std::vector<double> out;
  for (const std::string& item : split_list(text)) {
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    NTK_THROW_IF_NOT(used == item.size() && used > 0 && std::isfinite(v) && (positive ? v > 0 : v >= 0),
                     "%s: '%s' is not a %s number", option, item.c_str(),
                     positive ? "positive" : "non-negative");
    out.push_back(v);
  }
  NTK_THROW_IF_NOT(!out.empty(), "%s: empty list", option);
  return out;
}

void print_warning(const std::string& warning) {
  if (!warning.empty()) std::fprintf(stderr, "ntk: warning: %s\n", warning.c_str());
}

}  // namespace ntk::cli
