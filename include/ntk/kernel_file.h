// A kernel matrix on disk as a KernelOperator (ntk/cg.h): a 2-D float64 or float32 .npy (the output of
// `ntk kernel --out`, ntk/tiled_job.h) mapped read-only, read in row panels as the products need them, so
// that conjugate gradient runs on kernels larger than memory (the page cache streams the file).
#pragma once

#include <cstdint>
#include <string>

#include "ntk/cg.h"

namespace ntk {

class KernelFile final : public KernelOperator {
 public:
  explicit KernelFile(const std::string& path);
  ~KernelFile() override;
  KernelFile(const KernelFile&) = delete;
  KernelFile& operator=(const KernelFile&) = delete;

  int64_t rows() const override { return rows_; }
  int64_t cols() const override { return cols_; }
  void multiply_rows(int64_t r0, int64_t r1, const Matrix& x, Matrix& y) const override;
  void row(int64_t i, double* out) const override;
  double diagonal(int64_t i) const override;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int64_t rows_ = 0, cols_ = 0;
  int item_ = 8;
  void* map_ = nullptr;
  size_t map_bytes_ = 0;
  const char* data_ = nullptr;
};

}  // namespace ntk
