// KernelFile: a .npy kernel mapped read-only and multiplied panel by panel (ntk/kernel_file.h).
#include "ntk/kernel_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "ntk/error.h"
#include "ntk/io.h"

namespace ntk {

KernelFile::KernelFile(const std::string& path) : path_(path) {
  const io::NpyHeader h = io::read_npy_header(path);
  NTK_THROW_IF_NOT(
      h.shape.size() == 2 && !h.fortran_order && (h.descr == "<f8" || h.descr == "<f4"),
      "%s: a kernel file must be a 2-D C-ordered float64 or float32 .npy, got %s with %zu axes%s",
      path.c_str(), h.descr.c_str(), h.shape.size(), h.fortran_order ? " (Fortran order)" : "");
  rows_ = h.shape[0];
  cols_ = h.shape[1];
  item_ = h.item_size;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  NTK_THROW_KIND_IF_NOT(ErrorKind::kIo, fd >= 0, "%s: cannot open: %s", path.c_str(), std::strerror(errno));
  struct stat st {};
  const int64_t need = h.data_offset + rows_ * cols_ * item_;
  if (::fstat(fd, &st) != 0 || st.st_size < need) {
    ::close(fd);
    NTK_THROW("%s: truncated kernel file (%lld bytes, the header needs %lld)", path.c_str(),
              static_cast<long long>(st.st_size), static_cast<long long>(need));
  }
  map_bytes_ = static_cast<size_t>(need);
  map_ = ::mmap(nullptr, map_bytes_, PROT_READ, MAP_SHARED, fd, 0);
  const int err = errno;
  ::close(fd);
  NTK_THROW_KIND_IF_NOT(ErrorKind::kIo, map_ != MAP_FAILED, "%s: cannot map: %s", path.c_str(),
                        std::strerror(err));
  // Products read the panels front to back, once per iteration.
  ::madvise(map_, map_bytes_, MADV_SEQUENTIAL);
  data_ = static_cast<const char*>(map_) + h.data_offset;
}

KernelFile::~KernelFile() {
  if (map_ && map_ != MAP_FAILED) ::munmap(map_, map_bytes_);
}

void KernelFile::multiply_rows(int64_t r0, int64_t r1, const Matrix& x, Matrix& y) const {
  if (item_ == 8)
    multiply_panel(reinterpret_cast<const double*>(data_) + r0 * cols_, r1 - r0, cols_, x, y, r0);
  else
    multiply_panel(reinterpret_cast<const float*>(data_) + r0 * cols_, r1 - r0, cols_, x, y, r0);
}

void KernelFile::row(int64_t i, double* out) const {
  if (item_ == 8) {
    std::memcpy(out, data_ + i * cols_ * 8, static_cast<size_t>(cols_) * 8);
  } else {
    const float* src = reinterpret_cast<const float*>(data_) + i * cols_;
    for (int64_t j = 0; j < cols_; ++j) out[j] = src[j];
  }
}

double KernelFile::diagonal(int64_t i) const {
  return item_ == 8 ? reinterpret_cast<const double*>(data_)[i * cols_ + i]
                    : reinterpret_cast<const float*>(data_)[i * cols_ + i];
}

}  // namespace ntk
