#include <sys/stat.h>

#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <random>
#include <set>

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

io::Dataset take_rows(const io::Dataset& all, const std::vector<int64_t>& idx) {
  io::Dataset out;
  out.x = all.x.select_rows(idx);
  for (int64_t i : idx) out.labels.push_back(all.labels[i]);
  out.class_names = all.class_names;
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
  s.train = take_rows(all, rest);
  s.test = take_rows(all, test_idx);
  return s;
}

Tensor concat_rows(const Tensor& a, const Tensor& b) {
  std::vector<int64_t> shape = a.shape;
  shape[0] = a.rows() + b.rows();
  Tensor out(shape);
  std::copy(a.data.begin(), a.data.end(), out.data.begin());
  std::copy(b.data.begin(), b.data.end(), out.data.begin() + a.size());
  return out;
}

}  // namespace

const OptionTable<CifarBenchOptions>& cifar_bench_options() {
  static const OptionTable<CifarBenchOptions> table = [] {
    using C = CifarBenchOptions;
    OptionTable<C> t;
    t.add("data", &C::data,
          "cifar-10-batches-bin folder, or an image-folder root with train/ (and optionally test/)")
        .must_be_given();
    t.add(
        "arch", &C::arch,
        "architecture or preset (myrtle5, cntk_gap(14), ...); empty: the CNTK sweep over depths x readouts");
    t.add("train_sizes", &C::train_sizes,
          "training-set sizes (nested subsets of one class-balanced sample per repeat)")
        .not_empty()
        .at_least(10)
        .cli("--train");
    t.add("few_shot", &C::few_shot,
          "few-shot sizes instead of train_sizes (e.g. 10,20,...,1280), reported beside Arora et al. 2020")
        .at_least(1);
    t.add("repeats", &C::repeats,
          "class-balanced draws per size (seeds seed, seed+1, ...); one kernel serves all")
        .at_least(1);
    t.add("test", &C::test, "test-set size").at_least(1);
    t.add("depths", &C::depths, "numbers of conv layers of the sweep (without arch)").not_empty().at_least(1);
    t.add("readouts", &C::readouts, "the sweep's readouts: flatten (CNTK-V) and/or gap (CNTK-GAP)")
        .not_empty()
        .one_of({"flatten", "gap"});
    t.add("kernels", &C::kernels, "ntk and/or nngp (both come from one kernel computation)")
        .not_empty()
        .one_of({"ntk", "nngp"});
    t.add(
         "preprocess", &C::preprocess,
         "none, standardize (per channel, fitted on the training images) or zca (per-image centring and unit "
         "norm, then regularised ZCA whitening fitted on the training images)")
        .one_of({"none", "standardize", "zca"});
    t.add("zca_reg", &C::zca_reg,
          "ZCA regulariser, relative to the mean eigenvalue of the training covariance")
        .at_least(0);
    t.add("zca_fit", &C::zca_fit,
          "training images the whitening is fitted on (more than the run's: further unlabelled images of the "
          "training split, never test images); 0 = the run's training images")
        .at_least(0);
    t.add("flip", &C::flip, "add the horizontal mirror image of every training image");
    t.add("diag_reg", &C::diag_reg,
          "ridge candidates relative to the mean diagonal (several: chosen by cross-validation on the "
          "training "
          "set)")
        .not_empty()
        .at_least(0);
    t.add("ridge_folds", &C::ridge_folds, "cross-validation folds that choose the ridge").at_least(2);
    t.add("seed", &C::seed, "subset seed");
    return t;
  }();
  return table;
}

std::string cntk_architecture(const std::string& readout, int depth) {
  NTK_THROW_IF_NOT(readout == "flatten" || readout == "gap", "unknown readout '%s'; valid: flatten, gap",
                   readout.c_str());
  return arch_preset_expansion(readout == "flatten" ? "cntk_v" : "cntk_gap", depth);
}

