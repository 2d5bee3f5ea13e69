// Delimited text: CSV, TSV, whitespace-separated columns.
#include <algorithm>
#include <charconv>
#include <cstring>
#include <map>

#include "io/io_internal.h"

namespace ntk::io {
namespace {

constexpr char kWhitespace = ' ';  // delimiter value meaning "runs of spaces and tabs"

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

struct Cell {
  const char* begin;
  const char* end;
  std::string str() const { return std::string(begin, end); }
};

void split(const char* b, const char* e, char delim, std::vector<Cell>* cells) {
  cells->clear();
  if (delim == kWhitespace) {
    const char* p = b;
    while (true) {
      while (p < e && is_blank(*p)) ++p;
      if (p == e) break;
      const char* s = p;
      while (p < e && !is_blank(*p)) ++p;
      cells->push_back({s, p});
    }
    return;
  }
  const char* s = b;
  for (const char* p = b;; ++p) {
    if (p == e || *p == delim) {
      const char* cb = s;
      const char* ce = p;
      while (cb < ce && is_blank(*cb)) ++cb;
      while (ce > cb && is_blank(ce[-1])) --ce;
      // Quoted header names ("sepal length") are common; numbers are never quoted by sane writers but unquote
      // them anyway.
      if (ce - cb >= 2 && *cb == '"' && ce[-1] == '"') ++cb, --ce;
      cells->push_back({cb, ce});
      if (p == e) break;
      s = p + 1;
    }
  }
}

std::string shorten(const std::string& s) {
  return s.size() > 40 ? s.substr(0, 37) + "..." : s;
}

}  // namespace

CsvData load_csv(const std::string& path, const CsvOptions& options) {
  const std::string text = detail::read_file(path);
  CsvData out;
  char delim = options.delimiter == '\t' ? kWhitespace : options.delimiter;
  std::vector<Cell> cells;
  std::vector<double> values;
  std::vector<std::string> label_cells;
  int64_t columns = -1, first_data_line = 0, label_col = -1, rows = 0;
  bool seen_content = false;

  const char* p = text.data();
  const char* end = p + text.size();
  for (int64_t line_no = 1; p < end; ++line_no) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    const char* le = nl ? nl : end;
    const char* lb = p;
    p = nl ? nl + 1 : end;
    const char* q = lb;
    while (q < le && is_blank(*q)) ++q;
    if (q == le || *q == '#') continue;
    if (!seen_content && delim == 0) {
      const std::string first(lb, le);
      delim = first.find(',') != std::string::npos   ? ','
              : first.find(';') != std::string::npos ? ';'
                                                     : kWhitespace;
    }
    split(lb, le, delim, &cells);
    if (!seen_content) {
      seen_content = true;
      bool any_number = false;
      double v;
      for (const Cell& c : cells) any_number = any_number || detail::parse_double(c.begin, c.end, &v);
      if (!any_number) {
        for (const Cell& c : cells) out.header.push_back(c.str());
        continue;
      }
    }
    const int64_t n_cells = static_cast<int64_t>(cells.size());
    if (columns < 0) {
      columns = n_cells;
      first_data_line = line_no;
      if (options.has_labels) {
        label_col = options.label_column < 0 ? columns + options.label_column : options.label_column;
        if (label_col < 0 || label_col >= columns) {
          NTK_IO_FAIL(ErrorKind::kInvalidInput, path,
                      "label column %lld out of range: line %lld has %lld columns",
                      static_cast<long long>(options.label_column), static_cast<long long>(line_no),
                      static_cast<long long>(columns));
        }
        if (columns < 2) NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "only the label column, no features");
      }
    } else if (n_cells != columns) {
      NTK_IO_FAIL(ErrorKind::kInvalidInput, path,
                  "line %lld has %lld columns, expected %lld (as on line %lld)",
                  static_cast<long long>(line_no), static_cast<long long>(n_cells),
                  static_cast<long long>(columns), static_cast<long long>(first_data_line));
    }
    for (int64_t c = 0; c < n_cells; ++c) {
      const Cell& cell = cells[static_cast<size_t>(c)];
      if (c == label_col) {
        label_cells.push_back(cell.str());
        if (cell.begin == cell.end) {
          NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "line %lld, column %lld: empty label",
                      static_cast<long long>(line_no), static_cast<long long>(c + 1));
        }
        continue;
      }
      double v;
      if (!detail::parse_double(cell.begin, cell.end, &v)) {
        if (cell.begin == cell.end) {
          NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "line %lld, column %lld: empty cell",
                      static_cast<long long>(line_no), static_cast<long long>(c + 1));
        }
        NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "line %lld, column %lld: '%s' is not a number",
                    static_cast<long long>(line_no), static_cast<long long>(c + 1),
                    shorten(cell.str()).c_str());
      }
      values.push_back(v);
    }
    ++rows;
  }
  if (!seen_content) NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "file is empty (no data rows)");
  if (rows == 0) NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "no data rows after the header line");

  const int64_t d = columns - (label_col >= 0 ? 1 : 0);
  out.x = Tensor({rows, d}, std::move(values));
  check_finite(out.x, path);
  if (label_col >= 0) {
    bool numeric = true;
    out.labels.resize(label_cells.size());
    for (size_t i = 0; i < label_cells.size() && numeric; ++i) {
      const std::string& s = label_cells[i];
      numeric = detail::parse_double(s.data(), s.data() + s.size(), &out.labels[i]);
    }
    if (!numeric) {
      // Class names ("setosa"): labels are indices into the sorted distinct names.
      std::map<std::string, int64_t> index;
      for (const std::string& s : label_cells) index.emplace(s, 0);
      int64_t k = 0;
      for (auto& [name, idx] : index) {
        idx = k++;
        out.class_names.push_back(name);
      }
      for (size_t i = 0; i < label_cells.size(); ++i)
        out.labels[i] = static_cast<double>(index[label_cells[i]]);
    } else {
      check_finite(Tensor({rows}, out.labels), path + " (labels)");
    }
  }
  return out;
}

