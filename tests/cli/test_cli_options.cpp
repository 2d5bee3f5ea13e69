// The CLI's flags come from the library's option tables (src/cli/options.h): --help shows the library's
// default and doc for each, a bad value is one line naming the flag, and the solvers' warnings reach stderr
// through the CLI (the library itself does not print).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ntk/bench_cifar.h"
#include "ntk/equivalence.h"
#include "ntk/experiments_uci.h"
#include "ntk/options.h"
#include "ntk/solvers.h"

namespace ntk {
namespace {

namespace fs = std::filesystem;

// Whether the help line of `flag` shows `value` as its default ("  --steps INT=60   doc").
bool shows_default(const std::string& help, const std::string& flag, const std::string& value) {
  std::string line;
  for (std::istringstream in(help); std::getline(in, line);) {
    if (line.rfind("  " + flag + " ", 0) != 0) continue;
    const size_t eq = line.find('=', flag.size() + 2);
    if (eq == std::string::npos || line.compare(eq + 1, value.size(), value) != 0) return false;
    const size_t end = eq + 1 + value.size();
    return end == line.size() || line[end] == ' ';
  }
  return false;
}

struct CliRun {
  int status = -1;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class CliOptions : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ntk_cli_options_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  CliRun run(const std::string& args) {
    const std::string cmd =
        std::string(NTK_CLI_PATH) + " " + args + " > " + path("out.txt") + " 2> " + path("err.txt");
    const int raw = std::system(cmd.c_str());
    CliRun r;
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    r.out = slurp(path("out.txt"));
    r.err = slurp(path("err.txt"));
    return r;
  }

  // The help line of `spec`'s flag shows the table's default ("--steps INT=60"), and the doc is in the help.
  void expect_help_shows(const std::string& help, const OptionSpec& spec, const std::string& command) {
    const std::string flag = spec.cli_flag();
    std::string line;
    for (std::istringstream in(help); std::getline(in, line);)
      if (line.rfind("  " + flag + " ", 0) == 0 || line == "  " + flag) break;
    ASSERT_EQ(line.rfind("  " + flag, 0), 0u) << command << ": no help line for " << flag << "\n" << help;
    if (spec.kind != OptionKind::kFlag && !spec.required) {
      const std::string shown = format_option_value(spec.default_value);
      if (!shown.empty())
        EXPECT_TRUE(shows_default(help, flag, shown))
            << command << ": " << line << " (default " << shown << ")";
    }
    EXPECT_NE(help.find(spec.doc), std::string::npos) << command << ": doc of " << spec.name << " missing";
  }

  template <class S>
  void expect_help_shows(const std::string& command, const OptionTable<S>& table,
                         const std::vector<std::string>& names) {
    CliRun r = run(command + " --help");
    ASSERT_EQ(r.status, 0) << command << "\n" << r.err;
    for (const std::string& n : names) {
      const auto* f = table.find(n);
      ASSERT_NE(f, nullptr) << n;
      expect_help_shows(r.out, f->spec, command);
    }
  }