Tensor flip_horizontal(const Tensor& x) {
  NTK_THROW_IF_NOT(x.rank() == 4, "flip: expected images (N, H, W, C), got %s", x.shape_string().c_str());
  Tensor out(x.shape);
  const int64_t n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t j = 0; j < w; ++j) {
        const double* src = x.data.data() + ((i * h + y) * w + (w - 1 - j)) * c;
        std::copy(src, src + c, out.data.data() + ((i * h + y) * w + j) * c);
      }
  return out;
}

Tensor with_flips(const Tensor& x) { return concat_rows(x, flip_horizontal(x)); }

void normalize_images_inplace(Tensor& x) {
  const int64_t d = x.row_size();
  for (int64_t i = 0; i < x.rows(); ++i) {
    double* r = x.row(i);
    double mean = 0;
    for (int64_t k = 0; k < d; ++k) mean += r[k];
    mean /= static_cast<double>(d);
    double norm = 0;
    for (int64_t k = 0; k < d; ++k) norm += (r[k] - mean) * (r[k] - mean);
    norm = std::sqrt(norm);
    const double scale = norm > 1e-8 ? 1.0 / norm : 1.0;  // a constant image stays zero
    for (int64_t k = 0; k < d; ++k) r[k] = (r[k] - mean) * scale;
  }
}

ZcaWhitening ZcaWhitening::fit(const Tensor& train, double reg) {
  NTK_THROW_IF_NOT(train.rows() >= 1, "zca: no training images");
  NTK_THROW_IF_NOT(reg >= 0 && std::isfinite(reg), "zca_reg must be >= 0, got %g", reg);
  Tensor x = train;
  normalize_images_inplace(x);
  const int64_t n = x.rows(), d = x.row_size();
  Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> xm(x.data.data(),
                                                                                              n, d);
  Matrix m = Matrix::Zero(d, d);
  m.selfadjointView<Eigen::Lower>().rankUpdate(xm.transpose(), 1.0 / static_cast<double>(n));
  m.triangularView<Eigen::StrictlyUpper>() = m.transpose();
  const double mean_eig = m.trace() / static_cast<double>(d);
  SymmetricEigen eig(m);
  const Vector& lam = eig.eigenvalues();
  const double top = lam.size() ? std::max(lam(lam.size() - 1), 0.0) : 0.0;
  Vector s(lam.size());
  for (int64_t i = 0; i < lam.size(); ++i) {
    const double v = std::max(lam(i), 0.0) + reg * mean_eig;
    s(i) = v > 1e-12 * top && v > 0 ? 1.0 / std::sqrt(v) : 0.0;
  }
  const Eigen::MatrixXd& v = eig.eigenvectors();
  ZcaWhitening z;
  z.w = v * s.asDiagonal() * v.transpose();
  return z;
}

void ZcaWhitening::apply_inplace(Tensor& x) const {
  NTK_THROW_IF_NOT(x.row_size() == w.rows(), "zca: images of %lld values, the whitening was fitted on %lld",
                   (long long)x.row_size(), (long long)w.rows());
  normalize_images_inplace(x);
  Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> xm(
      x.data.data(), x.rows(), x.row_size());
  Matrix out = xm * w;
  xm = out;
}

CifarKernelBlocks cifar_kernel_blocks(const std::string& arch, const Tensor& train, const Tensor& test,
                                      const KernelOptions& options) {
  CifarKernelBlocks b;
  const Architecture a = Architecture::parse(arch);
  auto t0 = std::chrono::steady_clock::now();
  b.train_train = compute_kernels(a, train, nullptr, options);
  b.test_train = compute_kernels(a, test, &train, options);
  b.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return b;
}

