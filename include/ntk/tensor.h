// Dense row-major arrays. Layout convention, stated once for the whole library:
//   - vectors of features: (N, d), row i is example i;
//   - images: (N, H, W, C), channels fastest;
//   - kernels: (N1, N2), entry (i, j) at i * N2 + j.
// Data loaded from files is converted to double; compute paths convert to the requested dtype.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ntk {

enum class DType { kFloat32, kFloat64 };
const char* dtype_name(DType dtype);
DType parse_dtype(const std::string& name);  // "float32" | "float64", else throws listing both

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<double> data;

  Tensor() = default;
  explicit Tensor(std::vector<int64_t> shape_);
  Tensor(std::vector<int64_t> shape_, std::vector<double> data_);

  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  int64_t size() const { return static_cast<int64_t>(data.size()); }
  int64_t dim(int64_t axis) const { return shape.at(static_cast<size_t>(axis)); }
  // Number of examples (first axis) and the size of one example.
  int64_t rows() const { return shape.empty() ? 0 : shape[0]; }
  int64_t row_size() const;
  const double* row(int64_t i) const { return data.data() + i * row_size(); }
  double* row(int64_t i) { return data.data() + i * row_size(); }
  // Rows [begin, end) as a new tensor.
  Tensor slice_rows(int64_t begin, int64_t end) const;
  Tensor select_rows(const std::vector<int64_t>& indices) const;
  std::string shape_string() const;  // "(N, H, W, C)"
};

int64_t shape_product(const std::vector<int64_t>& shape);

// Index of the first NaN or infinity in p[0, n), or n when all are finite. Branch-free blocks (vectorised) on
// `threads` threads: inputs are checked on every kernel call, and a serial scan of a 8192 x 3072 input takes
// longer than a tenth of its kernel's layers.
int64_t first_non_finite(const double* p, int64_t n, int threads = 1);

}  // namespace ntk