  fs::path dir_;
};

TEST_F(CliOptions, HelpShowsTheLibraryDefaults) {
  std::vector<std::string> eq;
  for (const auto& f : equivalence_options().fields()) eq.push_back(f.spec.name);
  expect_help_shows("equivalence", equivalence_options(), eq);
  expect_help_shows(
      "equivalence", equivalence_data_options(),
      {"data", "labels", "format", "n_train", "n_test", "one_hot", "data_seed", "downsample", "standardize"});
  expect_help_shows("regress", predict_options(),
                    {"diag_reg", "reg_absolute", "time", "learning_rate", "steps"});
  expect_help_shows("regress", svm_options(), {"C"});
  expect_help_shows("select", select_options(), {"method", "values", "reg_absolute"});
  expect_help_shows("select", experiments::uci_options(),
                    {"min_depth", "max_depth", "activation", "w_std", "b_std"});
  std::vector<std::string> cifar;
  for (const auto& f : cifar_bench_options().fields()) cifar.push_back(f.spec.name);
  expect_help_shows("bench cifar10", cifar_bench_options(), cifar);
  expect_help_shows("bench uci", experiments::uci_options(),
                    {"min_depth", "max_depth", "cs", "w_std", "b_std", "arora_scale"});
  // Spot checks against the numbers themselves, so a table reading the wrong field cannot pass.
  CliRun r = run("equivalence --help");
  EXPECT_TRUE(shows_default(r.out, "--steps", "60"));
  EXPECT_TRUE(shows_default(r.out, "--widths", "64,128,256,512,1024,2048"));
  EXPECT_TRUE(shows_default(r.out, "--train", "128"));
  EXPECT_TRUE(shows_default(r.out, "--lr-fraction", "0.75"));
  r = run("regress --help");
  EXPECT_TRUE(shows_default(r.out, "--time", "inf"));
  EXPECT_TRUE(shows_default(r.out, "--lr", "1"));
  EXPECT_TRUE(shows_default(r.out, "--targets", "0,1"));
}

TEST_F(CliOptions, BadValuesAreOneLineNamingTheFlag) {
  struct Case {
    const char* args;
    const char* message;
  };
  const Case cases[] = {
      {"equivalence --seeds 0", "--seeds must be >= 1, got 0"},
      {"equivalence --momentum 1", "--momentum must be in [0, 1), got 1"},
      {"equivalence --widths 64,abc",
       "--widths: 'abc' is not an integer (expected a comma-separated list such as 64,256,1024)"},
      {"equivalence --standardize pixel", "--standardize must be one of example, feature, none; got 'pixel'"},
      {"regress --arch dense --train a.csv --test b.csv --lr 0", "--lr must be > 0, got 0"},
      {"regress --arch dense --train a.csv --test b.csv --diag-reg -1", "--diag-reg must be >= 0, got -1"},
      {"select --train a.csv --folds 2 --method forest",
       "--method must be one of svm, regression; got 'forest'"},
      {"select --train a.csv --folds 2 --values 1,-2", "--values must be >= 0, got -2"},
      {"bench uci --data d --json r.json --max-depth 21", "--max-depth must be in [0, 20], got 21"},
      {"bench uci --data d --json r.json --C 0", "--C must be > 0, got 0"},
      {"bench cifar10 --data d --readouts flatten,pool",
       "--readouts must be one of flatten, gap; got 'pool'"},
      {"bench cifar10 --data d --train 5", "--train must be >= 10, got 5"},
  };
  for (const Case& c : cases) {
    CliRun r = run(c.args);
    EXPECT_EQ(r.status, 2) << c.args << "\n" << r.err;
    EXPECT_EQ(r.err, std::string("ntk: error: ") + c.message + "\n") << c.args;
  }
}

TEST_F(CliOptions, SolverWarningsAreShownByTheCli) {
  // Twelve points on a line with a linear kernel: rank 1, so the Cholesky needs jitter.
  {
    std::ofstream f(path("train.csv"));
    for (int i = 0; i < 12; ++i) f << 0.1 * (i + 1) << "," << -0.05 * (i + 1) << "," << (i % 2) << "\n";
  }
  CliRun r = run("regress --arch dense --train " + path("train.csv") + " --test " + path("train.csv"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err.rfind("ntk: warning: kernel matrix (12 x 12) is not numerically positive definite", 0), 0u)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  // A regular kernel: nothing on stderr.
  {
    std::ofstream f(path("regular.csv"));
    for (int i = 0; i < 12; ++i) f << std::sin(i) << "," << std::cos(3.0 * i) << "," << (i % 2) << "\n";
  }
  r = run("regress --arch 'dense, relu, dense' --train " + path("regular.csv") + " --test " +
          path("regular.csv") + " --diag-reg 1e-3");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
}

}  // namespace
}  // namespace ntk
