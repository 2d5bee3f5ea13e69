// Bindings of the experiments (the width/equivalence experiment).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common.h"
#include "ntk/arch.h"
#include "ntk/equivalence.h"
#include "ntk/error.h"
#include "ntk/io.h"
#include "options.h"

namespace ntk::py_bindings {
namespace {

// options: the options of equivalence_options() and equivalence_data_options() by name, plus threads and
// progress; the ones not given keep the library's defaults. Returns the JSON report.
std::string equivalence(const py::dict& options, const std::optional<DArr>& x,
                        const std::optional<LArr>& labels, const py::object& log) {
  py::dict rest(options);
  EquivalenceDataOptions d;
  take_options(equivalence_data_options(), d, rest);
  EquivalenceOptions o;
  take_options(equivalence_options(), o, rest);
  int threads = 0;
  bool progress = false;
  if (rest.contains("threads"))
    threads = py::cast<int>(rest["threads"]), PyDict_DelItemString(rest.ptr(), "threads");
  if (rest.contains("progress"))
    progress = py::cast<bool>(rest["progress"]), PyDict_DelItemString(rest.ptr(), "progress");
  reject_unknown(rest, "equivalence");
  o.train.seed = o.seed;  // the minibatch order follows the network seed, as in the CLI
  o.ctx = make_context(threads, "float64", "cpu", progress, o.seed);
  NTK_THROW_IF_NOT(d.classes.size() != 1, "classes: give at least two labels, or num_classes");
  Architecture::parse(o.arch, ParseOptions{o.widths.front()});  // spec errors before loading data

  EquivalenceData data;
  if (x) {
    io::Dataset ds;
    ds.x = to_inputs(*x, "x");
    NTK_THROW_IF_NOT(labels.has_value(), "labels are needed with in-memory data");
    std::vector<int> lab = to_labels(*labels, "labels");
    NTK_THROW_IF_NOT(static_cast<int64_t>(lab.size()) == ds.x.rows(), "labels: %zu labels for %lld examples",
                     lab.size(), static_cast<long long>(ds.x.rows()));
    ds.labels.assign(lab.begin(), lab.end());
    py::gil_scoped_release release;
    data = make_equivalence_data(ds, d, "array");
  } else {
    py::gil_scoped_release release;
    data = load_equivalence_data(d);
  }
  EquivalenceResult r;
  {
    py::gil_scoped_release release;
    // Signals are checked after every finished network (the finest grain run_equivalence reports).
    r = run_equivalence(data, o, [&log](const std::string& line) {
      py::gil_scoped_acquire acquire;
      check_signals();
      if (!log.is_none()) log(line);
    });
  }
  return r.to_json();
}

}  // namespace

void init_experiments(py::module_& m) {
  m.def("equivalence", &equivalence);
}

}  // namespace ntk::py_bindings
