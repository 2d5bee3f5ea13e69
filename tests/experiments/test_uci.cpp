// The UCI protocol on a tiny data set in the collection's layout, its error messages, and the classifier
// comparison statistics.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "ntk/error.h"
#include "ntk/experiments_uci.h"
#include "ntk/io.h"
#include "ntk/kernel.h"

namespace ntk::experiments {
namespace {

namespace fs = std::filesystem;

// Writes uci/<name>/{<name>_R.dat, conxuntos.dat, conxuntos_kfold.dat} with n rows of d features.
std::string write_uci(const std::string& root, const std::string& name, int n, int d, int classes) {
  const std::string dir = root + "/" + name;
  fs::create_directories(dir);
  std::ofstream f(dir + "/" + name + "_R.dat");
  f << "";
  for (int j = 0; j < d; ++j) f << "\tf" << j + 1;
  f << "\tclase\n";
  for (int i = 0; i < n; ++i) {
    f << i + 1;
    double s = 0;
    for (int j = 0; j < d; ++j) {
      const double v = std::sin(1.7 * i + 2.3 * j) + 0.3 * std::cos(0.9 * i * (j + 1));
      s += v * (j + 1);
      f << '\t' << v;
    }
    f << '\t' << (classes == 1 ? 0 : static_cast<int>(std::fabs(s * 3)) % classes) << '\n';
  }
  std::ofstream c(dir + "/conxuntos.dat");
  for (int i = 0; i < n; i += 2) c << i << ' ';
  c << '\n';
  for (int i = 1; i < n; i += 2) c << i << ' ';
  c << '\n';
  std::ofstream k(dir + "/conxuntos_kfold.dat");
  for (int fold = 0; fold < 4; ++fold) {
    for (int i = 0; i < n; ++i)
      if (i % 4 != fold) k << i << ' ';
    k << '\n';
    for (int i = 0; i < n; ++i)
      if (i % 4 == fold) k << i << ' ';
    k << '\n';
  }
  return dir;
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/ntk_uci_test_XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

TEST(UciExperiment, ProtocolMatchesDirectComputation) {
  TempDir tmp;
  const std::string dir = write_uci(tmp.path, "toy", 60, 4, 3);
  io::UciDataset data = io::load_uci(dir);
  UciOptions o;
  o.min_depth = 0;
  o.max_depth = 2;
  o.cs = {0.1, 10};
  o.ctx.threads = 2;
  UciResult r = run_uci_ntk(data, dir, o);
  ASSERT_EQ(r.selection.grid.size(), (1 + 2 + 3) * 2u);  // depth 0 (linear) + depths 1, 2 with L' = 0..depth
  ASSERT_EQ(r.fold_accuracy.size(), 4u);
  // Kernels: Arora et al.'s scale, i.e. fc_kernels_all_depths times d.
  std::vector<DepthKernel> ks = fc_grid_kernels(data.data.x, o);
  std::vector<DepthKernel> ref = fc_kernels_all_depths(data.data.x, nullptr, 2, "relu", 1.0, 0.0, o.ctx);
  for (const DepthKernel& k : ref)
    for (const DepthKernel& g : ks)
      if (g.depth == k.depth && g.fixed == k.fixed)
        EXPECT_LT((g.ntk - 4.0 * k.ntk).cwiseAbs().maxCoeff(), 1e-12);
  // Fold accuracies: the selected (depth, L', C) refitted on each fold.
  std::vector<int> labels(data.data.labels.begin(), data.data.labels.end());
  const Matrix* best = nullptr;
  for (const DepthKernel& g : ks)
    if (g.depth == r.depth && g.fixed == r.fixed) best = &g.ntk;
  ASSERT_NE(best, nullptr);
  double mean = 0;
  for (int f = 0; f < 4; ++f) {
    const auto& [tr, te] = data.folds[f];
    std::vector<int> ytr, yte;
    for (int64_t i : tr) ytr.push_back(labels[i]);
    for (int64_t i : te) yte.push_back(labels[i]);
    PrecomputedSvm svm;
    SvmOptions so;
    so.C = r.c;
    svm.fit(submatrix(*best, tr, tr), ytr, so);
    const double acc = accuracy(svm.predict(submatrix(*best, te, tr)), yte);
    EXPECT_DOUBLE_EQ(r.fold_accuracy[f], acc);
    mean += acc / 4;
  }
  EXPECT_DOUBLE_EQ(r.accuracy, mean);
  EXPECT_EQ(list_uci_datasets(tmp.path), std::vector<std::string>{"toy"});
}

TEST(UciExperiment, SingleClassAndMissingSplitAreClearErrors) {
  TempDir tmp;
  const std::string one = write_uci(tmp.path, "oneclass", 20, 2, 1);
  UciOptions o;
  o.max_depth = 1;
  try {
    run_uci_ntk(io::load_uci(one), one, o);
    FAIL() << "no error for a single-class data set";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("single class"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("oneclass"), std::string::npos) << e.message();
  }
  const std::string miss = write_uci(tmp.path, "missing", 20, 2, 2);
  fs::remove(miss + "/conxuntos_kfold.dat");
  try {
    io::load_uci(miss);
    FAIL() << "no error for a missing split file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("conxuntos_kfold.dat"), std::string::npos) << e.what();
  }
  EXPECT_THROW(list_uci_datasets(tmp.path + "/nowhere"), Error);
}

TEST(UciExperiment, ClassifierComparison) {
  // Three classifiers on four data sets; the last data set lacks a result for one of them and is left out.
  const double nan = std::nan("");
  std::vector<std::vector<double>> acc = {{0.9, 0.8, 0.5, 0.7}, {0.8, 0.8, 0.6, nan}, {0.7, 0.5, 0.6, 0.9}};
  auto s = compare_classifiers({"a", "b", "c"}, acc);
  ASSERT_EQ(s.size(), 3u);
  for (const auto& c : s) EXPECT_EQ(c.datasets, 3);
  EXPECT_NEAR(s[0].average, (0.9 + 0.8 + 0.5) / 3, 1e-12);
  // Ranks: set 1: a 1, b 2, c 3; set 2: a, b tie 1.5, c 3; set 3: b, c tie 1.5, a 3.
  EXPECT_NEAR(s[0].friedman_rank, (1 + 1.5 + 3) / 3.0, 1e-12);
  EXPECT_NEAR(s[1].friedman_rank, (2 + 1.5 + 1.5) / 3.0, 1e-12);
  EXPECT_NEAR(s[2].friedman_rank, (3 + 3 + 1.5) / 3.0, 1e-12);
  // P90: within 90% of the best. a: 0.9/0.9, 0.8/0.8, 0.5 < 0.54 -> 2/3. c: 0.7 < 0.81, 0.5 < 0.72, 0.6 ok ->
  // 1/3.
  EXPECT_NEAR(s[0].p90, 2.0 / 3, 1e-12);
  EXPECT_NEAR(s[2].p90, 1.0 / 3, 1e-12);
  EXPECT_NEAR(s[1].p95, 2.0 / 3, 1e-12);  // 0.8 < 0.855 on set 1
}

// The CLI contract for bad input: one line naming the file and the problem, exit status 2.
std::pair<int, std::string> run_cli(const std::string& args) {
  const std::string cmd = std::string(NTK_CLI_PATH) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (p && fgets(buf, sizeof buf, p)) out += buf;
  const int status = p ? pclose(p) : -1;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(UciCli, BadInputsExitWithStatus2) {
  TempDir tmp;
  auto write = [&](const std::string& name, int cols, const std::vector<double>& labels) {
    std::ofstream f(tmp.path + "/" + name);
    for (size_t i = 0; i < labels.size(); ++i) {
      for (int j = 0; j < cols; ++j) f << std::sin(1.3 * i + j) << ',';
      f << labels[i] << '\n';
    }
  };
  write("train.csv", 3, {0, 1, 0, 1, 1, 0});
  write("test.csv", 3, {0, 1});
  write("wide.csv", 4, {0, 1});
  write("frac.csv", 3, {0, 1.5, 0, 1, 1, 0});
  write("one.csv", 3, {2, 2, 2, 2, 2, 2});
  const std::string arch = " --arch 'dense, relu, dense'";
  const std::string t = tmp.path + "/";
  auto [rc_ok, out_ok] = run_cli("regress" + arch + " --train " + t + "train.csv --test " + t + "test.csv");
  EXPECT_EQ(rc_ok, 0) << out_ok;
  EXPECT_NE(out_ok.find("test accuracy"), std::string::npos) << out_ok;
  struct Case {
    std::string args, file, words;
  };
  const Case cases[] = {
      {"regress" + arch + " --train " + t + "train.csv --test " + t + "wide.csv", "wide.csv", "features"},
      {"regress" + arch + " --train " + t + "frac.csv --test " + t + "test.csv --task classify", "frac.csv",
       "not a non-negative integer"},
      {"regress" + arch + " --train " + t + "one.csv --test " + t + "test.csv", "one.csv", "single class"},
      {"regress" + arch + " --train " + t + "missing.csv --test " + t + "test.csv", "missing.csv", ""},
      {"select --train " + t + "one.csv --folds 2 --max-depth 1", "one.csv", "single class"},
  };
  for (const Case& c : cases) {
    auto [rc, out] = run_cli(c.args);
    EXPECT_EQ(rc, 2) << c.args << "\n" << out;
    EXPECT_NE(out.find(c.file), std::string::npos) << out;
    EXPECT_NE(out.find(c.words), std::string::npos) << out;
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  }
  // A UCI data set whose split file is missing.
  const std::string dir = write_uci(tmp.path + "/uci", "broken", 20, 2, 2);
  fs::remove(dir + "/conxuntos.dat");
  auto [rc, out] = run_cli("bench uci --data " + tmp.path + "/uci --json " + t + "r.json");
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("conxuntos.dat"), std::string::npos) << out;
}

}  // namespace
}  // namespace ntk::experiments
