// UCI benchmark protocol of Arora et al. 2020 (see ntk/experiments_uci.h).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>

#include "ntk/error.h"
#include "ntk/experiments_uci.h"
#include "ntk/kernel.h"

namespace ntk::experiments {

namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<int> to_int(const std::vector<int64_t>& v) {
  return std::vector<int>(v.begin(), v.end());
}

std::vector<int> pick(const std::vector<int>& v, const std::vector<int64_t>& idx) {
  std::vector<int> out(idx.size());
  for (size_t i = 0; i < idx.size(); ++i) out[i] = v[static_cast<size_t>(idx[i])];
  return out;
}

}  // namespace

const OptionTable<UciOptions>& uci_options() {
  static const OptionTable<UciOptions> table = [] {
    using U = UciOptions;
    OptionTable<U> t;
    t.add("min_depth", &U::min_depth, "smallest number of hidden layers (0 = linear kernel)")
        .at_least(0)
        .at_most(20);
    t.add("max_depth", &U::max_depth, "largest number of hidden layers").at_least(0).at_most(20);
    t.add("cs", &U::cs, "SVM C grid").not_empty().above(0).cli("--C");
    t.add("activation", &U::activation, "activation of the hidden layers");
    t.add("w_std", &U::w_std, "weight std of every dense layer").above(0);
    t.add("b_std", &U::b_std, "bias std of every dense layer").at_least(0);
    t.add("arora_scale", &U::arora_scale,
          "first-layer covariance x.x' as in Arora et al.'s code (off: neural-tangents' x.x'/d)")
        .cli("--nt-scale");
    return t;
  }();
  return table;
}

std::vector<std::string> list_uci_datasets(const std::string& dir) {
  std::error_code ec;
  NTK_THROW_KIND_IF_NOT(ErrorKind::kIo, fs::is_directory(dir, ec),
                        "%s: not a folder (expected the extracted uci90 "
                        "folder)",
                        dir.c_str());
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory(ec) && fs::exists(entry.path() / (name + "_R.dat"), ec)) names.push_back(name);
  }
  NTK_THROW_KIND_IF_NOT(ErrorKind::kIo, !ec, "%s: cannot list the folder: %s", dir.c_str(),
                        ec.message().c_str());
  NTK_THROW_IF_NOT(!names.empty(), "%s: no UCI data sets (<name>/<name>_R.dat) found", dir.c_str());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<DepthKernel> fc_grid_kernels(const Tensor& x, const UciOptions& o) {
  NTK_THROW_IF_NOT(x.rank() == 2 && x.rows() > 0, "UCI inputs must be (N, d), got %s",
                   x.shape_string().c_str());
  uci_options().validate(o);
  NTK_THROW_IF_NOT(o.max_depth >= o.min_depth, "max_depth (%d) must be >= min_depth (%d)", o.max_depth,
                   o.min_depth);
  const int64_t n = x.rows(), d = x.dim(1);
  const double scale = o.arora_scale ? static_cast<double>(d) : 1.0;
  std::vector<DepthKernel> out;
  if (o.min_depth == 0) {
    // A single dense layer: NNGP = NTK = w²·x·x'/d + b² (fc_kernels_all_depths starts at one hidden layer).
    DepthKernel k;
    Eigen::Map<const Matrix> xm(x.data.data(), n, d);
    k.ntk = (o.w_std * o.w_std / static_cast<double>(d)) * (xm * xm.transpose());
    k.ntk.array() += o.b_std * o.b_std;
    k.ntk *= scale;
    out.push_back(std::move(k));
  }
  if (o.max_depth == 0) return out;
  const size_t first = out.size();
  for (int h = std::max(1, o.min_depth); h <= o.max_depth; ++h)
    for (int f = 0; f <= h; ++f) {
      DepthKernel k;
      k.depth = h;
      k.fixed = f;
      k.ntk.resize(n, n);
      out.push_back(std::move(k));
    }
  // fc_kernels_all_depths returns NNGP and NTK of every (depth, L') for its row block; blocks of rows bound
  // the temporary memory (2 × #kernels × block × N doubles) to about 256 MB whatever N is.
  const int64_t all = static_cast<int64_t>(o.max_depth) * (o.max_depth + 3) / 2;
  const int64_t block = std::max<int64_t>(16, (int64_t(256) << 20) / (16 * all * n));
  for (int64_t b = 0; b < n; b += block) {
    const int64_t e = std::min(n, b + block);
    Tensor xb = x.slice_rows(b, e);
    std::vector<DepthKernel> ks =
        fc_kernels_all_depths(xb, &x, o.max_depth, o.activation, o.w_std, o.b_std, o.ctx);
    size_t slot = first;
    for (DepthKernel& k : ks) {
      if (k.depth < o.min_depth) continue;
      NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, out[slot].depth == k.depth && out[slot].fixed == k.fixed,
                            "unexpected kernel order from fc_kernels_all_depths");
      out[slot].ntk.middleRows(b, e - b) = scale * k.ntk;
      ++slot;
    }
  }
  return out;
}

