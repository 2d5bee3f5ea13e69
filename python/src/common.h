// Pieces shared by the binding files of ntk._ntk (one file per subsystem: kernel.cpp, network.cpp, solvers.cpp,
// io.cpp, experiments.cpp; module.cpp defines the module and calls their init_* functions).
//
// Conventions:
//   - arrays in: any numeric NumPy array (pybind11 forcecast to C-contiguous float64, copied only when the
//     layout or dtype differs; the Python wrappers reject non-numeric dtypes first). The library's Tensor
//     owns its data, so inputs are copied into it once.
//   - arrays out: NumPy arrays that own the C++ result (no copy), or that the kernel engine writes into
//     directly.
//   - the GIL is released around every computation; long ones (kernels tile by tile, training step by step)
//     check for signals between pieces, so Ctrl-C raises KeyboardInterrupt promptly.
//   - ntk::Error maps to ValueError (invalid input), MemoryError, OSError (I/O), KeyboardInterrupt
//     (interrupted), RuntimeError (internal) with the CLI's one-line message (module.cpp).
#pragma once

#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ntk/context.h"
#include "ntk/kernel.h"
#include "ntk/solvers.h"
#include "ntk/tensor.h"

namespace ntk::py_bindings {

namespace py = pybind11;

using DArr = py::array_t<double, py::array::c_style | py::array::forcecast>;
using LArr = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;

// Raises ntk::Error kInterrupted (-> KeyboardInterrupt).
[[noreturn]] void interrupted();
// With the GIL held: runs pending signal handlers; raises (as ntk::Error kInterrupted -> KeyboardInterrupt)
// when one raised.
void check_signals();

// ---- arrays in ----
std::vector<int64_t> shape_of(const py::array& a);
Tensor to_tensor(const DArr& a);
// Data inputs: (N, d) or (N, H, W, C), finite (the CLI's checks, with its messages).
Tensor to_inputs(const DArr& a, const std::string& what);
Matrix to_matrix(const DArr& a, const std::string& what, bool allow_vector = false);
std::optional<Matrix> to_opt_matrix(const std::optional<DArr>& a, const std::string& what,
                                    bool allow_vector = false);
inline const Matrix* ptr(const std::optional<Matrix>& m) { return m ? &*m : nullptr; }
std::vector<int> to_labels(const LArr& a, const std::string& what);

// ---- arrays out (owning the C++ storage) ----
template <typename T>
py::array_t<T> own_vector(std::vector<T>&& v, std::vector<int64_t> shape) {
  auto* p = new std::vector<T>(std::move(v));
  py::capsule owner(p, [](void* q) { delete static_cast<std::vector<T>*>(q); });
  std::vector<py::ssize_t> s(shape.begin(), shape.end());
  return py::array_t<T>(s, p->data(), owner);
}
py::array_t<double> own_matrix(Matrix&& m);
py::array_t<double> own_vector(Vector&& v);
py::array_t<double> own_tensor(Tensor&& t);
py::object opt_matrix(Matrix&& m);  // None when empty
py::array_t<int64_t> int_array(const std::vector<int64_t>& v);
py::array_t<int64_t> int_array(const std::vector<int>& v);
// Column-major Eigen matrix -> C-ordered NumPy array of the same (rows, cols).
py::array_t<double> colmajor_to_array(const Eigen::MatrixXd& m);

// ---- context ----
Context make_context(int threads, const std::string& dtype, const std::string& device, bool progress,
                     uint64_t seed = 0);
RegOptions make_reg(double diag_reg, bool absolute);

// One per binding file.
void init_kernel(py::module_& m);
void init_network(py::module_& m);
void init_solvers(py::module_& m);
void init_io(py::module_& m);
void init_experiments(py::module_& m);

}  // namespace ntk::py_bindings
