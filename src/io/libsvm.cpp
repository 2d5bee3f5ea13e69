// LIBSVM / SVMlight sparse text format: "label index:value index:value ..." with 1-based ascending indices.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "io/io_internal.h"

namespace ntk::io {

LibsvmData load_libsvm(const std::string& path, int64_t num_features) {
  NTK_THROW_IF_NOT(num_features >= 0, "%s: num_features must be >= 0, got %lld", path.c_str(),
                   static_cast<long long>(num_features));
  const std::string text = detail::read_file(path);
  struct Entry {
    int64_t row, col;
    double value;
  };
  std::vector<Entry> entries;
  LibsvmData out;
  int64_t max_index = 0;
  const char* p = text.data();
  const char* end = p + text.size();
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  for (int64_t line_no = 1; p < end; ++line_no) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    const char* le = nl ? nl : end;
    const char* q = p;
    p = nl ? nl + 1 : end;
    const char* hash = static_cast<const char*>(std::memchr(q, '#', static_cast<size_t>(le - q)));
    if (hash) le = hash;
    const int64_t row = static_cast<int64_t>(out.labels.size());
    int64_t prev = 0;
    bool have_label = false;
    while (true) {
      while (q < le && blank(*q)) ++q;
      if (q == le) break;
      const char* tb = q;
      while (q < le && !blank(*q)) ++q;
      const std::string token(tb, q);
      if (!have_label) {
        double label;
        if (!detail::parse_double(tb, q, &label)) {
          NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "line %lld: label '%s' is not a number",
                      static_cast<long long>(line_no), token.c_str());
        }
        out.labels.push_back(label);
        have_label = true;
        continue;
      }
      const size_t colon = token.find(':');
      if (colon == std::string::npos) {
        NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "line %lld: expected index:value, got '%s'",
                    static_cast<long long>(line_no), token.c_str());
      }
      if (token.compare(0, colon, "qid") == 0) continue;  // ranking query ids carry no feature
      double index_value, value;
      // Range before the integer test: casting 1.9e19 to int64 is undefined (found by fuzzing).
      if (!detail::parse_double(token.data(), token.data() + colon, &index_value) || !(index_value >= 1) ||
          index_value > 1e12 || index_value != std::floor(index_value)) {
        NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "line %lld: bad feature index in '%s' (1-based integers)",
                    static_cast<long long>(line_no), token.c_str());
      }
      if (!detail::parse_double(token.data() + colon + 1, token.data() + token.size(), &value)) {
        NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "line %lld: value in '%s' is not a number",
                    static_cast<long long>(line_no), token.c_str());
      }
      const int64_t index = static_cast<int64_t>(index_value);
      if (index <= prev) {
        NTK_IO_FAIL(
            ErrorKind::kInvalidInput, path, "line %lld: feature index %lld after %lld (indices must ascend)",
            static_cast<long long>(line_no), static_cast<long long>(index), static_cast<long long>(prev));
      }
      if (num_features > 0 && index > num_features) {
        NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "line %lld: feature index %lld exceeds num_features %lld",
                    static_cast<long long>(line_no), static_cast<long long>(index),
                    static_cast<long long>(num_features));
      }
      if (!std::isfinite(value)) {
        NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "line %lld: non-finite value in '%s'",
                    static_cast<long long>(line_no), token.c_str());
      }
      prev = index;
      max_index = std::max(max_index, index);
      entries.push_back({row, index - 1, value});
    }
  }
  if (out.labels.empty()) NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "file is empty (no examples)");
  const int64_t d = num_features > 0 ? num_features : max_index;
  if (d == 0) NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "no features in any example");
  // The dense array may be far larger than the file ("1 1000000000:1"): refuse what cannot fit.
  detail::check_array_size(path, {static_cast<int64_t>(out.labels.size()), d}, sizeof(double));
  out.x = Tensor({static_cast<int64_t>(out.labels.size()), d});
  for (const Entry& e : entries) out.x.data[static_cast<size_t>(e.row * d + e.col)] = e.value;
  check_finite(Tensor({static_cast<int64_t>(out.labels.size())}, out.labels), path + " (labels)");
  return out;
}

}  // namespace ntk::io
