// ntk._ntk: the Python extension over the ntk C++ library. The typed, documented API is python/ntk/*.py; this
// module is its thin layer over the C++ headers.
//
// Conventions:
//   - arrays in: any numeric NumPy array (pybind11 forcecast to C-contiguous float64, copied only when the
//     layout or dtype differs; the Python wrappers reject non-numeric dtypes first). The library's Tensor
//     owns its data, so inputs are copied into it once.
//   - arrays out: NumPy arrays that own the C++ result (no copy), or that the kernel engine writes into
//   directly.
//   - the GIL is released around every computation; long ones (kernels tile by tile, training step by step)
//     check for signals between pieces, so Ctrl-C raises KeyboardInterrupt promptly.
//   - ntk::Error maps to ValueError (invalid input), MemoryError, OSError (I/O), KeyboardInterrupt
//     (interrupted), RuntimeError (internal) with the CLI's one-line message.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ntk/arch.h"
#include "ntk/equivalence.h"
#include "ntk/error.h"
#include "ntk/io.h"
#include "ntk/kernel.h"
#include "ntk/kernel_engine.h"
#include "ntk/network.h"
#include "ntk/progress.h"
#include "ntk/solvers.h"
#include "ntk/tiled_job.h"
#include "ntk/train.h"
#include "ntk/version.h"
#include "platform/blas_tuning.h"

namespace py = pybind11;
using namespace ntk;