Matrix ridge_cv_predict(const Matrix& k_train, const Matrix& k_test_train, const std::vector<int>& labels,
                        const std::vector<int64_t>& group, int classes, const std::vector<double>& diag_reg,
                        int64_t folds, RidgeChoice* choice) {
  const int64_t n = k_train.rows();
  NTK_THROW_IF_NOT(static_cast<int64_t>(labels.size()) == n && static_cast<int64_t>(group.size()) == n,
                   "ridge: %lld labels and %lld groups for %lld training examples", (long long)labels.size(),
                   (long long)group.size(), (long long)n);
  NTK_THROW_IF_NOT(!diag_reg.empty(), "diag_reg: empty list");
  const Matrix y = one_hot(labels, classes, -0.1, 0.9);
  RidgeChoice best;
  Matrix best_alpha;
  if (diag_reg.size() == 1) {
    RegOptions reg;
    reg.diag_reg = diag_reg[0];
    SolveInfo info;
    best_alpha = cholesky_solve(k_train, y, reg, &info);
    best.diag_reg = diag_reg[0];
    best.warning = info.warning;
  } else {
    // Folds: groups in class order, dealt round-robin, so that every fold holds every class as far as
    // possible.
    std::vector<int64_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return labels[a] < labels[b]; });
    std::map<int64_t, int64_t> fold_of_group;
    int64_t next = 0;
    const int64_t groups = static_cast<int64_t>(std::set<int64_t>(group.begin(), group.end()).size());
    const int64_t k = std::max<int64_t>(2, std::min(folds, groups));
    for (int64_t i : order)
      if (!fold_of_group.count(group[i])) fold_of_group[group[i]] = next++ % k;
    std::vector<std::vector<int64_t>> fold(k);
    for (int64_t i = 0; i < n; ++i) fold[fold_of_group[group[i]]].push_back(i);
    double best_mse = 0;
    bool have = false;
    for (double r : diag_reg) {
      RegOptions reg;
      reg.diag_reg = r;
      Cholesky chol(k_train, reg);
      const Matrix g = chol.solve(Matrix::Identity(n, n));
      const Matrix alpha = g * y;
      // Held-out predictions of fold F from the fit on the rest: Y_F − (G_FF)⁻¹ α_F.
      int64_t correct = 0;
      double mse = 0;
      for (const auto& f : fold) {
        if (f.empty()) continue;
        const Matrix gff = submatrix(g, f, f);
        Matrix af(static_cast<int64_t>(f.size()), classes), yf(static_cast<int64_t>(f.size()), classes);
        for (size_t j = 0; j < f.size(); ++j) {
          af.row(j) = alpha.row(f[j]);
          yf.row(j) = y.row(f[j]);
        }
        const Matrix pred = yf - Matrix(gff.ldlt().solve(af));
        mse += (pred - yf).squaredNorm();
        const std::vector<int> am = argmax_rows(pred);
        for (size_t j = 0; j < f.size(); ++j) correct += am[j] == labels[f[j]];
      }
      const double acc = static_cast<double>(correct) / static_cast<double>(n);
      if (!have || acc > best.cv_accuracy || (acc == best.cv_accuracy && mse < best_mse)) {
        have = true;
        best.diag_reg = r;
        best.cv_accuracy = acc;
        best.warning = chol.info().warning;
        best_mse = mse;
        best_alpha = alpha;
      }
    }
  }
  if (choice) *choice = best;
  return k_test_train * best_alpha;
}