void save_csv(const std::string& path, const Tensor& x, const std::vector<std::string>& header,
              const std::vector<double>& labels) {
  NTK_THROW_IF_NOT(x.rank() == 1 || x.rank() == 2, "%s: save_csv needs a 1-D or 2-D array, got shape %s",
                   path.c_str(), x.shape_string().c_str());
  const int64_t n = x.rank() == 0 ? 0 : x.shape[0];
  const int64_t d = x.rank() == 2 ? x.shape[1] : 1;
  NTK_THROW_IF_NOT(labels.empty() || static_cast<int64_t>(labels.size()) == n, "%s: %zu labels for %lld rows",
                   path.c_str(), labels.size(), static_cast<long long>(n));
  const size_t want = static_cast<size_t>(d) + (labels.empty() ? 0 : 1);
  NTK_THROW_IF_NOT(header.empty() || header.size() == want || (!labels.empty() && header.size() + 1 == want),
                   "%s: header has %zu names for %zu columns", path.c_str(), header.size(), want);
  AtomicFile out(path);
  std::string buf;
  if (!header.empty()) {
    for (size_t i = 0; i < header.size(); ++i) buf += (i ? "," : "") + header[i];
    if (header.size() + 1 == want) buf += ",label";
    buf += '\n';
  }
  char num[32];
  const auto put = [&](double v) {
    // Shortest text that reads back to the same double.
    const auto r = std::to_chars(num, num + sizeof(num), v);
    buf.append(num, r.ptr);
  };
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j) {
      if (j) buf += ',';
      put(x.data[static_cast<size_t>(i * d + j)]);
    }
    if (!labels.empty()) {
      buf += ',';
      put(labels[static_cast<size_t>(i)]);
    }
    buf += '\n';
    if (buf.size() > (1 << 20)) {
      out.write(buf);
      buf.clear();
    }
  }
  out.write(buf);
  out.commit();
}

}  // namespace ntk::io
