#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <random>

#include "ntk/arch.h"
#include "ntk/bench_cifar.h"
#include "ntk/error.h"
#include "ntk/io.h"
#include "ntk/kernel.h"
#include "ntk/solvers.h"

namespace ntk {
namespace {

bool is_dir(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
bool is_file(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// A class-balanced, seeded sample of n examples (as equal per class as n allows).
std::vector<int64_t> balanced_sample(const std::vector<int64_t>& labels, int64_t n, uint64_t seed) {
  const int64_t classes = labels.empty() ? 0 : *std::max_element(labels.begin(), labels.end()) + 1;
  std::vector<std::vector<int64_t>> by_class(classes);
  for (int64_t i = 0; i < static_cast<int64_t>(labels.size()); ++i) by_class[labels[i]].push_back(i);
  std::mt19937_64 rng(seed);
  for (auto& c : by_class) std::shuffle(c.begin(), c.end(), rng);
  std::vector<int64_t> out;
  for (size_t round = 0; static_cast<int64_t>(out.size()) < n; ++round) {
    bool any = false;
    for (auto& c : by_class)
      if (round < c.size() && static_cast<int64_t>(out.size()) < n) {
        out.push_back(c[round]);
        any = true;
      }
    NTK_THROW_IF_NOT(any, "asked for %lld examples but the data has only %zu", (long long)n, labels.size());
  }
  return out;
}

struct TrainTestData {
  io::Dataset train, test;
};

TrainTestData load_split(const CifarBenchOptions& o, int64_t n_train) {
  TrainTestData s;
  const std::string& d = o.data;
  NTK_THROW_IF_NOT(is_dir(d),
                   "%s: not a folder (expected cifar-10-batches-bin or an image folder root with train/)",
                   d.c_str());
  if (is_file(d + "/data_batch_1.bin") || is_file(d + "/test_batch.bin")) {
    s.train = io::load_cifar10_binary_dir(d, "train");
    s.test = io::load_cifar10_binary_dir(d, "test");
    return s;
  }
  const std::string train_dir = is_dir(d + "/train") ? d + "/train" : d;
  const int64_t classes_guess = 10;
  if (is_dir(d + "/test")) {
    io::ImageFolderOptions opt;
    opt.max_per_class = (n_train + classes_guess - 1) / classes_guess + 1;
    opt.seed = o.seed;
    s.train = io::load_image_folder(train_dir, opt);
    opt.max_per_class = (o.test + classes_guess - 1) / classes_guess + 1;
    s.test = io::load_image_folder(d + "/test", opt);
    return s;
  }
  // No test/: hold out a disjoint, class-balanced part of train/.
  io::ImageFolderOptions opt;
  opt.max_per_class = (n_train + o.test + classes_guess - 1) / classes_guess + 1;
  opt.seed = o.seed;
  io::Dataset all = io::load_image_folder(train_dir, opt);
  std::vector<int64_t> test_idx = balanced_sample(all.labels, o.test, o.seed + 1);
  std::vector<bool> in_test(all.labels.size(), false);
  for (int64_t i : test_idx) in_test[i] = true;
  std::vector<int64_t> rest;
  for (int64_t i = 0; i < static_cast<int64_t>(all.labels.size()); ++i)
    if (!in_test[i]) rest.push_back(i);
  auto take = [&](const std::vector<int64_t>& idx) {
    io::Dataset out;
    out.x = all.x.select_rows(idx);
    for (int64_t i : idx) out.labels.push_back(all.labels[i]);
    out.class_names = all.class_names;
    return out;
  };
  s.train = take(rest);
  s.test = take(test_idx);
  return s;
}

}  // namespace

const OptionTable<CifarBenchOptions>& cifar_bench_options() {
  static const OptionTable<CifarBenchOptions> table = [] {
    using C = CifarBenchOptions;
    OptionTable<C> t;
    t.add("data", &C::data,
          "cifar-10-batches-bin folder, or an image-folder root with train/ (and optionally test/)")
        .must_be_given();
    t.add("train_sizes", &C::train_sizes,
          "training-set sizes (nested subsets of one sample; the kernels use the largest)")
        .not_empty()
        .at_least(10)
        .cli("--train");
    t.add("test", &C::test, "test-set size").at_least(1);
    t.add("depths", &C::depths, "numbers of conv layers").not_empty().at_least(1);
    t.add("readouts", &C::readouts, "flatten (CNTK-V) and/or gap (CNTK-GAP)")
        .not_empty()
        .one_of({"flatten", "gap"});
    t.add("diag_reg", &C::diag_reg, "ridge relative to the mean diagonal").at_least(0);
    t.add("seed", &C::seed, "subset seed");
    return t;
  }();
  return table;
}

std::string cntk_architecture(const std::string& readout, int depth) {
  NTK_THROW_IF_NOT(depth >= 1, "depth must be >= 1, got %d", depth);
  // c_σ = 2 scaling of Arora et al. (w_std = sqrt 2) keeps the kernel's scale constant through ReLU layers.
  const std::string conv = "conv(3, w_std=1.4142135623730951)";
  if (readout == "flatten")
    return "repeat(" + std::to_string(depth) + ", " + conv +
           ", relu), flatten, dense(w_std=1.4142135623730951)";
  NTK_THROW_IF_NOT(readout == "gap", "unknown readout '%s'; valid: flatten, gap", readout.c_str());
  NTK_THROW_IF_NOT(depth >= 2, "CNTK-GAP fixes its first and last layer, so it needs depth >= 2, got %d",
                   depth);
  // CNTK-GAP as in the paper: first and last layer fixed.
  std::string s = "conv(3, w_std=1.4142135623730951, trainable=false), relu, ";
  if (depth > 1) s += "repeat(" + std::to_string(depth - 1) + ", " + conv + ", relu), ";
  return s + "gap, dense(w_std=1.4142135623730951, trainable=false)";
}

std::vector<CifarRun> run_cifar_bench(const CifarBenchOptions& o) {
  cifar_bench_options().validate(o);
  const int64_t n_train = *std::max_element(o.train_sizes.begin(), o.train_sizes.end());
  TrainTestData split = load_split(o, n_train);
  NTK_THROW_IF_NOT(split.train.x.rank() == 4, "%s: expected images", o.data.c_str());
  // Nested training subsets: the first n of one class-balanced permutation.
  std::vector<int64_t> train_idx = balanced_sample(split.train.labels, n_train, o.seed);
  std::vector<int64_t> test_idx = balanced_sample(split.test.labels, o.test, o.seed + 2);
  Tensor xtr = split.train.x.select_rows(train_idx), xte = split.test.x.select_rows(test_idx);
  io::Standardizer st = io::Standardizer::fit(xtr);
  st.apply_inplace(xtr);
  st.apply_inplace(xte);
  std::vector<int> ytr, yte;
  for (int64_t i : train_idx) ytr.push_back(static_cast<int>(split.train.labels[i]));
  for (int64_t i : test_idx) yte.push_back(static_cast<int>(split.test.labels[i]));
  const int classes = std::max(count_classes(ytr), count_classes(yte));

  // One kernel over train ∪ test per (readout, depth).
  Tensor all({n_train + o.test, xtr.dim(1), xtr.dim(2), xtr.dim(3)});
  std::copy(xtr.data.begin(), xtr.data.end(), all.data.begin());
  std::copy(xte.data.begin(), xte.data.end(), all.data.begin() + xtr.size());
  std::vector<CifarRun> runs;
  for (const std::string& readout : o.readouts)
    for (int depth : o.depths) {
      const std::string spec = cntk_architecture(readout, depth);
      KernelOptions ko;
      ko.nngp = false;
      ko.ntk = true;
      ko.ctx = o.ctx;
      auto t0 = std::chrono::steady_clock::now();
      Kernels k = compute_kernels(spec, all, nullptr, ko);
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      for (int64_t n : o.train_sizes) {
        std::vector<int64_t> tr(n), te(o.test);
        std::iota(tr.begin(), tr.end(), 0);
        std::iota(te.begin(), te.end(), n_train);
        Matrix ktt = submatrix(k.ntk, tr, tr), kst = submatrix(k.ntk, te, tr);
        std::vector<int> y(ytr.begin(), ytr.begin() + n);
        Matrix targets = one_hot(y, classes, -0.1, 0.9);
        RegOptions reg;
        reg.diag_reg = o.diag_reg;
        SolveInfo info;
        Matrix pred = kst * cholesky_solve(ktt, targets, reg, &info);
        CifarRun r;
        r.warning = info.warning;
        r.readout = readout;
        r.depth = depth;
        r.train = n;
        r.test = o.test;
        r.accuracy = accuracy(argmax_rows(pred), yte);
        r.kernel_seconds = secs;
        r.arch = spec;
        runs.push_back(r);
        std::fprintf(stderr, "cifar10: %s depth %d train %lld test %lld: accuracy %.2f%% (kernel %.1f s)\n",
                     readout.c_str(), depth, (long long)n, (long long)o.test, 100 * r.accuracy, secs);
      }
    }
  return runs;
}

}  // namespace ntk
