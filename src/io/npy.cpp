// NumPy .npy reader and writer (format spec: numpy.lib.format, versions 1.0-3.0).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "io/io_internal.h"

namespace ntk::io {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the .npy writer assumes a little-endian host");

namespace detail {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

// A tiny parser for the Python dict literal of the header, e.g.
// {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path) : s_(text), path_(path) {}

  void parse(NpyHeader* h) {
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (true) {
      skip_ws();
      if (peek() == '}') break;
      const std::string key = parse_string();
      expect(':');
      skip_ws();
      if (key == "descr") {
        if (peek() == '[') fail("structured dtypes are not supported (need a plain numeric array)");
        h->descr = parse_string();
        have_descr = true;
      } else if (key == "fortran_order") {
        h->fortran_order = parse_bool();
        have_order = true;
      } else if (key == "shape") {
        h->shape = parse_shape();
        have_shape = true;
      } else {
        fail("unexpected key '" + key + "'");
      }
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') break;
      fail("expected ',' or '}'");
    }
    if (!have_descr || !have_order || !have_shape) fail("missing 'descr', 'fortran_order' or 'shape'");
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    NTK_IO_FAIL(ErrorKind::kInvalidInput, path_, "bad .npy header: %s at offset %zu", what.c_str(), pos_);
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  void expect(char c) {
    skip_ws();
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string parse_string() {
    skip_ws();
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string");
    const size_t end = s_.find(q, pos_ + 1);
    if (end == std::string::npos) fail("unterminated string");
    std::string out = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return out;
  }
  bool parse_bool() {
    if (s_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (s_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    fail("expected True or False");
  }
  std::vector<int64_t> parse_shape() {
    expect('(');
    std::vector<int64_t> shape;
    while (true) {
      skip_ws();
      if (peek() == ')') break;
      if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("expected a non-negative integer in shape");
      int64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        if (v > (INT64_MAX - 9) / 10) fail("dimension too large");
        v = v * 10 + (s_[pos_++] - '0');
      }
      // Python 2 era writers appended 'L' to longs.
      if (peek() == 'L') ++pos_;
      shape.push_back(v);
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != ')') fail("expected ',' or ')' in shape");
    }
    ++pos_;
    return shape;
  }

  const std::string& s_;
  const std::string& path_;
  size_t pos_ = 0;
};

// Element types the reader converts, from the descr without its byte-order character.
struct Kind {
  char kind;  // 'f', 'i', 'u', 'b'
  int size;
  bool big_endian;
};

Kind parse_descr(const std::string& descr, const std::string& path) {
  const auto bad = [&](const char* why) {
    NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "unsupported .npy dtype '%s' (%s)", descr.c_str(), why);
  };
  if (descr.size() < 2) bad("malformed");
  size_t p = 0;
  bool big = false;
  if (descr[0] == '<' || descr[0] == '>' || descr[0] == '|' || descr[0] == '=') {
    big = descr[0] == '>';
    p = 1;
  }
  const char kind = descr[p];
  const std::string size_text = descr.substr(p + 1);
  if (size_text.empty() || size_text.size() > 2 ||
      !std::all_of(size_text.begin(), size_text.end(), [](char c) { return std::isdigit(c); })) {
    bad("malformed");
  }
  const int size = std::stoi(size_text);
  const bool ok = (kind == 'f' && (size == 2 || size == 4 || size == 8)) ||
                  ((kind == 'i' || kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8)) ||
                  (kind == 'b' && size == 1);
  if (!ok) bad("need float16/32/64, (u)int8-64 or bool");
  return Kind{kind, size, big && size > 1};
}

double half_to_double(uint16_t h) {
  const int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  double v;
  if (exp == 0) {
    v = std::ldexp(mant, -24);
  } else if (exp == 31) {
    v = mant ? std::nan("") : HUGE_VAL;
  } else {
    v = std::ldexp(mant + 1024, exp - 25);
  }
  return sign ? -v : v;
}

template <typename T>
T load_le(const unsigned char* p, bool swap) {
  unsigned char b[sizeof(T)];
  if (swap) {
    for (size_t i = 0; i < sizeof(T); ++i) b[i] = p[sizeof(T) - 1 - i];
  } else {
    std::memcpy(b, p, sizeof(T));
  }
  T v;
  std::memcpy(&v, b, sizeof(T));
  return v;
}

void convert(const unsigned char* src, int64_t n, const Kind& k, double* dst) {
  const bool sw = k.big_endian;
  const int s = k.size;
  for (int64_t i = 0; i < n; ++i, src += s) {
    double v = 0;
    switch (k.kind) {
      case 'f':
        v = s == 8   ? load_le<double>(src, sw)
            : s == 4 ? load_le<float>(src, sw)
                     : half_to_double(load_le<uint16_t>(src, sw));
        break;
      case 'i':
        v = s == 1   ? static_cast<int8_t>(src[0])
            : s == 2 ? load_le<int16_t>(src, sw)
            : s == 4 ? load_le<int32_t>(src, sw)
                     : static_cast<double>(load_le<int64_t>(src, sw));
        break;
      case 'u':
        v = s == 1   ? src[0]
            : s == 2 ? load_le<uint16_t>(src, sw)
            : s == 4 ? load_le<uint32_t>(src, sw)
                     : static_cast<double>(load_le<uint64_t>(src, sw));
        break;
      default:  // 'b'
        v = src[0] != 0;
    }
    dst[i] = v;
  }
}

}  // namespace

int64_t checked_product(const std::vector<int64_t>& shape, int64_t item_size, const std::string& path) {
  // The non-zero axes must multiply without overflow too: an empty (0, 2^32, 2^32) array has a row size no
  // int64 holds (found by fuzzing: NpyMapWriter::row_size overflowed).
  int64_t n = item_size, nonzero = item_size;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, d, &n) ||
        __builtin_mul_overflow(nonzero, d == 0 ? 1 : d, &nonzero)) {
      NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "array size overflows (shape has %zu axes)", shape.size());
    }
  }
  return n;
}

