// Bindings of finite networks (ntk::Model) and their Monte Carlo kernels.
#include "ntk/network.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common.h"
#include "ntk/arch.h"
#include "ntk/error.h"
#include "ntk/layer.h"
#include "ntk/train.h"
#include "options.h"

namespace ntk::py_bindings {
namespace {

// ---- finite networks (ntk::Model: a Network, or its sign-flipped twin with zero initial outputs) ----

ExampleShape shape_from(const std::vector<int64_t>& dims) {
  NTK_THROW_IF_NOT(dims.size() == 1 || dims.size() == 3,
                   "input_shape must be (d,) or (H, W, C), got %zu dimensions", dims.size());
  for (int64_t d : dims)
    NTK_THROW_IF_NOT(d >= 1, "input_shape: every dimension must be >= 1, got %lld", (long long)d);
  ExampleShape s;
  if (dims.size() == 1) {
    s.channels = dims[0];
  } else {
    s.spatial = true;
    s.height = dims[0];
    s.width = dims[1];
    s.channels = dims[2];
  }
  return s;
}

class PyNetwork {
 public:
  PyNetwork(const std::string& spec, int64_t width, const std::vector<int64_t>& input_shape,
            const std::string& parameterization, uint64_t seed, const std::string& f0)
      : spec_(spec), width_(width), input_shape_(input_shape) {
    NTK_THROW_IF_NOT(width >= 1, "width must be >= 1, got %lld", static_cast<long long>(width));
    Architecture arch = Architecture::parse(spec, ParseOptions{width});
    model_ = std::make_unique<Model>(arch, shape_from(input_shape), parse_parameterization(parameterization),
                                     seed, parse_f0_mode(f0));
  }

  Tensor inputs(const DArr& a, const char* what) const {
    Tensor x = to_inputs(a, what);
    const ExampleShape& s = model_->network().input_shape();
    const int64_t want = s.size();
    const bool ok =
        x.row_size() == want &&
        (x.rank() == 2 ? !s.spatial
                       : s.spatial && x.dim(1) == s.height && x.dim(2) == s.width && x.dim(3) == s.channels);
    NTK_THROW_IF_NOT(ok, "%s: examples of shape %s do not match the network's input shape %s", what,
                     x.shape_string().c_str(), s.to_string().c_str());
    return x;
  }

  py::array_t<double> apply(const DArr& xa) const {
    Tensor x = inputs(xa, "x");
    Matrix out;
    {
      py::gil_scoped_release release;
      out = model_->apply(x);
    }
    return own_matrix(std::move(out));
  }

  py::array_t<double> empirical_ntk(const DArr& x1a, const std::optional<DArr>& x2a) const {
    Tensor x1 = inputs(x1a, "x1");
    Tensor x2;
    if (x2a) x2 = inputs(*x2a, "x2");
    Matrix k;
    {
      py::gil_scoped_release release;
      k = model_->empirical_ntk(x1, x2a ? &x2 : nullptr);
    }
    return own_matrix(std::move(k));
  }

  py::list get_params(size_t member) const {
    NTK_THROW_IF_NOT(member < model_->members(), "member must be < %zu, got %zu", model_->members(), member);
    py::list out;
    for (const LayerParams& lp : model_->network(member).params()) {
      py::list layer;
      for (const auto& t : lp.tensors) layer.append(colmajor_to_array(t));
      out.append(layer);
    }
    return out;
  }

  // Sets every parameter exactly: p <- p - p (= 0), then p <- 0 + 1 * new. Non-trainable layers cannot be
  // changed through ntk::Model::add_scaled, so new values for them must equal the current ones.
  void set_params(const py::list& params, size_t member) {
    NTK_THROW_IF_NOT(member < model_->members(), "member must be < %zu, got %zu", model_->members(), member);
    ModelParams current = model_->params();
    const std::vector<LayerParams>& cur = current[member];
    NTK_THROW_IF_NOT(params.size() == cur.size(), "params: expected a list of %zu layers, got %zu",
                     cur.size(), params.size());
    std::vector<LayerParams> next = cur;
    for (size_t l = 0; l < cur.size(); ++l) {
      py::list layer = py::cast<py::list>(params[l]);
      NTK_THROW_IF_NOT(layer.size() == cur[l].tensors.size(), "params[%zu]: expected %zu arrays, got %zu", l,
                       cur[l].tensors.size(), layer.size());
      for (size_t k = 0; k < layer.size(); ++k) {
        DArr a = py::cast<DArr>(layer[k]);
        const Eigen::MatrixXd& c = cur[l].tensors[k];
        const bool ok = (a.ndim() == 2 && a.shape(0) == c.rows() && a.shape(1) == c.cols()) ||
                        (a.ndim() == 1 && c.cols() == 1 && a.shape(0) == c.rows());
        NTK_THROW_IF_NOT(ok, "params[%zu][%zu]: expected shape (%lld, %lld), got %s", l, k,
                         static_cast<long long>(c.rows()), static_cast<long long>(c.cols()),
                         Tensor(shape_of(a)).shape_string().c_str());
        Eigen::MatrixXd m(c.rows(), c.cols());
        for (Eigen::Index i = 0; i < m.rows(); ++i)
          for (Eigen::Index j = 0; j < m.cols(); ++j) {
            m(i, j) = a.data()[i * m.cols() + j];
            NTK_THROW_IF_NOT(std::isfinite(m(i, j)), "params[%zu][%zu]: non-finite value at (%lld, %lld)", l,
                             k, static_cast<long long>(i), static_cast<long long>(j));
          }
        next[l].tensors[k] = std::move(m);
      }
    }
    // Which layers add_scaled moves: probe with a direction of ones.
    ModelParams probe_dir(current.size());
    for (size_t i = 0; i < current.size(); ++i) probe_dir[i] = current[i];
    for (auto& member_params : probe_dir)
      for (auto& lp : member_params)
        for (auto& t : lp.tensors) t.setZero();
    ModelParams minus = probe_dir, plus = probe_dir;
    minus[member] = cur;
    plus[member] = next;
    model_->add_scaled(minus, -1.0);
    model_->add_scaled(plus, 1.0);
    ModelParams after = model_->params();
    for (size_t l = 0; l < cur.size(); ++l)
      for (size_t k = 0; k < cur[l].tensors.size(); ++k)
        if (!(after[member][l].tensors[k].array() == next[l].tensors[k].array()).all()) {
          // A fixed (trainable=false) layer: restore and refuse.
          model_->add_scaled(plus, -1.0);
          model_->add_scaled(minus, 1.0);
          NTK_THROW(
              "params[%zu]: layer %zu is not trainable (trainable=false) and its parameters cannot be set", l,
              l);
        }
  }

