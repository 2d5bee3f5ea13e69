// NpyMapWriter: a .npy file written in place through mmap, committed by rename.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "io/io_internal.h"

namespace ntk::io {
namespace {

int64_t item_size(DType dtype) {
  return dtype == DType::kFloat64 ? 8 : 4;
}

}  // namespace

NpyMapWriter NpyMapWriter::create(const std::string& path, const std::vector<int64_t>& shape, DType dtype,
                                  const std::string& partial_path) {
  NpyMapWriter w;
  w.path_ = path;
  w.keep_partial_ = !partial_path.empty();
  w.partial_path_ = w.keep_partial_ ? partial_path : temp_path_for(path);
  w.shape_ = shape;
  w.dtype_ = dtype;
  const std::string preamble = detail::npy_preamble(shape, dtype);
  const int64_t data_bytes = detail::checked_product(shape, item_size(dtype), path);
  const int64_t total = static_cast<int64_t>(preamble.size()) + data_bytes;

  w.fd_ = ::open(w.partial_path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (w.fd_ < 0) {
    NTK_IO_FAIL(ErrorKind::kIo, path, "cannot create %s: %s", w.partial_path_.c_str(), std::strerror(errno));
  }
  // Reserve the blocks now: stores into a sparse map that hit a full disk would kill the process with SIGBUS.
  // Filesystems without fallocate (EOPNOTSUPP) fall back to a sparse file.
  int rc = ::posix_fallocate(w.fd_, 0, total);
  if (rc == EOPNOTSUPP || rc == EINVAL) rc = ::ftruncate(w.fd_, total) == 0 ? 0 : errno;
  if (rc != 0) {
    const std::string partial = w.partial_path_;
    w.release();
    ::unlink(partial.c_str());
    NTK_IO_FAIL(ErrorKind::kIo, path, "cannot reserve %lld bytes for %s: %s", static_cast<long long>(total),
                partial.c_str(), std::strerror(rc));
  }
  w.map_bytes_ = static_cast<size_t>(total);
  w.map_ = ::mmap(nullptr, w.map_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, w.fd_, 0);
  if (w.map_ == MAP_FAILED) {
    const int err = errno;
    w.map_ = nullptr;
    const std::string partial = w.partial_path_;
    w.release();
    ::unlink(partial.c_str());
    NTK_IO_FAIL(ErrorKind::kIo, path, "cannot map %s: %s", partial.c_str(), std::strerror(err));
  }
  std::memcpy(w.map_, preamble.data(), preamble.size());
  w.data_ = static_cast<char*>(w.map_) + preamble.size();
  return w;
}

NpyMapWriter NpyMapWriter::open_existing(const std::string& path, const std::string& partial_path,
                                         const std::vector<int64_t>& shape, DType dtype) {
  NTK_THROW_IF_NOT(!partial_path.empty(), "%s: open_existing needs the partial file path", path.c_str());
  const NpyHeader h = read_npy_header(partial_path);
  const std::string want_descr = dtype == DType::kFloat64 ? "<f8" : "<f4";
  Tensor want_shape(std::vector<int64_t>{}), have_shape(std::vector<int64_t>{});
  want_shape.shape = shape;
  have_shape.shape = h.shape;
  if (h.shape != shape || h.descr != want_descr || h.fortran_order) {
    NTK_IO_FAIL(ErrorKind::kInvalidInput, partial_path, "cannot resume: file holds %s %s%s, expected %s %s",
                h.descr.c_str(), have_shape.shape_string().c_str(), h.fortran_order ? " (Fortran order)" : "",
                want_descr.c_str(), want_shape.shape_string().c_str());
  }
  // The mapping is page-aligned; data_f64()/data_f32() hand out typed pointers into it, so the data must
  // start at a multiple of the item size. Every .npy writer pads the header to 16 or 64 bytes; a hand-made
  // header of another length (found by fuzzing: a misaligned float store) is refused.
  if (h.data_offset % item_size(dtype) != 0) {
    NTK_IO_FAIL(ErrorKind::kInvalidInput, partial_path,
                "cannot resume: data starts at byte %lld, not a multiple of %d (not written by ntk or numpy)",
                static_cast<long long>(h.data_offset), static_cast<int>(item_size(dtype)));
  }
  const int64_t total = h.data_offset + detail::checked_product(shape, item_size(dtype), path);
  NpyMapWriter w;
  w.path_ = path;
  w.partial_path_ = partial_path;
  w.keep_partial_ = true;
  w.shape_ = shape;
  w.dtype_ = dtype;
  w.fd_ = ::open(partial_path.c_str(), O_RDWR | O_CLOEXEC);
  if (w.fd_ < 0) NTK_IO_FAIL(ErrorKind::kIo, partial_path, "cannot open: %s", std::strerror(errno));
  struct stat st;
  if (::fstat(w.fd_, &st) != 0 || st.st_size != total) {
    const long long size = static_cast<long long>(st.st_size);
    w.release();
    NTK_IO_FAIL(ErrorKind::kInvalidInput, partial_path, "cannot resume: file has %lld bytes, expected %lld",
                size, static_cast<long long>(total));
  }
  w.map_bytes_ = static_cast<size_t>(total);
  w.map_ = ::mmap(nullptr, w.map_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, w.fd_, 0);
  if (w.map_ == MAP_FAILED) {
    const int err = errno;
    w.map_ = nullptr;
    w.release();
    NTK_IO_FAIL(ErrorKind::kIo, partial_path, "cannot map: %s", std::strerror(err));
  }
  w.data_ = static_cast<char*>(w.map_) + h.data_offset;
  return w;
}

NpyMapWriter::NpyMapWriter(NpyMapWriter&& other) noexcept {
  *this = std::move(other);
}

NpyMapWriter& NpyMapWriter::operator=(NpyMapWriter&& other) noexcept {
  if (this == &other) return *this;
  discard_if_uncommitted();
  path_ = std::move(other.path_);
  partial_path_ = std::move(other.partial_path_);
  keep_partial_ = other.keep_partial_;
  committed_ = other.committed_;
  shape_ = std::move(other.shape_);
  dtype_ = other.dtype_;
  fd_ = std::exchange(other.fd_, -1);
  map_ = std::exchange(other.map_, nullptr);
  map_bytes_ = std::exchange(other.map_bytes_, 0);
  data_ = std::exchange(other.data_, nullptr);
  // The moved-from object owns nothing: its destructor must not delete the file.
  other.committed_ = true;
  return *this;
}

NpyMapWriter::~NpyMapWriter() {
  discard_if_uncommitted();
}

void NpyMapWriter::discard_if_uncommitted() {
  const bool had_file = fd_ >= 0;
  release();
  if (had_file && !committed_ && !keep_partial_) ::unlink(partial_path_.c_str());
}

void NpyMapWriter::release() {
  if (map_ != nullptr) ::munmap(map_, map_bytes_);
  map_ = nullptr;
  data_ = nullptr;
  map_bytes_ = 0;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

int64_t NpyMapWriter::row_size() const {
  int64_t n = 1;
  for (size_t i = 1; i < shape_.size(); ++i) n *= shape_[i];
  return n;
}

double* NpyMapWriter::data_f64() {
  NTK_THROW_IF_NOT(dtype_ == DType::kFloat64, "%s: data_f64() on a float32 file", path_.c_str());
  return reinterpret_cast<double*>(data_);
}

float* NpyMapWriter::data_f32() {
  NTK_THROW_IF_NOT(dtype_ == DType::kFloat32, "%s: data_f32() on a float64 file", path_.c_str());
  return reinterpret_cast<float*>(data_);
}

void NpyMapWriter::write_rows(int64_t row_begin, int64_t rows, const double* src) {
  NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, data_ != nullptr || size() == 0, "%s: writer is closed",
                        path_.c_str());
  const int64_t n_rows = shape_.empty() ? 1 : shape_[0];
  NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, row_begin >= 0 && rows >= 0 && row_begin + rows <= n_rows,
                        "%s: rows [%lld, %lld) out of range [0, %lld)", path_.c_str(),
                        static_cast<long long>(row_begin), static_cast<long long>(row_begin + rows),
                        static_cast<long long>(n_rows));
  const int64_t rs = shape_.empty() ? 1 : row_size();
  const int64_t n = rows * rs;
  if (n == 0) return;  // src may be null then (memcpy from null is undefined even for 0 bytes)
  if (dtype_ == DType::kFloat64) {
    std::memcpy(data_ + row_begin * rs * 8, src, static_cast<size_t>(n) * 8);
  } else {
    float* dst = reinterpret_cast<float*>(data_) + row_begin * rs;
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(src[i]);
  }
}

void NpyMapWriter::write_tile(int64_t row0, int64_t col0, int64_t rows, int64_t cols, const double* src,
                              int64_t ld) {
  NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, shape_.size() == 2, "%s: write_tile needs a 2-D array",
                        path_.c_str());
  NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, data_ != nullptr || size() == 0, "%s: writer is closed",
                        path_.c_str());
  NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal,
                        row0 >= 0 && col0 >= 0 && rows >= 0 && cols >= 0 && row0 + rows <= shape_[0] &&
                            col0 + cols <= shape_[1] && ld >= cols,
                        "%s: tile (%lld, %lld) of %lld x %lld out of range for shape (%lld, %lld)",
                        path_.c_str(), static_cast<long long>(row0), static_cast<long long>(col0),
                        static_cast<long long>(rows), static_cast<long long>(cols),
                        static_cast<long long>(shape_[0]), static_cast<long long>(shape_[1]));
  const int64_t n2 = shape_[1];
  if (rows == 0 || cols == 0) return;
  for (int64_t i = 0; i < rows; ++i) {
    const double* s = src + i * ld;
    if (dtype_ == DType::kFloat64) {
      std::memcpy(reinterpret_cast<double*>(data_) + (row0 + i) * n2 + col0, s,
                  static_cast<size_t>(cols) * 8);
    } else {
      float* d = reinterpret_cast<float*>(data_) + (row0 + i) * n2 + col0;
      for (int64_t j = 0; j < cols; ++j) d[j] = static_cast<float>(s[j]);
    }
  }
}

void NpyMapWriter::flush() {
  if (map_ == nullptr) return;
  if (::msync(map_, map_bytes_, MS_SYNC) != 0) {
    NTK_IO_FAIL(ErrorKind::kIo, partial_path_, "msync failed: %s", std::strerror(errno));
  }
}

void NpyMapWriter::commit() {
  NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, fd_ >= 0 && !committed_, "%s: commit on a closed writer",
                        path_.c_str());
  flush();
  const bool synced = ::fsync(fd_) == 0;
  const int err = errno;
  release();
  if (!synced) NTK_IO_FAIL(ErrorKind::kIo, partial_path_, "fsync failed: %s", std::strerror(err));
  if (std::rename(partial_path_.c_str(), path_.c_str()) != 0) {
    NTK_IO_FAIL(ErrorKind::kIo, path_, "cannot rename %s onto it: %s", partial_path_.c_str(),
                std::strerror(errno));
  }
  committed_ = true;
}

}  // namespace ntk::io