NpyHeader read_npy_header(InputFile& in) {
  const std::string& path = in.path();
  unsigned char pre[8];
  const size_t got = in.read_some(pre, sizeof(pre));
  if (got < kMagicLen || std::memcmp(pre, kMagic, kMagicLen) != 0) {
    NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "not a .npy file (bad magic)");
  }
  if (got < 8) NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "truncated .npy header");
  const int major = pre[6];
  if (major < 1 || major > 3) {
    NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "unsupported .npy format version %d.%d", major, pre[7]);
  }
  uint32_t header_len = 0;
  int64_t offset = 8;
  if (major == 1) {
    unsigned char b[2];
    in.read_exact(b, 2, ".npy header length");
    header_len = b[0] | (b[1] << 8);
    offset += 2;
  } else {
    unsigned char b[4];
    in.read_exact(b, 4, ".npy header length");
    header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint32_t>(b[3]) << 24);
    offset += 4;
  }
  if (header_len > (1u << 24))
    NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "bad .npy header length %u", header_len);
  std::string text(header_len, '\0');
  in.read_exact(text.data(), header_len, ".npy header");
  NpyHeader h;
  HeaderParser(text, path).parse(&h);
  h.item_size = parse_descr(h.descr, path).size;
  h.data_offset = offset + header_len;
  checked_product(h.shape, h.item_size, path);
  return h;
}

std::string npy_preamble(const std::vector<int64_t>& shape, DType dtype) {
  std::string dict = std::string("{'descr': '") + (dtype == DType::kFloat64 ? "<f8" : "<f4") +
                     "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i) {
    dict += std::to_string(shape[i]);
    if (shape.size() == 1 || i + 1 < shape.size()) dict += ",";
    if (i + 1 < shape.size()) dict += " ";
  }
  dict += "), }";
  // Version 1.0 has a 16-bit header length; 2.0 only when the shape makes the dict longer (never in
  // practice).
  const bool v2 = dict.size() + 1 + 12 > 65535;
  const size_t fixed = v2 ? 12 : 10;
  const size_t total = (fixed + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - fixed - dict.size() - 1, ' ');
  dict += '\n';
  std::string out(kMagic, kMagicLen);
  out += static_cast<char>(v2 ? 2 : 1);
  out += '\0';
  const size_t len = dict.size();
  out += static_cast<char>(len & 0xff);
  out += static_cast<char>((len >> 8) & 0xff);
  if (v2) {
    out += static_cast<char>((len >> 16) & 0xff);
    out += static_cast<char>((len >> 24) & 0xff);
  }
  return out + dict;
}

}  // namespace detail

