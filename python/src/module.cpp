// ntk._ntk: the Python extension over the ntk C++ library. The typed, documented API is python/ntk/*.py; this
// module is its thin layer over the C++ headers, one binding file per subsystem (conventions in common.h).
#include <algorithm>

#include "common.h"
#include "ntk/error.h"
#include "ntk/version.h"
#include "platform/blas_tuning.h"

using namespace ntk;
using namespace ntk::py_bindings;

PYBIND11_MODULE(_ntk, m) {
  m.doc() = "ntk C++ extension (use the `ntk` package, not this module)";
  m.attr("__version__") = NTK_VERSION_STRING;
  m.attr("__blas__") = platform::blas_vendor();  // "MKL" or "OpenBLAS": the BLAS/LAPACK this build links

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ntk::Error& e) {
      std::string msg = e.message();
      std::replace(msg.begin(), msg.end(), '\n', ' ');
      PyObject* type = PyExc_RuntimeError;
      switch (e.kind()) {
        case ErrorKind::kInvalidInput:
          type = PyExc_ValueError;
          break;
        case ErrorKind::kOutOfMemory:
          type = PyExc_MemoryError;
          break;
        case ErrorKind::kIo:
          type = PyExc_OSError;
          break;
        case ErrorKind::kInterrupted:
          type = PyExc_KeyboardInterrupt;
          break;
        case ErrorKind::kInternal:
          type = PyExc_RuntimeError;
          break;
      }
      PyErr_SetString(type, msg.c_str());
    }
  });


  init_kernel(m);
  init_network(m);
  init_solvers(m);
  init_io(m);
  init_experiments(m);
}