namespace {

using DArr = py::array_t<double, py::array::c_style | py::array::forcecast>;
using LArr = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;

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

Matrix to_matrix(const DArr& a, const std::string& what, bool allow_vector = false) {
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
                                    bool allow_vector = false) {
  if (!a) return std::nullopt;
  return to_matrix(*a, what, allow_vector);
}

const Matrix* ptr(const std::optional<Matrix>& m) {
  return m ? &*m : nullptr;
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

template <typename T>
py::array_t<T> own_vector(std::vector<T>&& v, std::vector<int64_t> shape) {
  auto* p = new std::vector<T>(std::move(v));
  py::capsule owner(p, [](void* q) { delete static_cast<std::vector<T>*>(q); });
  std::vector<py::ssize_t> s(shape.begin(), shape.end());
  return py::array_t<T>(s, p->data(), owner);
}

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
                     uint64_t seed = 0) {
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

// ---- exact kernels, tile by tile ----

template <typename T>
py::object new_kernel_array(bool wanted, int64_t n1, int64_t n2) {
  if (!wanted) return py::none();
  return py::array_t<T>({static_cast<py::ssize_t>(n1), static_cast<py::ssize_t>(n2)});
}

template <typename T>
T* data_of(const py::object& a) {
  if (a.is_none()) return nullptr;
  return static_cast<T*>(py::reinterpret_borrow<py::array>(a).mutable_data());
}

template <typename T>
void mirror_upper(T* m, int64_t n, int threads) {
  if (m != nullptr) mirror_upper_triangle(m, n, n, threads);
}

py::tuple kernels(const std::string& spec, const DArr& x1a, const std::optional<DArr>& x2a, bool want_nngp,
                  bool want_ntk, const std::string& parameterization, const std::string& dtype,
                  const std::string& device, int threads, bool progress, const std::string& memory) {
  Architecture arch = Architecture::parse(spec);
  KernelOptions opt;
  opt.parameterization = parse_parameterization(parameterization);
  opt.nngp = want_nngp;
  opt.ntk = want_ntk;
  opt.ctx = make_context(threads, dtype, device, progress);
  Tensor x1 = to_inputs(x1a, "x1");
  Tensor x2;
  if (x2a) x2 = to_inputs(*x2a, "x2");
  const Tensor* x2p = x2a ? &x2 : nullptr;

  std::unique_ptr<KernelEngine> engine;
  {
    py::gil_scoped_release release;
    engine = KernelEngine::create(arch, x1, x2p, opt);
  }
  const int64_t n1 = engine->rows(), n2 = engine->cols();
  const bool f32 = engine->dtype() == DType::kFloat32;
  // Memory, as the CLI's tiled job counts it, plus the kernels themselves (which live in RAM here): a job
  // that cannot fit is refused before it starts (MemoryError).
  const double budget =
      static_cast<double>(memory.empty() ? physical_memory_bytes() / 10 * 8 : parse_memory_size(memory));
  const double inputs = static_cast<double>((x1.data.size() + x2.data.size()) * sizeof(double));
  const double out = static_cast<double>(n1) * static_cast<double>(n2) * (f32 ? 4.0 : 8.0) *
                     ((want_nngp ? 1 : 0) + (want_ntk ? 1 : 0));
  const double need =
      inputs + out + static_cast<double>(engine->prepared_bytes()) +
      static_cast<double>(opt.ctx.num_threads()) * static_cast<double>(engine->bytes_per_pair());
  NTK_THROW_KIND_IF_NOT(
      ErrorKind::kOutOfMemory, budget <= 0 || need <= budget,
      "this job needs at least %s of memory (the %lld x %lld kernel%s %s) but the budget is %s; use "
      "fewer inputs per call, the CLI's on-disk tiled job (ntk kernel --memory), or a larger memory=",
      format_bytes(static_cast<int64_t>(need)).c_str(), static_cast<long long>(n1),
      static_cast<long long>(n2), want_nngp && want_ntk ? "s" : "",
      format_bytes(static_cast<int64_t>(out)).c_str(), format_bytes(static_cast<int64_t>(budget)).c_str());
  py::object nngp =
      f32 ? new_kernel_array<float>(want_nngp, n1, n2) : new_kernel_array<double>(want_nngp, n1, n2);
  py::object ntk =
      f32 ? new_kernel_array<float>(want_ntk, n1, n2) : new_kernel_array<double>(want_ntk, n1, n2);
  {
    py::gil_scoped_release release;
    engine->prepare();
  }
  check_signals();

  // The tile plan of compute_kernels and of the CLI's tiled job (default_tile(engine); the upper triangle
  // when symmetric), so the numbers are bit-identical to theirs. The GIL is released during each tile and
  // signals are checked between tiles.
  const bool sym = engine->symmetric();
  const std::vector<TileSpec> tiles = plan_tiles(n1, n2, default_tile(*engine), sym);
  int64_t total = 0;
  for (const TileSpec& t : tiles) total += (t.row_end - t.row_begin) * (t.col_end - t.col_begin);
  char* pn =
      f32 ? reinterpret_cast<char*>(data_of<float>(nngp)) : reinterpret_cast<char*>(data_of<double>(nngp));
  char* pt =
      f32 ? reinterpret_cast<char*>(data_of<float>(ntk)) : reinterpret_cast<char*>(data_of<double>(ntk));
  const size_t item = f32 ? sizeof(float) : sizeof(double);
  {
    Progress bar(total, "kernel", progress);
    for (const TileSpec& t : tiles) {
      const size_t off = static_cast<size_t>(t.row_begin * n2 + t.col_begin) * item;
      {
        py::gil_scoped_release release;
        engine->compute_tile(t, pn ? pn + off : nullptr, pt ? pt + off : nullptr, n2);
      }
      bar.advance((t.row_end - t.row_begin) * (t.col_end - t.col_begin));
      check_signals();
    }
    bar.finish();
  }
  if (sym) {
    py::gil_scoped_release release;
    if (f32) {
      mirror_upper(reinterpret_cast<float*>(pn), n1, opt.ctx.num_threads());
      mirror_upper(reinterpret_cast<float*>(pt), n1, opt.ctx.num_threads());
    } else {
      mirror_upper(reinterpret_cast<double*>(pn), n1, opt.ctx.num_threads());
      mirror_upper(reinterpret_cast<double*>(pt), n1, opt.ctx.num_threads());
    }
  }
  return py::make_tuple(nngp, ntk);
}

py::list kernels_all_depths(const DArr& x1a, const std::optional<DArr>& x2a, int max_depth,
                            const std::string& activation, double w_std, double b_std, int threads) {
  Tensor x1 = to_inputs(x1a, "x1");
  Tensor x2;
  if (x2a) x2 = to_inputs(*x2a, "x2");
  Context ctx = make_context(threads, "float64", "cpu", false);
  std::vector<DepthKernel> ks;
  {
    py::gil_scoped_release release;
    ks = fc_kernels_all_depths(x1, x2a ? &x2 : nullptr, max_depth, activation, w_std, b_std, ctx);
  }
  py::list out;
  for (auto& k : ks)
    out.append(py::make_tuple(k.depth, k.fixed, opt_matrix(std::move(k.nngp)), opt_matrix(std::move(k.ntk))));
  return out;
}

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

  py::dict train(const DArr& xa, const DArr& ya, int64_t steps, double learning_rate, double lr_fraction,
                 int64_t batch_size, double momentum, uint64_t seed, bool record_loss) {
    Tensor x = inputs(xa, "x");
    Matrix y = to_matrix(ya, "y", true);
    NTK_THROW_IF_NOT(y.rows() == x.rows(), "y has %lld rows but x has %lld", static_cast<long long>(y.rows()),
                     static_cast<long long>(x.rows()));
    NTK_THROW_IF_NOT(y.cols() == model_->output_width(),
                     "y has %lld columns but the network has %lld outputs", static_cast<long long>(y.cols()),
                     static_cast<long long>(model_->output_width()));
    NTK_THROW_IF_NOT(steps >= 0, "steps must be >= 0, got %lld", static_cast<long long>(steps));
    NTK_THROW_IF_NOT(learning_rate >= 0, "learning_rate must be >= 0, got %g", learning_rate);
    NTK_THROW_IF_NOT(lr_fraction > 0, "lr_fraction must be > 0, got %g", lr_fraction);
    NTK_THROW_IF_NOT(batch_size >= 0, "batch_size must be >= 0, got %lld",
                     static_cast<long long>(batch_size));
    NTK_THROW_IF_NOT(momentum >= 0 && momentum < 1, "momentum must be in [0, 1), got %g", momentum);
    TrainOptions opt;
    opt.steps = steps;
    opt.learning_rate = learning_rate;
    opt.lr_fraction = lr_fraction;
    opt.batch_size = batch_size;
    opt.momentum = momentum;
    opt.seed = seed;
    opt.record_loss = record_loss;
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

// ---- data sets ----

py::tuple dataset_tuple(io::Dataset&& d) {
  return py::make_tuple(own_tensor(std::move(d.x)), int_array(d.labels), d.class_names);
}

// ---- equivalence ----

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

  // kernels
  m.def("kernels", &kernels, py::arg("arch"), py::arg("x1"), py::arg("x2"), py::arg("nngp"), py::arg("ntk"),
        py::arg("parameterization"), py::arg("dtype"), py::arg("device"), py::arg("threads"),
        py::arg("progress"), py::arg("memory"));
  m.def("kernels_all_depths", &kernels_all_depths, py::arg("x1"), py::arg("x2"), py::arg("max_depth"),
        py::arg("activation"), py::arg("w_std"), py::arg("b_std"), py::arg("threads"));
  m.def("describe_arch", [](const std::string& spec, int64_t width) {
    return Architecture::parse(spec, ParseOptions{width}).describe();
  });
  m.def("layer_names", [] { return LayerRegistry::instance().names(); });
  m.def("num_threads", [](int threads) {
    Context c;
    c.threads = threads;
    return c.num_threads();
  });

  // finite networks
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

  // solvers
  m.def("cholesky_solve", [](const DArr& k, const DArr& b, double diag_reg, bool absolute) {
    Matrix km = to_matrix(k, "k"), bm = to_matrix(b, "b", true);
    SolveInfo info;
    Matrix x;
    {
      py::gil_scoped_release release;
      RegOptions reg = make_reg(diag_reg, absolute);
      reg.warn = false;
      x = cholesky_solve(km, bm, reg, &info);
    }
    return py::make_tuple(own_matrix(std::move(x)), info.diag_added, info.jitter, info.warning);
  });
  py::class_<GradientFlow>(m, "GradientFlow")
      .def(py::init([](const DArr& theta, double lr, double diag_reg, bool absolute) {
        return std::make_unique<GradientFlow>(to_matrix(theta, "k_train_train"), lr,
                                              make_reg(diag_reg, absolute));
      }))
      .def("predict_train",
           [](const GradientFlow& g, double t, const DArr& y, const std::optional<DArr>& f0) {
             Matrix ym = to_matrix(y, "y_train", true);
             auto f0m = to_opt_matrix(f0, "f0_train", true);
             py::gil_scoped_release release;
             Matrix out = g.predict_train(t, ym, ptr(f0m));
             py::gil_scoped_acquire acquire;
             return own_matrix(std::move(out));
           })
      .def("predict_test",
           [](const GradientFlow& g, double t, const DArr& kt, const DArr& y, const std::optional<DArr>& f0tr,
              const std::optional<DArr>& f0te) {
             Matrix ktm = to_matrix(kt, "k_test_train"), ym = to_matrix(y, "y_train", true);
             auto a = to_opt_matrix(f0tr, "f0_train", true), b = to_opt_matrix(f0te, "f0_test", true);
             py::gil_scoped_release release;
             Matrix out = g.predict_test(t, ktm, ym, ptr(a), ptr(b));
             py::gil_scoped_acquire acquire;
             return own_matrix(std::move(out));
           })
      .def("predict_train_steps",
           [](const GradientFlow& g, int64_t steps, const DArr& y, const std::optional<DArr>& f0) {
             Matrix ym = to_matrix(y, "y_train", true);
             auto f0m = to_opt_matrix(f0, "f0_train", true);
             py::gil_scoped_release release;
             Matrix out = g.predict_train_steps(steps, ym, ptr(f0m));
             py::gil_scoped_acquire acquire;
             return own_matrix(std::move(out));
           })
      .def("predict_test_steps",
           [](const GradientFlow& g, int64_t steps, const DArr& kt, const DArr& y,
              const std::optional<DArr>& f0tr, const std::optional<DArr>& f0te) {
             Matrix ktm = to_matrix(kt, "k_test_train"), ym = to_matrix(y, "y_train", true);
             auto a = to_opt_matrix(f0tr, "f0_train", true), b = to_opt_matrix(f0te, "f0_test", true);
             py::gil_scoped_release release;
             Matrix out = g.predict_test_steps(steps, ktm, ym, ptr(a), ptr(b));
             py::gil_scoped_acquire acquire;
             return own_matrix(std::move(out));
           })
      .def_property_readonly("learning_rate", &GradientFlow::learning_rate);
  m.def("gradient_descent_steps",
        [](const DArr& ktt, const std::optional<DArr>& kt, const DArr& y, double lr, int64_t steps,
           const std::optional<DArr>& f0tr, const std::optional<DArr>& f0te) {
          NTK_THROW_IF_NOT(steps >= 0, "steps must be >= 0, got %lld", static_cast<long long>(steps));
          Matrix kttm = to_matrix(ktt, "k_train_train"), ym = to_matrix(y, "y_train", true);
          auto ktm = to_opt_matrix(kt, "k_test_train");
          auto a = to_opt_matrix(f0tr, "f0_train", true), b = to_opt_matrix(f0te, "f0_test", true);
          GdTrajectory r;
          {
            py::gil_scoped_release release;
            r = gradient_descent_steps(kttm, ptr(ktm), ym, lr, steps, ptr(a), ptr(b));
          }
          return py::make_tuple(own_matrix(std::move(r.train)), opt_matrix(std::move(r.test)));
        });
  auto gp_tuple = [](GpPrediction&& p) {
    return py::make_tuple(own_matrix(std::move(p.mean)), opt_matrix(std::move(p.covariance)),
                          p.variance.size() ? py::object(own_vector(std::move(p.variance))) : py::none());
  };
  m.def("nngp_posterior",
        [gp_tuple](const DArr& ktt, const DArr& kt, const DArr& y, const std::optional<DArr>& kss,
                   const std::optional<DArr>& kdiag, double diag_reg, bool absolute) {
          Matrix kttm = to_matrix(ktt, "k_train_train"), ktm = to_matrix(kt, "k_test_train"),
                 ym = to_matrix(y, "y_train", true);
          auto kssm = to_opt_matrix(kss, "k_test_test");
          std::optional<Vector> diag;
          if (kdiag) {
            Matrix dm = to_matrix(*kdiag, "k_test_diag", true);
            diag = Eigen::Map<const Vector>(dm.data(), dm.size());
          }
          GpPrediction p;
          {
            py::gil_scoped_release release;
            RegOptions reg = make_reg(diag_reg, absolute);
            reg.warn = false;
            p = nngp_posterior(kttm, ktm, ym, ptr(kssm), diag ? &*diag : nullptr, reg);
          }
          return gp_tuple(std::move(p));
        });
  m.def("ntk_gp",
        [gp_tuple](double t, const DArr& ntk_tt, const DArr& nngp_tt, const DArr& ntk_st, const DArr& nngp_st,
                   const DArr& y, const std::optional<DArr>& nngp_ss, const std::optional<DArr>& nngp_diag,
                   double lr, double diag_reg, bool absolute) {
          Matrix a = to_matrix(ntk_tt, "ntk_train_train"), b = to_matrix(nngp_tt, "nngp_train_train"),
                 c = to_matrix(ntk_st, "ntk_test_train"), d = to_matrix(nngp_st, "nngp_test_train"),
                 ym = to_matrix(y, "y_train", true);
          auto ss = to_opt_matrix(nngp_ss, "nngp_test_test");
          std::optional<Vector> diag;
          if (nngp_diag) {
            Matrix dm = to_matrix(*nngp_diag, "nngp_test_diag", true);
            diag = Eigen::Map<const Vector>(dm.data(), dm.size());
          }
          GpPrediction p;
          {
            py::gil_scoped_release release;
            NtkGpEnsemble ens(a, b, lr, make_reg(diag_reg, absolute));
            p = ens.predict(t, c, d, ym, ptr(ss), diag ? &*diag : nullptr);
          }
          return gp_tuple(std::move(p));
        });
  m.def("one_hot", [](const LArr& labels, int num_classes, double off, double on) {
    std::vector<int> l = to_labels(labels, "labels");
    if (num_classes <= 0) num_classes = count_classes(l);
    for (int v : l)
      NTK_THROW_IF_NOT(v < num_classes, "labels: label %d is >= num_classes %d", v, num_classes);
    return own_matrix(one_hot(l, num_classes, off, on));
  });
  m.def("one_hot_regression", [](const DArr& ktt, const DArr& kt, const LArr& labels, int num_classes,
                                 double off, double on, double diag_reg, bool absolute) {
    Matrix kttm = to_matrix(ktt, "k_train_train"), ktm = to_matrix(kt, "k_test_train");
    std::vector<int> l = to_labels(labels, "y_train");
    if (num_classes <= 0) num_classes = count_classes(l);
    NTK_THROW_IF_NOT(static_cast<int64_t>(l.size()) == kttm.rows(),
                     "y_train has %zu labels but k_train_train has %lld rows", l.size(),
                     static_cast<long long>(kttm.rows()));
    NTK_THROW_IF_NOT(ktm.cols() == kttm.rows(),
                     "k_test_train has %lld columns but k_train_train has %lld rows",
                     static_cast<long long>(ktm.cols()), static_cast<long long>(kttm.rows()));
    for (int v : l)
      NTK_THROW_IF_NOT(v < num_classes, "y_train: label %d is >= num_classes %d", v, num_classes);
    Matrix pred;
    std::vector<int> cls;
    {
      py::gil_scoped_release release;
      RegOptions reg = make_reg(diag_reg, absolute);
      pred = ktm *
             cholesky_solve(kttm, one_hot(l, num_classes, off, on), reg);  // as `ntk regress --solver exact`
      cls = argmax_rows(pred);
    }
    return py::make_tuple(int_array(cls), own_matrix(std::move(pred)));
  });

  py::class_<PrecomputedSvm>(m, "PrecomputedSvm")
      .def(py::init<>())
      .def("fit",
           [](PrecomputedSvm& s, const DArr& k, const LArr& labels, double C, double tol, double cache_mb,
              bool shrinking) {
             Matrix km = to_matrix(k, "k_train_train");
             std::vector<int> l = to_labels(labels, "y_train");
             SvmOptions o;
             o.C = C;
             o.tol = tol;
             o.cache_mb = cache_mb;
             o.shrinking = shrinking;
             py::gil_scoped_release release;
             s.fit(km, l, o);
           })
      .def("predict",
           [](const PrecomputedSvm& s, const DArr& k) {
             Matrix km = to_matrix(k, "k_test_train");
             std::vector<int> p;
             {
               py::gil_scoped_release release;
               p = s.predict(km);
             }
             return int_array(p);
           })
      .def("decision_function",
           [](const PrecomputedSvm& s, const DArr& k) {
             Matrix km = to_matrix(k, "k_test_train");
             Matrix d;
             {
               py::gil_scoped_release release;
               d = s.decision_function(km);
             }
             return own_matrix(std::move(d));
           })
      .def_property_readonly("classes", [](const PrecomputedSvm& s) { return int_array(s.classes()); })
      .def_property_readonly("num_support_vectors", &PrecomputedSvm::num_support_vectors)
      .def_property_readonly("fitted", &PrecomputedSvm::fitted);
  m.def("svm_accuracy_path", [](const DArr& ktt, const LArr& ytr, const DArr& kt, const LArr& yte,
                                const std::vector<double>& cs, double tol, bool shrinking, int threads) {
    Matrix a = to_matrix(ktt, "k_train_train"), b = to_matrix(kt, "k_test_train");
    std::vector<int> l1 = to_labels(ytr, "y_train"), l2 = to_labels(yte, "y_test");
    SvmOptions o;
    o.tol = tol;
    o.shrinking = shrinking;
    Context ctx = make_context(threads, "float64", "cpu", false);
    py::gil_scoped_release release;
    return svm_accuracy_path(a, l1, b, l2, cs, o, ctx);
  });
  m.def("kfold_splits", [](int64_t n, int k, bool shuffle, uint64_t seed) {
    py::list out;
    for (const Split& s : kfold_splits(n, k, shuffle, seed))
      out.append(py::make_tuple(int_array(s.train), int_array(s.test)));
    return out;
  });
  m.def("select_model",
        [](const py::list& kernels, const LArr& labels, const std::optional<DArr>& targets,
           const py::list& splits, const std::string& method, const std::vector<double>& values,
           bool absolute, bool classification, double off, double on, double tol, int threads) {
          std::vector<DepthKernel> ks;
          for (const auto& item : kernels) {
            py::tuple t = py::cast<py::tuple>(item);
            DepthKernel k;
            k.depth = t[0].cast<int>();
            k.fixed = t[1].cast<int>();
            k.ntk = to_matrix(t[2].cast<DArr>(), strprintf("kernel (depth %d, fixed %d)", k.depth, k.fixed));
            ks.push_back(std::move(k));
          }
          std::vector<int> l = to_labels(labels, "labels");
          Matrix tm = targets ? to_matrix(*targets, "targets", true) : Matrix();
          std::vector<Split> ss;
          for (const auto& item : splits) {
            py::tuple t = py::cast<py::tuple>(item);
            LArr a = t[0].cast<LArr>(), b = t[1].cast<LArr>();
            Split s;
            s.train.assign(a.data(), a.data() + a.size());
            s.test.assign(b.data(), b.data() + b.size());
            ss.push_back(std::move(s));
          }
          SelectOptions o;
          o.method = parse_select_method(method);
          o.values = values;
          o.absolute_reg = absolute;
          o.classification = classification;
          o.target_off = off;
          o.target_on = on;
          o.svm.tol = tol;
          o.ctx = make_context(threads, "float64", "cpu", false);
          Selection sel;
          {
            py::gil_scoped_release release;
            sel = select_model(ks, l, tm, ss, o);
          }
          auto row = [](const GridScore& g) { return py::make_tuple(g.depth, g.fixed, g.value, g.score); };
          py::list grid;
          for (const auto& g : sel.grid) grid.append(row(g));
          return py::make_tuple(grid, row(sel.best));
        });

  // data sets
  m.def("load_array", [](const std::string& p) { return own_tensor(io::load_array(p)); });
  m.def("load_npy", [](const std::string& p) { return own_tensor(io::load_npy(p)); });
  m.def("save_npy", [](const std::string& p, const DArr& a, const std::string& dtype) {
    io::save_npy(p, to_tensor(a), parse_dtype(dtype));
  });
  m.def("load_csv", [](const std::string& p, std::optional<int64_t> label_column,
                       const std::string& delimiter) {
    io::CsvOptions o;
    o.has_labels = label_column.has_value();
    if (label_column) o.label_column = *label_column;
    NTK_THROW_IF_NOT(delimiter.size() <= 1, "delimiter must be one character, got '%s'", delimiter.c_str());
    o.delimiter = delimiter.empty() ? 0 : delimiter[0];
    io::CsvData d = io::load_csv(p, o);
    std::vector<double> lab = d.labels;
    return py::make_tuple(own_tensor(std::move(d.x)),
                          own_vector(std::move(lab), {static_cast<int64_t>(d.labels.size())}), d.header,
                          d.class_names);
  });
  m.def("load_idx", [](const std::string& p) { return own_tensor(io::load_idx(p)); });
  m.def("load_idx_images", [](const std::string& p) { return own_tensor(io::load_idx_images(p)); });
  m.def("load_idx_labels", [](const std::string& p) { return int_array(io::load_idx_labels(p)); });
  m.def("find_idx_labels_for", &io::find_idx_labels_for);
  m.def("load_libsvm", [](const std::string& p, int64_t num_features) {
    io::LibsvmData d = io::load_libsvm(p, num_features);
    std::vector<double> lab = d.labels;
    return py::make_tuple(own_tensor(std::move(d.x)),
                          own_vector(std::move(lab), {static_cast<int64_t>(d.labels.size())}));
  });
  m.def("load_cifar10_binary",
        [](const std::string& p) { return dataset_tuple(io::load_cifar10_binary(p)); });
  m.def("load_cifar10_binary_dir", [](const std::string& p, const std::string& split) {
    return dataset_tuple(io::load_cifar10_binary_dir(p, split));
  });
  m.def("load_image", [](const std::string& p) { return own_tensor(io::load_image(p)); });
  m.def("load_image_folder", [](const std::string& p, int64_t max_per_class, uint64_t seed) {
    io::ImageFolderOptions o;
    o.max_per_class = max_per_class;
    o.seed = seed;
    return dataset_tuple(io::load_image_folder(p, o));
  });
  m.def("load_uci", [](const std::string& p) {
    io::UciDataset u = io::load_uci(p);
    py::list folds;
    for (const auto& f : u.folds) folds.append(py::make_tuple(int_array(f.first), int_array(f.second)));
    return py::make_tuple(u.name, dataset_tuple(std::move(u.data)), int_array(u.train),
                          int_array(u.validation), folds);
  });
  m.def("load_dataset",
        [](const std::string& p, const std::string& format, int64_t label_column, int64_t num_features,
           const std::string& split, const std::string& labels_path, int64_t max_per_class, uint64_t seed) {
          io::DatasetOptions o;
          o.format = io::parse_dataset_format(format);
          o.label_column = label_column;
          o.num_features = num_features;
          o.split = split;
          o.labels_path = labels_path;
          o.max_per_class = max_per_class;
          o.seed = seed;
          return dataset_tuple(io::load_dataset(p, o));
        });
  m.def("downsample_images", [](const DArr& x, int64_t factor) {
    Tensor t = to_tensor(x);
    return own_tensor(io::downsample_images(t, factor));
  });
  m.def("standardizer_fit", [](const DArr& x) {
    io::Standardizer s = io::Standardizer::fit(to_tensor(x));
    return py::make_tuple(s.mean, s.scale, s.per_channel);
  });

  // equivalence experiment
  m.def("equivalence", &equivalence);
}
