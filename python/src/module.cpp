// ntk._ntk: the Python extension over the ntk C++ library. The typed, documented API is python/ntk/*.py; this
// module is its thin layer over the C++ headers, one binding file per subsystem (conventions in common.h).
#include <algorithm>

#include "common.h"
#include "ntk/bench_cifar.h"
#include "ntk/equivalence.h"
#include "ntk/error.h"
#include "ntk/experiments_uci.h"
#include "ntk/solvers.h"
#include "ntk/train.h"
#include "ntk/version.h"
#include "options.h"
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

  // The library's option tables by group (ntk/options.h): the Python wrappers' defaults come from here.
  using SpecList = py::list (*)();
  static const std::vector<std::pair<const char*, SpecList>> groups = {
      {"equivalence", [] { return option_spec_list(equivalence_options()); }},
      {"equivalence_data", [] { return option_spec_list(equivalence_data_options()); }},
      {"train", [] { return option_spec_list(train_options()); }},
      {"predict", [] { return option_spec_list(predict_options()); }},
      {"reg", [] { return option_spec_list(reg_options()); }},
      {"svm", [] { return option_spec_list(svm_options()); }},
      {"select", [] { return option_spec_list(select_options()); }},
      {"uci", [] { return option_spec_list(experiments::uci_options()); }},
      {"cifar10", [] { return option_spec_list(cifar_bench_options()); }},
  };
  m.def("option_groups", [] {
    std::vector<std::string> names;
    for (const auto& g : groups) names.push_back(g.first);
    return names;
  });
  m.def("option_specs", [](const std::string& group) {
    std::string known;
    for (const auto& g : groups) {
      if (group == g.first) return g.second();
      known += (known.empty() ? "" : ", ") + std::string(g.first);
    }
    NTK_THROW("unknown option group '%s'; valid: %s", group.c_str(), known.c_str());
  });
  m.def("default_select_values",
        [](const std::string& method) { return default_select_values(parse_select_method(method)); });

  init_kernel(m);
  init_network(m);
  init_solvers(m);
  init_io(m);
  init_experiments(m);
}
