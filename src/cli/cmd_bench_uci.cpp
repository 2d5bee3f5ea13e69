// ntk bench uci: the UCI benchmark of Arora et al. 2020, with scikit-learn baselines in the same report.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cmd_bench.h"
#include "cli/command.h"
#include "cli/common.h"
#include "cli/options.h"
#include "ntk/error.h"
#include "ntk/experiments_uci.h"
#include "ntk/io.h"
#include "ntk/progress.h"

namespace ntk::cli {
namespace {

using json = nlohmann::json;

// The protocol's numbers are the library's UciOptions, whose table declares their flags; the rest is the
// command's own.
struct BenchUciArgs {
  std::string data, datasets, json_path, baselines, python = "python3";
  experiments::UciOptions uci;
  ContextOptions ctx;
};

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs the scikit-learn baselines script and returns its JSON (see bench/uci_baselines.py).
json run_baselines(const BenchUciArgs& a, const std::vector<std::string>& names, int threads) {
  std::string names_csv;
  for (const std::string& n : names) names_csv += (names_csv.empty() ? "" : ",") + n;
  char tmp[] = "/tmp/ntk_uci_baselines_XXXXXX";
  const int fd = mkstemp(tmp);
  NTK_THROW_KIND_IF_NOT(ErrorKind::kIo, fd >= 0, "cannot create a temporary file for the baselines");
  close(fd);
  // Without --datasets the script lists the folder itself (same rule: <name>/<name>_R.dat).
  const std::string cmd = shell_quote(a.python) + " " + shell_quote(a.baselines) + " --data " +
                          shell_quote(a.data) +
                          (a.datasets.empty() ? std::string() : " --datasets " + shell_quote(names_csv)) +
                          " --jobs " + std::to_string(threads) + " --json " + shell_quote(tmp);
  std::fprintf(stderr, "ntk: running baselines: %s\n", cmd.c_str());
  const int rc = std::system(cmd.c_str());
  json out;
  if (rc == 0) {
    std::ifstream f(tmp);
    try {
      f >> out;
    } catch (const std::exception& e) {
      std::remove(tmp);
      NTK_THROW("%s: unreadable baselines output: %s", a.baselines.c_str(), e.what());
    }
  }
  std::remove(tmp);
  NTK_THROW_IF_NOT(rc == 0, "%s: the baselines script failed (exit status %d); run it alone to see why",
                   a.baselines.c_str(), rc);
  NTK_THROW_IF_NOT(out.contains("classifiers") && out["classifiers"].is_object(),
                   "%s: baselines output has no 'classifiers' object", a.baselines.c_str());
  return out;
}

void register_bench_uci(CLI::App& app) {
  auto a = std::make_shared<BenchUciArgs>();
  CLI::App* cmd = bench_command(app)->add_subcommand(
      "uci", "UCI benchmark of Arora et al. 2020: ReLU NTK + C-SVM on the 90 Fernandez-Delgado data sets");
  cmd->footer(
      "Protocol: fully-connected ReLU NTK for every hidden depth and number L' of fixed bottom layers from "
      "one\n"
      "kernel recursion, a C-SVM on the precomputed kernel, (depth, L', C) chosen on the conxuntos.dat\n"
      "train/validation split, accuracy = mean over the four conxuntos_kfold.dat folds. See "
      "docs/benchmarks.md.\n\n"
      "Examples:\n"
      "  ntk bench uci --data uci90 --json uci.json --baselines bench/uci_baselines.py\n"
      "  ntk bench uci --data uci90 --datasets iris,wine,zoo --json small.json");
  cmd->add_option("--data", a->data, "the extracted uci90 folder (uci90/<name>/<name>_R.dat, conxuntos*.dat)")
      ->required();
  cmd->add_option("--datasets", a->datasets,
                  "comma-separated data set names (default: every folder in --data)");
  cmd->add_option("--json", a->json_path,
                  "write the report as JSON: per_dataset (name -> accuracy), average, ...")
      ->required();
  cmd->add_option("--baselines", a->baselines,
                  "also run this scikit-learn baselines script (bench/uci_baselines.py: random forest and "
                  "RBF-kernel SVM, same splits) and compare all three classifiers");
  cmd->add_option("--python", a->python, "Python interpreter for --baselines")->capture_default_str();
  add_options(cmd, experiments::uci_options(), a->uci,
              {"min_depth", "max_depth", "cs", "w_std", "b_std", "arora_scale"});
  a->ctx.add_to(cmd, false);
  cmd->callback([a]() {
    const auto t0 = std::chrono::steady_clock::now();
    check_output_path(a->json_path);
    experiments::UciOptions& o = a->uci;
    validate_flags(experiments::uci_options(), o);
    NTK_THROW_IF_NOT(o.max_depth >= o.min_depth, "--max-depth (%d) must be >= --min-depth (%d)", o.max_depth,
                     o.min_depth);
    o.ctx = a->ctx.make();
    if (!a->baselines.empty())
      NTK_THROW_KIND_IF_NOT(ErrorKind::kIo, access(a->baselines.c_str(), R_OK) == 0,
                            "%s: baselines script not found", a->baselines.c_str());

    std::vector<std::string> names =
        a->datasets.empty() ? experiments::list_uci_datasets(a->data) : split_list(a->datasets);
    NTK_THROW_IF_NOT(!names.empty(), "--datasets: empty list");
    // Load everything first: a missing or malformed file stops the run before an hour of computing.
    std::vector<io::UciDataset> sets;
    for (const std::string& n : names) sets.push_back(io::load_uci(a->data + "/" + n));

    json report;
    report["benchmark"] = "uci";
    report["protocol"] = {{"kernel", "fully-connected ReLU NTK"},
                          {"min_depth", o.min_depth},
                          {"max_depth", o.max_depth},
                          {"C", o.cs},
                          {"w_std", o.w_std},
                          {"b_std", o.b_std},
                          {"first_layer", o.arora_scale ? "x.x' (Arora et al.)" : "x.x'/d (neural-tangents)"},
                          {"selection", "conxuntos.dat train/validation split"},
                          {"accuracy", "mean over the 4 folds of conxuntos_kfold.dat"}};
    json per = json::object(), details = json::object();
    std::vector<double> ntk_acc;
    double sum = 0;
    for (size_t i = 0; i < sets.size(); ++i) {
      const std::string source = a->data + "/" + names[i];
      experiments::UciResult r = experiments::run_uci_ntk(sets[i], source, o);
      std::fprintf(stderr, "[%zu/%zu] %-40s n=%-5lld acc %.4f (depth %d, L' %d, C %g, val %.4f) %.1fs\n",
                   i + 1, sets.size(), names[i].c_str(), static_cast<long long>(r.examples), r.accuracy,
                   r.depth, r.fixed, r.c, r.validation_accuracy, r.seconds);
      per[names[i]] = r.accuracy;
      json grid = json::array();
      for (const GridScore& g : r.selection.grid) grid.push_back({g.depth, g.fixed, g.value, g.score});
      details[names[i]] = {{"examples", r.examples},
                           {"features", r.features},
                           {"classes", r.classes},
                           {"depth", r.depth},
                           {"fixed", r.fixed},
                           {"C", r.c},
                           {"validation_accuracy", r.validation_accuracy},
                           {"fold_accuracy", r.fold_accuracy},
                           {"seconds", r.seconds},
                           {"kernel_seconds", r.kernel_seconds},
                           {"grid", grid}};
      ntk_acc.push_back(r.accuracy);
      sum += r.accuracy;
    }
    const double ntk_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    report["per_dataset"] = per;
    report["average"] = sum / static_cast<double>(names.size());
    report["details"] = details;
    report["ntk_seconds"] = ntk_seconds;

    std::vector<std::string> cls = {"ntk"};
    std::vector<std::vector<double>> acc = {ntk_acc};
    if (!a->baselines.empty()) {
      json b = run_baselines(*a, names, o.ctx.num_threads());
      report["baselines"] = b["classifiers"];
      if (b.contains("seconds")) report["baselines_seconds"] = b["seconds"];
      for (auto& [name, c] : b["classifiers"].items()) {
        cls.push_back(name);
        std::vector<double> row;
        for (const std::string& n : names)
          row.push_back(c["per_dataset"].contains(n) ? c["per_dataset"][n].get<double>() : std::nan(""));
        acc.push_back(row);
      }
    }
    std::vector<experiments::ClassifierSummary> summary = experiments::compare_classifiers(cls, acc);
    json cmp = json::object();
    for (const auto& s : summary)
      cmp[s.name] = {{"datasets", s.datasets},
                     {"average", s.average},
                     {"friedman_rank", s.friedman_rank},
                     {"p90", s.p90},
                     {"p95", s.p95}};
    report["comparison"] = cmp;
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    report["seconds"] = total;

    // Table: one row per data set, then the summary.
    std::printf("%-40s", "dataset");
    for (const std::string& c : cls) std::printf(" %14s", c.c_str());
    std::printf("\n");
    for (size_t j = 0; j < names.size(); ++j) {
      std::printf("%-40s", names[j].c_str());
      for (size_t k = 0; k < cls.size(); ++k) std::printf(" %13.2f%%", 100 * acc[k][j]);
      std::printf("\n");
    }
    std::printf("\n%-16s %8s %14s %8s %8s %9s\n", "classifier", "datasets", "average acc", "rank", "P90",
                "P95");
    for (const auto& s : summary)
      std::printf("%-16s %8d %13.2f%% %8.3f %7.1f%% %8.1f%%\n", s.name.c_str(), s.datasets, 100 * s.average,
                  s.friedman_rank, 100 * s.p90, 100 * s.p95);
    std::printf("time: NTK %s, total %s\n", format_duration(ntk_seconds).c_str(),
                format_duration(total).c_str());

    write_json_file(a->json_path, report);
  });
}

NTK_REGISTER_COMMAND(900, register_bench_uci);

}  // namespace
}  // namespace ntk::cli
