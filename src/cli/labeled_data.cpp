#include "cli/labeled_data.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "cli/common.h"
#include "ntk/error.h"
#include "ntk/io.h"
#include "ntk/solvers.h"

namespace ntk::cli {

namespace {

std::string lower_extension(const std::string& path) {
  std::string p = path;
  if (p.size() > 3 && p.compare(p.size() - 3, 3, ".gz") == 0) p.resize(p.size() - 3);
  const size_t dot = p.find_last_of('.'), slash = p.find_last_of('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string e = p.substr(dot);
  for (char& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e;
}

Matrix column(const std::vector<double>& v) {
  Matrix m(static_cast<Eigen::Index>(v.size()), 1);
  for (size_t i = 0; i < v.size(); ++i) m(static_cast<Eigen::Index>(i), 0) = v[i];
  return m;
}

}  // namespace

LabeledData load_labeled(const std::string& path, const std::string& targets, const DataOptions& o,
                         int64_t width, const std::string& width_source) {
  std::string format = o.format;
  const std::string ext = lower_extension(path);
  if (format == "auto") {
    if (ext == ".npy")
      format = "npy";
    else if (ext == ".libsvm" || ext == ".svm" || ext == ".svmlight")
      format = "libsvm";
    else
      format = "csv";
  }
  NTK_THROW_IF_NOT(format == "csv" || format == "libsvm" || format == "npy",
                   "unknown data format '%s'; valid: auto, csv, libsvm, npy", format.c_str());
  LabeledData d;
  d.path = path;
  if (format == "npy") {
    d.x = load_inputs(path);
    if (!targets.empty()) {
      Tensor t = io::load_array(targets);
      io::check_finite(t, targets);
      NTK_THROW_IF_NOT(t.rank() == 1 || t.rank() == 2, "%s: targets must be (N,) or (N, outputs), got %s",
                       targets.c_str(), t.shape_string().c_str());
      NTK_THROW_IF_NOT(t.rows() == d.x.rows(), "%s: %lld target rows for %lld examples in %s",
                       targets.c_str(), static_cast<long long>(t.rows()), static_cast<long long>(d.x.rows()),
                       path.c_str());
      const int64_t k = t.rank() == 1 ? 1 : t.dim(1);
      d.y = Eigen::Map<const Matrix>(t.data.data(), t.rows(), k);
      d.targets_path = targets;
    }
  } else if (format == "libsvm") {
    NTK_THROW_IF_NOT(targets.empty(),
                     "%s: LIBSVM files carry their labels; drop the separate targets file %s", path.c_str(),
                     targets.c_str());
    io::LibsvmData l = io::load_libsvm(path, width);
    d.x = std::move(l.x);
    d.y = column(l.labels);
    d.targets_path = path;
  } else {
    NTK_THROW_IF_NOT(targets.empty(),
                     "%s: CSV files carry their labels (--label-column); drop the separate "
                     "targets file %s",
                     path.c_str(), targets.c_str());
    io::CsvOptions c;
    c.has_labels = true;
    c.label_column = o.label_column;
    io::CsvData t = io::load_csv(path, c);
    d.x = std::move(t.x);
    d.y = column(t.labels);
    d.class_names = t.class_names;
    d.targets_path = path;
  }
  io::check_input_array(d.x, path);
  NTK_THROW_IF_NOT(d.x.rank() == 2, "%s: expected (N, d) feature rows, got %s", path.c_str(),
                   d.x.shape_string().c_str());
  if (width > 0)
    NTK_THROW_IF_NOT(d.x.dim(1) == width,
                     "%s: %lld features per example, but the training data (%s) has %lld", path.c_str(),
                     static_cast<long long>(d.x.dim(1)), width_source.c_str(), static_cast<long long>(width));
  return d;
}

std::vector<int> class_labels(const LabeledData& d) {
  NTK_THROW_IF_NOT(d.y.size() > 0, "%s: no labels (give the targets file)", d.path.c_str());
  NTK_THROW_IF_NOT(d.y.cols() == 1, "%s: classification needs one label column, got %lld target columns",
                   d.targets_path.c_str(), static_cast<long long>(d.y.cols()));
  return to_class_labels(std::vector<double>(d.y.data(), d.y.data() + d.y.size()), d.targets_path);
}

bool looks_like_labels(const LabeledData& d) {
  if (d.y.cols() != 1 || d.y.size() == 0) return false;
  for (Eigen::Index i = 0; i < d.y.rows(); ++i) {
    const double v = d.y(i, 0);
    if (!(v >= 0 && v == std::floor(v))) return false;
  }
  return true;
}

std::string tensor_checksum(const Tensor& t) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const void* p, size_t n) {
    const unsigned char* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) {
      h ^= b[i];
      h *= 1099511628211ull;
    }
  };
  for (int64_t s : t.shape) mix(&s, sizeof s);
  mix(t.data.data(), t.data.size() * sizeof(double));
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

void save_table(const std::string& path, const Matrix& m) {
  if (lower_extension(path) == ".npy") {
    save_matrix_npy(path, m, DType::kFloat64);
    return;
  }
  Tensor t({m.rows(), m.cols()}, std::vector<double>(m.data(), m.data() + m.size()));
  io::save_csv(path, t);
}

}  // namespace ntk::cli