std::vector<CifarRun> run_cifar_bench(const CifarBenchOptions& o) {
  cifar_bench_options().validate(o);
  const bool few_shot = !o.few_shot.empty();
  const std::vector<int64_t>& sizes = few_shot ? o.few_shot : o.train_sizes;
  const int64_t max_n = *std::max_element(sizes.begin(), sizes.end());
  // The architectures: --arch, or the CNTK sweep.
  struct Arch {
    std::string label, spec, readout;
    int depth = 0;
  };
  std::vector<Arch> archs;
  if (!o.arch.empty()) {
    archs.push_back({o.arch, expand_arch_presets(o.arch), "", 0});
  } else {
    for (const std::string& readout : o.readouts)
      for (int depth : o.depths) {
        const std::string label =
            (readout == "flatten" ? "cntk_v(" : "cntk_gap(") + std::to_string(depth) + ")";
        archs.push_back({label, cntk_architecture(readout, depth), readout, depth});
      }
  }
  for (const Arch& a : archs) Architecture::parse(a.spec);  // spec errors before loading data

  const int64_t needed = std::max(max_n * o.repeats, o.zca_fit);
  TrainTestData split = load_split(o, needed);
  NTK_THROW_IF_NOT(split.train.x.rank() == 4, "%s: expected images", o.data.c_str());
  const int64_t available = static_cast<int64_t>(split.train.labels.size());
  NTK_THROW_IF_NOT(max_n <= available, "asked for %lld training images but the data has only %lld",
                   (long long)max_n, (long long)available);

  // Repeat r: the first n of one class-balanced permutation (seed + r) for every size n; the pool is their
  // union.
  std::vector<std::vector<int64_t>> draws;
  std::vector<int64_t> pool;
  {
    std::set<int64_t> in_pool;
    for (int64_t r = 0; r < o.repeats; ++r) {
      draws.push_back(balanced_sample(split.train.labels, max_n, o.seed + static_cast<uint64_t>(r)));
      in_pool.insert(draws.back().begin(), draws.back().end());
    }
    pool.assign(in_pool.begin(), in_pool.end());
  }
  std::map<int64_t, int64_t> pool_pos;
  for (size_t i = 0; i < pool.size(); ++i) pool_pos[pool[i]] = static_cast<int64_t>(i);
  std::vector<int64_t> test_idx = balanced_sample(split.test.labels, o.test, o.seed + 2);
  Tensor xtr = split.train.x.select_rows(pool), xte = split.test.x.select_rows(test_idx);
  const int64_t p = xtr.rows();
  if (o.flip) xtr = with_flips(xtr);  // row p + i mirrors row i

  // Preprocessing, fitted on training images only.
  if (o.preprocess == "standardize") {
    io::Standardizer st = io::Standardizer::fit(xtr);
    st.apply_inplace(xtr);
    st.apply_inplace(xte);
  } else if (o.preprocess == "zca") {
    Tensor fit_on = xtr;
    if (o.zca_fit > p) {
      // Further training images outside the pool (unlabelled use), drawn class-balanced.
      std::vector<int64_t> rest;
      std::set<int64_t> used(pool.begin(), pool.end());
      for (int64_t i : balanced_sample(split.train.labels, std::min(o.zca_fit, available), o.seed + 7))
        if (!used.count(i) && static_cast<int64_t>(rest.size()) < o.zca_fit - p) rest.push_back(i);
      Tensor extra = split.train.x.select_rows(rest);
      if (o.flip) extra = with_flips(extra);
      fit_on = concat_rows(fit_on, extra);
    }
    ZcaWhitening z = ZcaWhitening::fit(fit_on, o.zca_reg);
    z.apply_inplace(xtr);
    z.apply_inplace(xte);
  }
  std::vector<int> yte;
  for (int64_t i : test_idx) yte.push_back(static_cast<int>(split.test.labels[i]));
  int classes = count_classes(yte);
  for (int64_t i : pool) classes = std::max(classes, static_cast<int>(split.train.labels[i]) + 1);
  std::fprintf(stderr, "cifar10: %lld training images in the kernel pool%s, %lld test images\n",
               (long long)xtr.rows(), o.flip ? " (with flips)" : "", (long long)o.test);

  std::vector<CifarRun> runs;
  for (const Arch& a : archs) {
    KernelOptions ko;
    ko.nngp = std::find(o.kernels.begin(), o.kernels.end(), "nngp") != o.kernels.end();
    ko.ntk = std::find(o.kernels.begin(), o.kernels.end(), "ntk") != o.kernels.end();
    ko.ctx = o.ctx;
    const CifarKernelBlocks k = cifar_kernel_blocks(a.spec, xtr, xte, ko);
    for (const std::string& kind : o.kernels) {
      const Matrix& ktt = kind == "ntk" ? k.train_train.ntk : k.train_train.nngp;
      const Matrix& kst = kind == "ntk" ? k.test_train.ntk : k.test_train.nngp;
      for (int64_t n : sizes)
        for (int64_t r = 0; r < o.repeats; ++r) {
          std::vector<int64_t> rows, group, all_te(static_cast<size_t>(o.test));
          std::iota(all_te.begin(), all_te.end(), 0);
          std::vector<int> y;
          for (int64_t j = 0; j < n; ++j) {
            const int64_t img = draws[r][j];
            rows.push_back(pool_pos[img]);
            group.push_back(j);
            y.push_back(static_cast<int>(split.train.labels[img]));
          }
          if (o.flip)
            for (int64_t j = 0; j < n; ++j) {
              rows.push_back(p + rows[j]);
              group.push_back(j);
              y.push_back(y[j]);
            }
          RidgeChoice choice;
          const Matrix pred = ridge_cv_predict(submatrix(ktt, rows, rows), submatrix(kst, all_te, rows), y,
                                               group, classes, o.diag_reg, o.ridge_folds, &choice);
          CifarRun run;
          run.arch = a.label;
          run.spec = a.spec;
          run.kernel = kind;
          run.readout = a.readout;
          run.depth = a.depth;
          run.train = n;
          run.repeat = r;
          run.test = o.test;
          run.accuracy = accuracy(argmax_rows(pred), yte);
          run.diag_reg = choice.diag_reg;
          run.kernel_seconds = k.seconds;
          run.warning = choice.warning;
          runs.push_back(run);
          std::fprintf(
              stderr,
              "cifar10: %s %s train %lld repeat %lld test %lld: accuracy %.2f%% (ridge %g; kernel %.1f s)\n",
              a.label.c_str(), kind.c_str(), (long long)n, (long long)r, (long long)o.test,
              100 * run.accuracy, choice.diag_reg, k.seconds);
        }
    }
  }
  return runs;
}

