// Shared I/O plumbing: input files, paths, number parsing, validation, atomic writes.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstring>
#include <map>

#include "io/io_internal.h"

namespace ntk::io {
namespace {

// Integer labels above this are mapped by rank (see make_class_labels).
constexpr double kMaxNaturalLabel = 100000;
int64_t max_array_bytes_override = 0;

}  // namespace

namespace detail {

InputFile::InputFile(const std::string& path) : path_(path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    NTK_IO_FAIL(ErrorKind::kIo, path, "cannot open: %s", std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) NTK_IO_FAIL(ErrorKind::kIo, path, "cannot open: is a directory");
  errno = 0;
  gz_ = gzopen(path.c_str(), "rb");
  if (gz_ == nullptr) {
    NTK_IO_FAIL(ErrorKind::kIo, path, "cannot open: %s", errno ? std::strerror(errno) : "out of memory");
  }
  if (S_ISREG(st.st_mode)) file_size_ = static_cast<int64_t>(st.st_size);
  // Up to 1 MiB, larger than zlib's 8 KiB default: the big files here (MNIST, kernels) are read in one sweep.
  // Small files get a small buffer (zlib allocates three times this per open file).
  gzbuffer(gz_, static_cast<unsigned>(std::clamp<int64_t>(file_size_, 1 << 13, 1 << 20)));
  // gzdirect() is only meaningful after the first read; peek one byte to decide.
  int c = gzgetc(gz_);
  if (c != -1) gzungetc(c, gz_);
  gzip_ = gzdirect(gz_) == 0;
}

InputFile::~InputFile() {
  if (gz_ != nullptr) gzclose(gz_);
}

size_t InputFile::read_some(void* buffer, size_t bytes) {
  char* out = static_cast<char*>(buffer);
  size_t done = 0;
  while (done < bytes) {
    // gzread takes an unsigned int count: read in chunks below 2 GiB.
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(bytes - done, 1u << 30));
    errno = 0;
    const int got = gzread(gz_, out + done, chunk);
    if (got < 0) {
      int err = 0;
      const char* msg = gzerror(gz_, &err);
      if (err == Z_ERRNO) NTK_IO_FAIL(ErrorKind::kIo, path_, "read error: %s", std::strerror(errno));
      NTK_IO_FAIL(ErrorKind::kInvalidInput, path_, "corrupt gzip data: %s", msg);
    }
    if (got == 0) {
      int err = 0;
      const char* msg = gzerror(gz_, &err);
      // zlib reports a gzip stream cut short as Z_BUF_ERROR ("unexpected end of file").
      if (err == Z_BUF_ERROR || err == Z_DATA_ERROR) {
        NTK_IO_FAIL(ErrorKind::kInvalidInput, path_, "corrupt or truncated gzip data: %s", msg);
      }
      break;
    }
    done += static_cast<size_t>(got);
  }
  return done;
}

void InputFile::read_exact(void* buffer, size_t bytes, const std::string& what) {
  const size_t got = read_some(buffer, bytes);
  if (got != bytes) {
    NTK_IO_FAIL(ErrorKind::kInvalidInput, path_, "truncated: %s (needed %zu more bytes, found %zu)",
                what.c_str(), bytes, got);
  }
}

int64_t InputFile::bytes_left() {
  if (gzip_ || file_size_ < 0) return -1;
  const z_off_t pos = gztell(gz_);
  return pos < 0 ? -1 : std::max<int64_t>(0, file_size_ - static_cast<int64_t>(pos));
}

bool InputFile::at_end() {
  const int c = gzgetc(gz_);
  if (c == -1) return true;
  gzungetc(c, gz_);
  return false;
}

std::string read_file(const std::string& path) {
  InputFile in(path);
  std::string out;
  // Straight into the string: all of a plain file at once (one byte more to see the end), gzip data in
  // growing chunks.
  const int64_t left = in.bytes_left();
  size_t chunk = left >= 0 ? static_cast<size_t>(left) + 1 : size_t{1} << 16;
  while (true) {
    const size_t pos = out.size();
    out.resize(pos + chunk);
    const size_t got = in.read_some(out.data() + pos, chunk);
    out.resize(pos + got);
    if (got < chunk) break;
    chunk = std::min(chunk * 2, size_t{1} << 26);
  }
  return out;
}

std::string read_prefix(const std::string& path, size_t n) {
  InputFile in(path);
  std::string out(n, '\0');
  out.resize(in.read_some(out.data(), n));
  return out;
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool is_directory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_regular_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::vector<std::string> list_directory(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) NTK_IO_FAIL(ErrorKind::kIo, dir, "cannot list folder: %s", std::strerror(errno));
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  // Byte order, not locale order: the class -> label mapping must not depend on the environment.
  std::sort(names.begin(), names.end());
  return names;
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

std::string base_name(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  const size_t slash = p.find_last_of('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::string to_lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string extension(const std::string& path) {
  std::string name = to_lower(base_name(path));
  if (ends_with(name, ".gz")) name.resize(name.size() - 3);
  const size_t dot = name.find_last_of('.');
  return dot == std::string::npos ? "" : name.substr(dot);
}

bool parse_double(const char* begin, const char* end, double* out) {
  if (begin < end && *begin == '+') ++begin;  // from_chars rejects a leading '+', files often have one
  if (begin == end) return false;
  // from_chars: locale-independent (a German locale must not turn "1.5" into an error) and fast.
  const auto result = std::from_chars(begin, end, *out);
  if (result.ec == std::errc::result_out_of_range) {
    // Overflow: strtod semantics (+-inf, later rejected by check_finite); underflow: 0.
    const std::string s(begin, end);
    *out = std::strtod(s.c_str(), nullptr);
    return true;
  }
  return result.ec == std::errc() && result.ptr == end;
}

int64_t max_array_bytes() {
  if (max_array_bytes_override > 0) return max_array_bytes_override;
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : INT64_MAX;
}

void set_max_array_bytes(int64_t bytes) {
  max_array_bytes_override = bytes;
}

void check_array_size(const std::string& path, const std::vector<int64_t>& shape, int64_t item_size) {
  int64_t bytes = item_size;
  bool overflow = false;
  for (int64_t d : shape) overflow = overflow || d < 0 || __builtin_mul_overflow(bytes, d, &bytes);
  if (overflow || bytes > max_array_bytes()) {
    Tensor t;
    t.shape = shape;
    NTK_IO_FAIL(ErrorKind::kOutOfMemory, path,
                "an array of shape %s needs %s%.3g GB, more than the %.3g GB %s", t.shape_string().c_str(),
                overflow ? "over " : "", overflow ? 9.2e9 : static_cast<double>(bytes) / 1e9,
                static_cast<double>(max_array_bytes()) / 1e9,
                max_array_bytes_override > 0 ? "limit" : "of memory this machine has");
  }
}

void make_class_labels(const std::vector<double>& values, const std::string& what,
                       std::vector<int64_t>* labels, std::vector<std::string>* class_names) {
  labels->assign(values.size(), 0);
  class_names->clear();
  bool all_natural = true;
  for (size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    if (v != std::floor(v) || !std::isfinite(v)) {
      NTK_THROW("%s: label %.17g of example %zu is not an integer (class labels expected)", what.c_str(), v,
                i);
    }
    // Kept as they are only up to kMaxNaturalLabel: class_names lists every value up to the largest, so one
    // label 999999999 (found by fuzzing) made a billion names.
    if (v < 0 || v > kMaxNaturalLabel) all_natural = false;
  }
  if (all_natural) {
    int64_t max_label = -1;
    for (size_t i = 0; i < values.size(); ++i) {
      (*labels)[i] = static_cast<int64_t>(values[i]);
      max_label = std::max(max_label, (*labels)[i]);
    }
    for (int64_t k = 0; k <= max_label; ++k) class_names->push_back(std::to_string(k));
    return;
  }
  // e.g. LIBSVM's -1/+1: rank among the sorted distinct values.
  std::map<double, int64_t> index;
  for (double v : values) index.emplace(v, 0);
  int64_t k = 0;
  for (auto& [value, idx] : index) {
    idx = k++;
    // Integers beyond int64 (e.g. -4e40, found by fuzzing) cannot be cast: print them as doubles.
    class_names->push_back(std::fabs(value) < 9e15 ? strprintf("%lld", static_cast<long long>(value))
                                                   : strprintf("%.17g", value));
  }
  for (size_t i = 0; i < values.size(); ++i) (*labels)[i] = index[values[i]];
}

}  // namespace detail

using detail::join_path;

// ---------------------------------------------------------------------------------------------------------------

void check_finite(const Tensor& t, const std::string& what) {
  const int64_t n = t.size();
  const double* p = t.data.data();
  const int64_t i = first_non_finite(p, n);
  if (i == n) return;
  // Unravel the flat index so the message points at the entry the user would index in NumPy.
  std::vector<int64_t> idx(t.shape.size());
  int64_t rest = i;
  for (size_t a = t.shape.size(); a-- > 0;) {
    idx[a] = t.shape[a] > 0 ? rest % t.shape[a] : 0;
    rest = t.shape[a] > 0 ? rest / t.shape[a] : 0;
  }
  std::string where = "(";
  for (size_t a = 0; a < idx.size(); ++a) where += (a ? ", " : "") + std::to_string(idx[a]);
  where += ")";
  NTK_THROW("%s: non-finite value %s at index %s", what.c_str(),
            std::isnan(p[i]) ? "nan" : (p[i] > 0 ? "inf" : "-inf"), where.c_str());
}

void check_input_array(const Tensor& t, const std::string& what) {
  if (t.rank() == 3) {
    NTK_THROW("%s: expected (N, d) or (N, H, W, C), got shape %s (add a channel axis for grey images)",
              what.c_str(), t.shape_string().c_str());
  }
  NTK_THROW_IF_NOT(t.rank() == 2 || t.rank() == 4, "%s: expected (N, d) or (N, H, W, C), got shape %s",
                   what.c_str(), t.shape_string().c_str());
  for (int64_t d : t.shape) {
    NTK_THROW_IF_NOT(d > 0, "%s: empty array of shape %s", what.c_str(), t.shape_string().c_str());
  }
}

bool looks_like_images(const Tensor& t) {
  return t.rank() == 4;
}

// ---------------------------------------------------------------------------------------------------------------

std::string temp_path_for(const std::string& path) {
  return path + ".tmp-" + std::to_string(static_cast<long long>(::getpid()));
}

AtomicFile::AtomicFile(const std::string& path) : path_(path), temp_path_(temp_path_for(path)) {
  file_ = std::fopen(temp_path_.c_str(), "wb");
  if (file_ == nullptr)
    NTK_IO_FAIL(ErrorKind::kIo, path_, "cannot create %s: %s", temp_path_.c_str(), std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (committed_) return;
  if (file_ != nullptr) std::fclose(file_);
  std::remove(temp_path_.c_str());
}

void AtomicFile::write(const void* data, size_t bytes) {
  NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, file_ != nullptr && !committed_, "%s: write after commit",
                        path_.c_str());
  if (bytes == 0) return;
  if (std::fwrite(data, 1, bytes, file_) != bytes) {
    NTK_IO_FAIL(ErrorKind::kIo, path_, "write failed: %s", std::strerror(errno));
  }
}

void AtomicFile::commit() {
  NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, file_ != nullptr && !committed_, "%s: commit twice",
                        path_.c_str());
  // Errors of buffered writes surface at fflush/fsync/fclose: check each so a full disk is never a silent
  // truncated file.
  bool ok = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
  const int saved = errno;
  ok = (std::fclose(file_) == 0) && ok;
  file_ = nullptr;
  if (!ok) NTK_IO_FAIL(ErrorKind::kIo, path_, "write failed: %s", std::strerror(saved ? saved : errno));
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    NTK_IO_FAIL(ErrorKind::kIo, path_, "cannot rename %s onto it: %s", temp_path_.c_str(),
                std::strerror(errno));
  }
  committed_ = true;
}

}  // namespace ntk::io
