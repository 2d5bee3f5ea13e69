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

namespace ntk::py_bindings {
namespace {

py::tuple equivalence(const py::dict& data_opts, const py::dict& opts, const std::optional<DArr>& x,
                      const std::optional<LArr>& labels, const py::object& log) {
  EquivalenceDataOptions d;
  d.path = data_opts["path"].cast<std::string>();
  d.dataset.format = io::parse_dataset_format(data_opts["format"].cast<std::string>());
  d.dataset.labels_path = data_opts["labels_path"].cast<std::string>();
  d.classes = data_opts["classes"].cast<std::vector<int64_t>>();
  d.num_classes = data_opts["num_classes"].cast<int>();
  d.n_train = data_opts["n_train"].cast<int64_t>();
  d.n_test = data_opts["n_test"].cast<int64_t>();
  d.downsample = data_opts["downsample"].cast<int64_t>();
  d.standardize = data_opts["standardize"].cast<std::string>();
  d.one_hot = data_opts["one_hot"].cast<bool>();
  d.seed = data_opts["seed"].cast<uint64_t>();

  EquivalenceOptions o;
  o.arch = opts["arch"].cast<std::string>();
  o.widths = opts["widths"].cast<std::vector<int64_t>>();
  o.seeds = opts["seeds"].cast<int>();
  o.seed = opts["seed"].cast<uint64_t>();
  o.kernel_seeds = opts["kernel_seeds"].cast<int>();
  o.parameterization = parse_parameterization(opts["parameterization"].cast<std::string>());
  o.f0 = parse_f0_mode(opts["f0"].cast<std::string>());
  o.train.steps = opts["steps"].cast<int64_t>();
  o.train.learning_rate = opts["learning_rate"].cast<double>();
  o.train.lr_fraction = opts["lr_fraction"].cast<double>();
  o.train.batch_size = opts["batch_size"].cast<int64_t>();
  o.train.momentum = opts["momentum"].cast<double>();
  o.train.seed = o.seed;
  o.time = opts["time"].cast<double>();
  o.kernel_checkpoints = opts["checkpoints"].cast<int>();
  o.trace_points = opts["trace_points"].cast<int>();
  o.ctx = make_context(opts["threads"].cast<int>(), "float64", "cpu", opts["progress"].cast<bool>(), o.seed);
  // The CLI's checks, with its messages (option names as Python keywords).
  NTK_THROW_IF_NOT(o.train.learning_rate >= 0, "learning_rate must be > 0, got %g", o.train.learning_rate);
  NTK_THROW_IF_NOT(o.train.lr_fraction > 0, "lr_fraction must be > 0, got %g", o.train.lr_fraction);
  NTK_THROW_IF_NOT(o.train.momentum >= 0 && o.train.momentum < 1, "momentum must be in [0, 1), got %g",
                   o.train.momentum);
  NTK_THROW_IF_NOT(o.train.batch_size >= 0, "batch_size must be >= 0, got %lld",
                   static_cast<long long>(o.train.batch_size));
  NTK_THROW_IF_NOT(o.time > 0 || o.train.steps >= 1, "steps must be >= 1, got %lld",
                   static_cast<long long>(o.train.steps));
  NTK_THROW_IF_NOT(o.time >= 0, "time must be > 0, got %g", o.time);
  NTK_THROW_IF_NOT(!o.widths.empty(), "widths: empty list");
  for (int64_t w : o.widths) NTK_THROW_IF_NOT(w >= 1, "widths: widths must be >= 1, got %lld", (long long)w);
  NTK_THROW_IF_NOT(d.classes.size() != 1, "classes: give at least two labels, or num_classes");
  NTK_THROW_IF_NOT(d.num_classes >= 2, "num_classes: need at least 2 classes, got %d", d.num_classes);
  Architecture::parse(o.arch, ParseOptions{o.widths.front()});

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
  py::list runs;
  for (auto& per_width : r.runs)
    for (auto& run : per_width) {
      py::dict jr;
      jr["width"] = run.width;
      jr["seed"] = run.seed;
      jr["trace_at"] = int_array(run.trace_at);
      jr["trace_nn"] = own_matrix(std::move(run.trace_nn));
      jr["trace_ntk"] = own_matrix(std::move(run.trace_ntk));
      runs.append(jr);
    }
  return py::make_tuple(r.to_json(), runs);
}

}  // namespace

void init_experiments(py::module_& m) {
  m.def("equivalence", &equivalence);
}

}  // namespace ntk::py_bindings
