// The UCI collection in the layout of Fernández-Delgado et al. (2014): <name>_R.dat + conxuntos*.dat.
#include <cmath>

#include "io/io_internal.h"

namespace ntk::io {
namespace {

// Lines of whitespace-separated 0-based row indices (blank lines skipped).
std::vector<std::vector<int64_t>> read_index_lines(const std::string& path, size_t expected_lines,
                                                   int64_t n) {
  const std::string text = detail::read_file(path);
  std::vector<std::vector<int64_t>> lines;
  size_t pos = 0;
  for (int64_t line_no = 1; pos < text.size(); ++line_no) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    const char* p = text.data() + pos;
    const char* end = text.data() + nl;
    pos = nl + 1;
    std::vector<int64_t> row;
    while (true) {
      while (p < end && (*p == ' ' || *p == '\t' || *p == '\r')) ++p;
      if (p == end) break;
      const char* b = p;
      while (p < end && !(*p == ' ' || *p == '\t' || *p == '\r')) ++p;
      double v;
      if (!detail::parse_double(b, p, &v) || v != std::floor(v)) {
        NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "line %lld: '%s' is not a row index",
                    static_cast<long long>(line_no), std::string(b, p).c_str());
      }
      // Range before the cast: casting 6.7e107 to int64 is undefined (found by fuzzing).
      if (!(v >= 0 && v < static_cast<double>(n))) {
        NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "line %lld: row index %s out of range [0, %lld)",
                    static_cast<long long>(line_no), std::string(b, p).c_str(), static_cast<long long>(n));
      }
      row.push_back(static_cast<int64_t>(v));
    }
    if (!row.empty()) lines.push_back(std::move(row));
  }
  if (lines.size() != expected_lines) {
    NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "expected %zu lines of row indices, found %zu",
                expected_lines, lines.size());
  }
  return lines;
}

}  // namespace

UciDataset load_uci(const std::string& dir_or_file) {
  std::string dir = dir_or_file;
  if (detail::ends_with(dir, "_R.dat")) {
    const size_t slash = dir.find_last_of('/');
    dir = slash == std::string::npos ? "." : dir.substr(0, slash);
  }
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (!detail::is_directory(dir)) NTK_IO_FAIL(ErrorKind::kIo, dir, "not a folder");
  UciDataset out;
  out.name = detail::base_name(dir);
  const std::string data_path = detail::join_path(dir, out.name + "_R.dat");
  CsvOptions csv;
  csv.delimiter = '\t';
  csv.has_labels = true;
  csv.label_column = -1;
  CsvData table = load_csv(data_path, csv);
  if (!table.class_names.empty()) {
    NTK_IO_FAIL(ErrorKind::kInvalidInput, data_path, "labels in the last column must be integers, found '%s'",
                table.class_names[0].c_str());
  }
  const int64_t n = table.x.shape[0], cols = table.x.shape[1];
  if (cols < 2)
    NTK_IO_FAIL(ErrorKind::kInvalidInput, data_path, "expected row index, features, label per line");
  // Drop the first column: it is the row number, not a feature.
  Tensor x({n, cols - 1});
  for (int64_t i = 0; i < n; ++i) {
    std::copy(table.x.row(i) + 1, table.x.row(i) + cols, x.row(i));
  }
  out.data.x = std::move(x);
  detail::make_class_labels(table.labels, data_path, &out.data.labels, &out.data.class_names);

  auto split = read_index_lines(detail::join_path(dir, "conxuntos.dat"), 2, n);
  out.train = std::move(split[0]);
  out.validation = std::move(split[1]);
  auto folds = read_index_lines(detail::join_path(dir, "conxuntos_kfold.dat"), 8, n);
  for (size_t k = 0; k < 4; ++k) out.folds.emplace_back(std::move(folds[2 * k]), std::move(folds[2 * k + 1]));
  return out;
}

}  // namespace ntk::io