  // options: those of train_options() by name (the rest keep TrainOptions' defaults).
  py::dict train(const DArr& xa, const DArr& ya, const py::dict& options) {
    Tensor x = inputs(xa, "x");
    Matrix y = to_matrix(ya, "y", true);
    NTK_THROW_IF_NOT(y.rows() == x.rows(), "y has %lld rows but x has %lld", static_cast<long long>(y.rows()),
                     static_cast<long long>(x.rows()));
    NTK_THROW_IF_NOT(y.cols() == model_->output_width(),
                     "y has %lld columns but the network has %lld outputs", static_cast<long long>(y.cols()),
                     static_cast<long long>(model_->output_width()));
    py::dict rest(options);
    TrainOptions opt;
    take_options(train_options(), opt, rest);
    reject_unknown(rest, "train");
    TrainResult r;
    {
      py::gil_scoped_release release;
      r = ntk::train(*model_, x, y, opt, [](int64_t, const Model&) {
        py::gil_scoped_acquire acquire;
        check_signals();
      });
    }
    py::dict d;
    d["learning_rate"] = r.learning_rate;
    d["lambda_max"] = r.lambda_max;
    d["steps"] = r.steps;
    std::vector<double> loss = r.loss;
    d["loss"] = own_vector(std::move(loss), {static_cast<int64_t>(r.loss.size())});
    d["final_loss"] = r.final_loss;
    d["flow_time"] = equivalent_flow_time(opt, r.learning_rate, x.rows());
    return d;
  }

  int64_t num_params() const { return model_->num_params(); }
  int64_t output_width() const { return model_->output_width(); }
  size_t members() const { return model_->members(); }
  std::string describe() const { return model_->network().architecture().describe(); }

 private:
  std::string spec_;
  int64_t width_;
  std::vector<int64_t> input_shape_;
  std::unique_ptr<Model> model_;
};

}  // namespace

void init_network(py::module_& m) {
  py::class_<PyNetwork>(m, "Network")
      .def(py::init<const std::string&, int64_t, const std::vector<int64_t>&, const std::string&, uint64_t,
                    const std::string&>(),
           py::arg("arch"), py::arg("width"), py::arg("input_shape"), py::arg("parameterization"),
           py::arg("seed"), py::arg("f0"))
      .def("apply", &PyNetwork::apply)
      .def("empirical_ntk", &PyNetwork::empirical_ntk)
      .def("get_params", &PyNetwork::get_params)
      .def("set_params", &PyNetwork::set_params)
      .def("train", &PyNetwork::train)
      .def_property_readonly("num_params", &PyNetwork::num_params)
      .def_property_readonly("output_width", &PyNetwork::output_width)
      .def_property_readonly("members", &PyNetwork::members)
      .def("describe", &PyNetwork::describe);
  // The per-layer scalings of the finite networks (ntk/layer.h): the PyTorch twins (ntk.torch) read theirs
  // from here, so that there is one table for both.
  m.def(
      "affine_scaling",
      [](const std::string& param, bool input_layer, bool readout, double fan_in, double width_in,
         double width_out, double w_std, double b_std) {
        const AffineScaling s =
            affine_scaling(LayerSetting(parse_parameterization(param), input_layer, readout, 0), fan_in,
                           width_in, width_out, w_std, b_std);
        return py::make_tuple(s.w_mult, s.w_init, s.b_mult, s.b_init);
      },
      py::arg("parameterization"), py::arg("input_layer"), py::arg("readout"), py::arg("fan_in"),
      py::arg("width_in"), py::arg("width_out"), py::arg("w_std"), py::arg("b_std"));
  m.def("monte_carlo_kernels",
        [](const std::string& spec, int64_t width, const DArr& x1a, const std::optional<DArr>& x2a,
           int samples, uint64_t seed, const std::string& param, bool compute_ntk, int threads) {
          NTK_THROW_IF_NOT(width >= 1, "width must be >= 1, got %lld", static_cast<long long>(width));
          NTK_THROW_IF_NOT(samples >= 1, "samples must be >= 1, got %d", samples);
          Tensor x1 = to_inputs(x1a, "x1");
          Tensor x2;
          if (x2a) x2 = to_inputs(*x2a, "x2");
          Context ctx = make_context(threads, "float64", "cpu", false, seed);
          MonteCarloKernels k;
          {
            py::gil_scoped_release release;
            k = monte_carlo_kernels(spec, width, x1, x2a ? &x2 : nullptr, samples, seed,
                                    parse_parameterization(param), ctx, compute_ntk);
          }
          return py::make_tuple(opt_matrix(std::move(k.nngp)), opt_matrix(std::move(k.ntk)));
        });
}

}  // namespace ntk::py_bindings
