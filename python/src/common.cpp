// Shared helpers of the binding files (see common.h).
#include "common.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ntk/error.h"
#include "ntk/io.h"

namespace ntk::py_bindings {

[[noreturn]] void interrupted() {
  throw_error(ErrorKind::kInterrupted, __FILE__, __LINE__, "interrupted");
}

// With the GIL held: runs pending signal handlers; raises (as ntk::Error kInterrupted -> KeyboardInterrupt)
// when one raised.
void check_signals() {
  if (PyErr_CheckSignals() != 0) {
    PyErr_Clear();
    interrupted();
  }
}

// ---- arrays in ----

std::vector<int64_t> shape_of(const py::array& a) {
  std::vector<int64_t> s(static_cast<size_t>(a.ndim()));
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s[static_cast<size_t>(i)] = a.shape(i);
  return s;
}

Tensor to_tensor(const DArr& a) {
  Tensor t(shape_of(a));
  if (t.size() > 0) std::memcpy(t.data.data(), a.data(), sizeof(double) * static_cast<size_t>(t.size()));
  return t;
}

// Data inputs: (N, d) or (N, H, W, C), finite (the CLI's checks, with its messages).
Tensor to_inputs(const DArr& a, const std::string& what) {
  Tensor t = to_tensor(a);
  io::check_input_array(t, what);
  io::check_finite(t, what);
  return t;
}

Matrix to_matrix(const DArr& a, const std::string& what, bool allow_vector) {
  NTK_THROW_IF_NOT(a.ndim() == 2 || (allow_vector && a.ndim() == 1),
                   "%s: expected a 2-D array, got %d dimensions", what.c_str(), static_cast<int>(a.ndim()));
  const int64_t r = a.shape(0), c = a.ndim() == 2 ? a.shape(1) : 1;
  Matrix m(r, c);
  if (m.size() > 0) std::memcpy(m.data(), a.data(), sizeof(double) * static_cast<size_t>(m.size()));
  for (int64_t i = 0; i < m.size(); ++i)
    NTK_THROW_IF_NOT(std::isfinite(m.data()[i]), "%s: non-finite value %g at index (%lld, %lld)",
                     what.c_str(), m.data()[i], static_cast<long long>(i / std::max<int64_t>(c, 1)),
                     static_cast<long long>(i % std::max<int64_t>(c, 1)));
  return m;
}

std::optional<Matrix> to_opt_matrix(const std::optional<DArr>& a, const std::string& what,
                                    bool allow_vector) {
  if (!a) return std::nullopt;
  return to_matrix(*a, what, allow_vector);
}


std::vector<int> to_labels(const LArr& a, const std::string& what) {
  NTK_THROW_IF_NOT(a.ndim() == 1, "%s: expected a 1-D array of class labels, got %d dimensions", what.c_str(),
                   static_cast<int>(a.ndim()));
  std::vector<int> out(static_cast<size_t>(a.shape(0)));
  for (size_t i = 0; i < out.size(); ++i) {
    const int64_t v = a.data()[i];
    NTK_THROW_IF_NOT(v >= 0 && v < (1 << 30), "%s: label %lld at index %zu is not a non-negative integer",
                     what.c_str(), static_cast<long long>(v), i);
    out[i] = static_cast<int>(v);
  }
  return out;
}

// ---- arrays out (owning the C++ storage) ----


py::array_t<double> own_matrix(Matrix&& m) {
  auto* p = new Matrix(std::move(m));
  py::capsule owner(p, [](void* q) { delete static_cast<Matrix*>(q); });
  return py::array_t<double>({static_cast<py::ssize_t>(p->rows()), static_cast<py::ssize_t>(p->cols())},
                             p->data(), owner);
}

py::array_t<double> own_vector(Vector&& v) {
  auto* p = new Vector(std::move(v));
  py::capsule owner(p, [](void* q) { delete static_cast<Vector*>(q); });
  return py::array_t<double>({static_cast<py::ssize_t>(p->size())}, p->data(), owner);
}

py::array_t<double> own_tensor(Tensor&& t) {
  return own_vector(std::move(t.data), t.shape);
}

py::object opt_matrix(Matrix&& m) {
  if (m.size() == 0) return py::none();
  return own_matrix(std::move(m));
}

py::array_t<int64_t> int_array(const std::vector<int64_t>& v) {
  std::vector<int64_t> c = v;
  return own_vector(std::move(c), {static_cast<int64_t>(v.size())});
}

py::array_t<int64_t> int_array(const std::vector<int>& v) {
  std::vector<int64_t> c(v.begin(), v.end());
  return own_vector(std::move(c), {static_cast<int64_t>(v.size())});
}

// Column-major Eigen matrix -> C-ordered NumPy array of the same (rows, cols).
py::array_t<double> colmajor_to_array(const Eigen::MatrixXd& m) {
  py::array_t<double> a({static_cast<py::ssize_t>(m.rows()), static_cast<py::ssize_t>(m.cols())});
  auto w = a.mutable_unchecked<2>();
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) w(i, j) = m(i, j);
  return a;
}

// ---- context ----

Context make_context(int threads, const std::string& dtype, const std::string& device, bool progress,
                     uint64_t seed) {
  NTK_THROW_IF_NOT(threads >= 0, "threads must be >= 0, got %d", threads);
  Context ctx;
  ctx.threads = threads;
  ctx.dtype = parse_dtype(dtype);
  ctx.device = parse_device(device);
  ctx.progress = progress;
  ctx.seed = seed;
  return ctx;
}

RegOptions make_reg(double diag_reg, bool absolute) {
  RegOptions r;
  r.diag_reg = diag_reg;
  r.absolute = absolute;
  return r;
}

}  // namespace ntk::py_bindings