std::vector<CifarSummary> summarize_cifar_runs(const std::vector<CifarRun>& runs) {
  std::vector<CifarSummary> out;
  std::vector<std::vector<double>> acc;
  for (const CifarRun& r : runs) {
    size_t i = 0;
    while (i < out.size() && !(out[i].arch == r.arch && out[i].kernel == r.kernel && out[i].train == r.train))
      ++i;
    if (i == out.size()) {
      CifarSummary s;
      s.arch = r.arch;
      s.kernel = r.kernel;
      s.train = r.train;
      s.test = r.test;
      s.kernel_seconds = r.kernel_seconds;
      out.push_back(s);
      acc.emplace_back();
    }
    acc[i].push_back(r.accuracy);
  }
  for (size_t i = 0; i < out.size(); ++i) {
    const double m = std::accumulate(acc[i].begin(), acc[i].end(), 0.0) / static_cast<double>(acc[i].size());
    double v = 0;
    for (double a : acc[i]) v += (a - m) * (a - m);
    out[i].repeats = static_cast<int64_t>(acc[i].size());
    out[i].mean = m;
    out[i].std = std::sqrt(v / static_cast<double>(acc[i].size()));
  }
  return out;
}

bool arora2020_published(int64_t n, double* cntk, double* resnet34) {
  static const double kCntk[] = {15.33, 18.79, 21.34, 25.48, 30.48, 36.57, 42.63, 48.86};
  static const double kResnet[] = {14.59, 17.50, 19.52, 23.32, 28.30, 33.15, 41.66, 49.14};
  for (int k = 0; k < 8; ++k)
    if (n == (int64_t{10} << k)) {
      if (cntk) *cntk = kCntk[k] / 100;
      if (resnet34) *resnet34 = kResnet[k] / 100;
      return true;
    }
  return false;
}

}  // namespace ntk