NpyHeader read_npy_header(const std::string& path) {
  detail::InputFile in(path);
  return detail::read_npy_header(in);
}

Tensor load_npy(const std::string& path) {
  detail::InputFile in(path);
  const NpyHeader h = detail::read_npy_header(in);
  const detail::Kind kind = detail::parse_descr(h.descr, path);
  const int64_t n = detail::checked_product(h.shape, 1, path);
  Tensor t;
  t.shape = h.shape;
  const auto truncated = [&](int64_t have) {
    NTK_IO_FAIL(ErrorKind::kInvalidInput, path,
                "truncated .npy data: shape %s needs %lld bytes of data, file has %lld",
                t.shape_string().c_str(), static_cast<long long>(n * kind.size),
                static_cast<long long>(have));
  };
  // A plain file shorter than its header claims is refused before anything is allocated; gzip data (size
  // unknown until read) grows the array chunk by chunk, so memory follows the data actually present.
  const int64_t left = in.bytes_left();
  if (left >= 0 && left < n * kind.size) truncated(left);
  detail::check_array_size(path, t.shape, sizeof(double));
  if (left >= 0) t.data.resize(static_cast<size_t>(n));
  // Convert in chunks: never hold the raw bytes of a big array next to its doubles.
  constexpr int64_t kChunk = 1 << 18;
  std::vector<unsigned char> buf(static_cast<size_t>(std::min<int64_t>(n, kChunk) * kind.size));
  for (int64_t done = 0; done < n;) {
    const int64_t m = std::min(kChunk, n - done);
    const size_t bytes = static_cast<size_t>(m * kind.size);
    const size_t got = in.read_some(buf.data(), bytes);
    if (got != bytes) truncated(done * kind.size + static_cast<int64_t>(got));
    if (left < 0) t.data.resize(static_cast<size_t>(done + m));
    detail::convert(buf.data(), m, kind, t.data.data() + done);
    done += m;
  }
  if (h.fortran_order && t.rank() > 1) {
    // File order is column-major: walk the C-order output while tracking the matching Fortran offset.
    std::vector<double> c(t.data.size());
    const size_t r = t.shape.size();
    std::vector<int64_t> fstride(r, 1), idx(r, 0);
    for (size_t a = 1; a < r; ++a) fstride[a] = fstride[a - 1] * t.shape[a - 1];
    int64_t f = 0;
    for (int64_t i = 0; i < n; ++i) {
      c[static_cast<size_t>(i)] = t.data[static_cast<size_t>(f)];
      for (size_t a = r; a-- > 0;) {
        if (++idx[a] < t.shape[a]) {
          f += fstride[a];
          break;
        }
        f -= fstride[a] * (t.shape[a] - 1);
        idx[a] = 0;
      }
    }
    t.data.swap(c);
  }
  check_finite(t, path);
  return t;
}

namespace {

template <typename T>
void save_npy_impl(const std::string& path, const T* data, const std::vector<int64_t>& shape, DType dtype) {
  const int64_t n = detail::checked_product(shape, 1, path);
  AtomicFile out(path);
  out.write(detail::npy_preamble(shape, dtype));
  out.write(data, static_cast<size_t>(n) * sizeof(T));
  out.commit();
}

}  // namespace

void save_npy(const std::string& path, const double* data, const std::vector<int64_t>& shape) {
  save_npy_impl(path, data, shape, DType::kFloat64);
}

void save_npy(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
  save_npy_impl(path, data, shape, DType::kFloat32);
}

void save_npy(const std::string& path, const Tensor& t, DType dtype) {
  if (dtype == DType::kFloat64) return save_npy(path, t.data.data(), t.shape);
  AtomicFile out(path);
  out.write(detail::npy_preamble(t.shape, dtype));
  std::vector<float> buf;
  constexpr size_t kChunk = 1 << 18;
  for (size_t done = 0; done < t.data.size(); done += kChunk) {
    const size_t m = std::min(kChunk, t.data.size() - done);
    buf.assign(t.data.begin() + static_cast<std::ptrdiff_t>(done),
               t.data.begin() + static_cast<std::ptrdiff_t>(done + m));
    out.write(buf.data(), m * sizeof(float));
  }
  out.commit();
}

}  // namespace ntk::io
