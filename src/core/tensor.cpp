#include "ntk/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ntk/error.h"

namespace ntk {

const char* dtype_name(DType dtype) {
  return dtype == DType::kFloat32 ? "float32" : "float64";
}

DType parse_dtype(const std::string& name) {
  if (name == "float32") return DType::kFloat32;
  if (name == "float64") return DType::kFloat64;
  NTK_THROW("unknown dtype '%s'; valid: float32, float64", name.c_str());
}

int64_t first_non_finite(const double* p, int64_t n, int threads) {
  // A double is finite iff its exponent bits are not all ones; a block is scanned whole (no early exit, so
  // the compiler vectorises it) and only a block with a bad value is searched for its position.
  constexpr uint64_t kExponent = 0x7ff0000000000000ull;
  constexpr int64_t kBlock = 4096;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  int64_t first = n;
#pragma omp parallel for schedule(static) reduction(min      \
                                                    : first) \
    num_threads(std::max(threads, 1)) if (blocks > 16)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t begin = b * kBlock, end = std::min(n, begin + kBlock);
    uint64_t bad = 0;
    for (int64_t i = begin; i < end; ++i) {
      uint64_t bits;
      std::memcpy(&bits, p + i, sizeof bits);
      bad |= static_cast<uint64_t>((bits & kExponent) == kExponent);
    }
    if (!bad) continue;
    for (int64_t i = begin; i < end; ++i)
      if (!std::isfinite(p[i])) {
        first = std::min(first, i);
        break;
      }
  }
  return first;
}

int64_t shape_product(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Tensor::Tensor(std::vector<int64_t> shape_) : shape(std::move(shape_)), data(shape_product(shape), 0.0) {}

Tensor::Tensor(std::vector<int64_t> shape_, std::vector<double> data_)
    : shape(std::move(shape_)), data(std::move(data_)) {
  NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, shape_product(shape) == static_cast<int64_t>(data.size()),
                        "tensor data size %zu does not match shape %s", data.size(), shape_string().c_str());
}

int64_t Tensor::row_size() const {
  if (shape.empty()) return 0;
  int64_t n = 1;
  for (size_t i = 1; i < shape.size(); ++i) n *= shape[i];
  return n;
}

Tensor Tensor::slice_rows(int64_t begin, int64_t end) const {
  std::vector<int64_t> s = shape;
  s[0] = end - begin;
  const int64_t rs = row_size();
  return Tensor(s, std::vector<double>(data.begin() + begin * rs, data.begin() + end * rs));
}

Tensor Tensor::select_rows(const std::vector<int64_t>& indices) const {
  std::vector<int64_t> s = shape;
  s[0] = static_cast<int64_t>(indices.size());
  Tensor out(s);
  const int64_t rs = row_size();
  for (size_t k = 0; k < indices.size(); ++k) {
    NTK_THROW_IF_NOT(indices[k] >= 0 && indices[k] < rows(), "row index %lld out of range [0, %lld)",
                     static_cast<long long>(indices[k]), static_cast<long long>(rows()));
    std::copy(row(indices[k]), row(indices[k]) + rs, out.data.begin() + static_cast<int64_t>(k) * rs);
  }
  return out;
}

std::string Tensor::shape_string() const {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + ")";
}

}  // namespace ntk