UciResult run_uci_ntk(const io::UciDataset& data, const std::string& source, const UciOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  UciResult r;
  r.name = data.name;
  r.examples = data.data.x.rows();
  r.features = data.data.x.rank() == 2 ? data.data.x.dim(1) : 0;
  const std::vector<int> labels = to_int(data.data.labels);
  r.classes = distinct_classes(labels);
  NTK_THROW_IF_NOT(r.classes >= 2,
                   "%s: the data set holds a single class (label %d); classification needs at "
                   "least two",
                   source.c_str(), labels.empty() ? -1 : labels[0]);
  NTK_THROW_IF_NOT(data.folds.size() == 4, "%s: expected 4 folds in conxuntos_kfold.dat, found %zu",
                   source.c_str(), data.folds.size());
  auto check_split = [&](const std::vector<int64_t>& train, const std::vector<int64_t>& test,
                         const char* file, const char* which) {
    NTK_THROW_IF_NOT(!train.empty() && !test.empty(), "%s/%s: the %s has an empty part", source.c_str(), file,
                     which);
    NTK_THROW_IF_NOT(distinct_classes(pick(labels, train)) >= 2,
                     "%s/%s: the training part of the %s holds a single class", source.c_str(), file, which);
  };
  check_split(data.train, data.validation, "conxuntos.dat", "train/validation split");
  for (size_t f = 0; f < 4; ++f)
    check_split(data.folds[f].first, data.folds[f].second, "conxuntos_kfold.dat", "fold");

  std::vector<DepthKernel> kernels = fc_grid_kernels(data.data.x, o);
  r.kernel_seconds = seconds_since(t0);

  SelectOptions sel;
  sel.method = SelectMethod::kSvm;
  sel.values = o.cs;
  sel.svm = o.svm;
  sel.ctx = o.ctx;
  r.selection = select_model(kernels, labels, Matrix(), {Split{data.train, data.validation}}, sel);
  r.depth = r.selection.best.depth;
  r.fixed = r.selection.best.fixed;
  r.c = r.selection.best.value;
  r.validation_accuracy = r.selection.best.score;

  const Matrix* best = nullptr;
  for (const DepthKernel& k : kernels)
    if (k.depth == r.depth && k.fixed == r.fixed) best = &k.ntk;
  NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, best != nullptr, "selected kernel not found");

  r.fold_accuracy.assign(4, 0.0);
  std::exception_ptr error;
  const int threads = std::max(1, std::min(o.ctx.num_threads(), 4));
#pragma omp parallel for num_threads(threads) schedule(dynamic)
  for (int f = 0; f < 4; ++f) {
    try {
      const auto& [train, test] = data.folds[static_cast<size_t>(f)];
      PrecomputedSvm svm;
      SvmOptions so = o.svm;
      so.C = r.c;
      svm.fit(submatrix(*best, train, train), pick(labels, train), so);
      r.fold_accuracy[static_cast<size_t>(f)] =
          accuracy(svm.predict(submatrix(*best, test, train)), pick(labels, test));
    } catch (...) {
#pragma omp critical(ntk_uci_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
  double sum = 0;
  for (double a : r.fold_accuracy) sum += a;
  r.accuracy = sum / 4.0;
  r.seconds = seconds_since(t0);
  return r;
}

std::vector<ClassifierSummary> compare_classifiers(const std::vector<std::string>& names,
                                                   const std::vector<std::vector<double>>& acc) {
  NTK_THROW_IF_NOT(!names.empty() && names.size() == acc.size(),
                   "compare_classifiers: %zu names for %zu rows", names.size(), acc.size());
  const size_t c = names.size(), s = acc[0].size();
  for (const auto& row : acc)
    NTK_THROW_IF_NOT(row.size() == s, "compare_classifiers: rows of different lengths (%zu vs %zu)",
                     row.size(), s);
  std::vector<ClassifierSummary> out(c);
  for (size_t k = 0; k < c; ++k) out[k].name = names[k];
  for (size_t j = 0; j < s; ++j) {
    bool complete = true;
    double best = 0.0;
    for (size_t k = 0; k < c; ++k) {
      complete = complete && !std::isnan(acc[k][j]);
      best = std::max(best, acc[k][j]);
    }
    if (!complete) continue;
    for (size_t k = 0; k < c; ++k) {
      // Rank = 1 + (number strictly better) + (number tied, others) / 2: the average of the tied positions.
      double better = 0, tied = 0;
      for (size_t m = 0; m < c; ++m) {
        if (m == k) continue;
        better += acc[m][j] > acc[k][j];
        tied += acc[m][j] == acc[k][j];
      }
      ClassifierSummary& o = out[k];
      o.datasets += 1;
      o.average += acc[k][j];
      o.friedman_rank += 1.0 + better + tied / 2.0;
      o.p90 += acc[k][j] >= 0.90 * best;
      o.p95 += acc[k][j] >= 0.95 * best;
    }
  }
  for (ClassifierSummary& o : out) {
    if (o.datasets == 0) continue;
    const double n = o.datasets;
    o.average /= n;
    o.friedman_rank /= n;
    o.p90 /= n;
    o.p95 /= n;
  }
  return out;
}

}  // namespace ntk::experiments
