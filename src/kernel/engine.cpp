// Reference kernel engine (registry entry "reference"): for each pair of inputs, carry the pair state (Σ, Θ
// over pairs of positions, or only their diagonal when no layer mixes positions) through the ops of the
// architecture. Per-input self-variances are computed once in prepare(). Pairs are independent, so results do
// not depend on the thread count.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernel/numeric_guard.h"
#include "kernel/reference_engine.h"
#include "ntk/error.h"
#include "ntk/kernel_engine.h"
#include "ntk/parallel.h"
#include "ntk/progress.h"
#include "ntk/tile_driver.h"

namespace ntk {

Parameterization parse_parameterization(const std::string& name) {
  if (name == "ntk") return Parameterization::kNtk;
  if (name == "standard") return Parameterization::kStandard;
  if (name == "mup") return Parameterization::kMup;
  NTK_THROW("unknown parameterization '%s'; valid: ntk, standard, mup", name.c_str());
}

const char* parameterization_name(Parameterization p) {
  switch (p) {
    case Parameterization::kNtk:
      return "ntk";
    case Parameterization::kStandard:
      return "standard";
    default:
      return "mup";
  }
}

void check_kernel_parameterization(Parameterization p) {
  NTK_THROW_IF_NOT(
      p != Parameterization::kMup,
      "parameterization mup has no kernel: an infinitely wide muP network learns features (its "
      "NTK moves by O(1) during training), so no fixed kernel describes its training; its NTK at "
      "initialisation is the ntk parameterization's and its NNGP is 0 (docs/feature-learning.md). "
      "Use parameterization ntk or standard for kernels; mup is for finite networks");
}

namespace {

template <typename T>
class ReferenceEngine final : public KernelEngine {
 public:
  ReferenceEngine(const Architecture& arch, const Tensor& x1, const Tensor* x2, const KernelOptions& options)
      : arch_(arch), x1_(x1), x2_(x2 ? *x2 : x1), symmetric_(x2 == nullptr), options_(options) {
    in_shape_ = example_shape_of(x1_, "x1");
    if (!symmetric_) {
      ExampleShape s2 = example_shape_of(x2_, "x2");
      NTK_THROW_IF_NOT(s2.spatial == in_shape_.spatial && s2.height == in_shape_.height &&
                           s2.width == in_shape_.width && s2.channels == in_shape_.channels,
                       "x1 and x2 have different example shapes: x1 %s, x2 %s", x1_.shape_string().c_str(),
                       x2_.shape_string().c_str());
    }
    NTK_THROW_IF_NOT(options_.nngp || options_.ntk, "nothing to compute: ask for the NNGP, the NTK or both");
    shapes_ = arch_.infer_shapes(in_shape_);
    const ExampleShape& out = shapes_.back();
    NTK_THROW_IF_NOT(!out.spatial,
                     "the network's output is still an image %s: end it with flatten or gap (and a "
                     "dense readout) to get one kernel value per pair",
                     out.to_string().c_str());
    diagonal_ = in_shape_.spatial && !arch_.has_position_mixing();
    cfg_.parameterization = options_.parameterization;
    for (size_t k = 0; k < arch_.ops().size(); ++k)
      if (arch_.ops()[k].kind == ArchOp::Kind::kLayer && arch_.ops()[k].layer->needs_variances())
        variance_slot_.push_back(static_cast<int>(k));
  }

  std::string name() const override { return "reference"; }
  int64_t rows() const override { return x1_.rows(); }
  int64_t cols() const override { return x2_.rows(); }
  bool symmetric() const override { return symmetric_; }
  DType dtype() const override { return std::is_same<T, float>::value ? DType::kFloat32 : DType::kFloat64; }

  int64_t state_values() const {
    const int64_t p = in_shape_.positions();
    return diagonal_ ? p : p * p;
  }
  int64_t bytes_per_pair() const override { return 4 * state_values() * static_cast<int64_t>(sizeof(T)); }
  int64_t prepared_bytes() const override {
    const int64_t inputs = x1_.rows() + (symmetric_ ? 0 : x2_.rows());
    return inputs * static_cast<int64_t>(variance_slot_.size()) * in_shape_.positions() *
           static_cast<int64_t>(sizeof(T));
  }

  void prepare() override {
    auto run_self = [&](const Tensor& x, std::vector<std::vector<std::vector<T>>>& out) {
      out.assign(x.rows(), {});
      OmpExceptions errors;
#pragma omp parallel for schedule(dynamic) num_threads(options_.ctx.num_threads())
      for (int64_t i = 0; i < x.rows(); ++i)
        errors.run([&] { run_pair(x.row(i), x.row(i), nullptr, nullptr, &out[i]); });
      errors.rethrow();
    };
    run_self(x1_, self1_);
    if (!symmetric_) run_self(x2_, self2_);
  }

  // The self pair (x1 row i, itself) op by op, without prepare().
  std::vector<OpMagnitude> trace_self(int64_t i) const {
    std::vector<OpMagnitude> trace;
    run_pair(x1_.row(i), x1_.row(i), nullptr, nullptr, nullptr, nullptr, &trace);
    return trace;
  }

  void compute_tile(const TileSpec& tile, void* nngp_out, void* ntk_out, int64_t ld) const override {
    T* nngp = static_cast<T*>(nngp_out);
    T* ntk = static_cast<T*>(ntk_out);
    const auto& s2 = symmetric_ ? self1_ : self2_;
    const int64_t nr = tile.row_end - tile.row_begin, nc = tile.col_end - tile.col_begin;
    OmpExceptions errors;
#pragma omp parallel for collapse(2) schedule(dynamic, 4) num_threads(options_.ctx.num_threads())
    for (int64_t a = 0; a < nr; ++a)
      for (int64_t b = 0; b < nc; ++b)
        errors.run([&] {
          const int64_t i = tile.row_begin + a, j = tile.col_begin + b;
          T out_nngp = 0, out_ntk = 0;
          run_pair_values(i, j, s2, out_nngp, out_ntk);
          if (nngp) nngp[a * ld + b] = out_nngp;
          if (ntk) ntk[a * ld + b] = out_ntk;
        });
    errors.rethrow();
  }

 private:
  void run_pair_values(int64_t i, int64_t j, const std::vector<std::vector<std::vector<T>>>& s2, T& nngp,
                       T& ntk) const {
    PairState<T> s;
    run_pair(x1_.row(i), x2_.row(j), &self1_[i], &s2[j], nullptr, &s);
    nngp = s.nngp[0];
    ntk = s.ntk.empty() ? T(0) : s.ntk[0];
  }

  // Initial pair state: Σ0(p, q) = x(p) . x'(q) / C (neural-tangents' input covariance), Θ0 = 0.
  void init_state(const double* a, const double* b, PairState<T>& s) const {
    const int64_t c = in_shape_.channels, p = in_shape_.positions();
    s.spatial = in_shape_.spatial;
    s.diagonal = diagonal_;
    s.gaussian = true;
    s.h1 = s.h2 = in_shape_.height;
    s.w1 = s.w2 = in_shape_.width;
    const double inv_c = 1.0 / static_cast<double>(c);
    if (!s.spatial || diagonal_) {
      s.nngp.resize(p);
      for (int64_t q = 0; q < p; ++q) {
        double acc = 0;
        for (int64_t ch = 0; ch < c; ++ch) acc += a[q * c + ch] * b[q * c + ch];
        s.nngp[q] = static_cast<T>(acc * inv_c);
      }
    } else {
      s.nngp.resize(p * p);
      for (int64_t q1 = 0; q1 < p; ++q1)
        for (int64_t q2 = 0; q2 < p; ++q2) {
          double acc = 0;
          for (int64_t ch = 0; ch < c; ++ch) acc += a[q1 * c + ch] * b[q2 * c + ch];
          s.nngp[q1 * p + q2] = static_cast<T>(acc * inv_c);
        }
    }
    if (options_.ntk) s.ntk.assign(s.nngp.size(), T(0));
  }

  static OpMagnitude magnitude_of(const PairState<T>& s, size_t op) {
    OpMagnitude m;
    m.op = op;
    for (const T v : s.nngp) m.nngp = std::isfinite(v) ? std::max(m.nngp, std::abs(double(v))) : INFINITY;
    for (const T v : s.ntk) m.ntk = std::isfinite(v) ? std::max(m.ntk, std::abs(double(v))) : INFINITY;
    return m;
  }

  static std::vector<T> diagonal_of(const PairState<T>& s) {
    if (!s.spatial || s.diagonal) return s.nngp;
    const int64_t p = s.p1();
    std::vector<T> d(p);
    for (int64_t i = 0; i < p; ++i) d[i] = s.nngp[i * p + i];
    return d;
  }

  // Runs one pair. For a self pair (v1 == nullptr), the variances are read off the state itself and recorded
  // in *record (one vector per op that needs them). The final state is left in *final_state when given.
  void run_pair(const double* a, const double* b, const std::vector<std::vector<T>>* v1,
                const std::vector<std::vector<T>>* v2, std::vector<std::vector<T>>* record,
                PairState<T>* final_state = nullptr, std::vector<OpMagnitude>* trace = nullptr) const {
    PairState<T> s;
    init_state(a, b, s);
    if (trace) trace->push_back(magnitude_of(s, kInputCovariance));
    std::vector<PairState<T>> stack;
    size_t slot = 0;
    const auto& ops = arch_.ops();
    for (size_t k = 0; k < ops.size(); ++k) {
      const ArchOp& op = ops[k];
      if (op.kind == ArchOp::Kind::kFork) {
        stack.push_back(s);
        continue;
      }
      if (op.kind == ArchOp::Kind::kJoin) {
        // x + block(x): neural-tangents' FanInSum adds the kernels of the two branches.
        const PairState<T>& skip = stack.back();
        for (size_t q = 0; q < s.nngp.size(); ++q) s.nngp[q] += skip.nngp[q];
        for (size_t q = 0; q < s.ntk.size(); ++q) s.ntk[q] += skip.ntk[q];
        s.gaussian = s.gaussian && skip.gaussian;
        stack.pop_back();
        continue;
      }
      SelfVariances<T> vars;
      std::vector<T> own;
      if (op.layer->needs_variances()) {
        if (v1 == nullptr) {
          own = diagonal_of(s);
          vars.var1 = vars.var2 = own.data();
          if (record) record->push_back(own);
        } else {
          vars.var1 = (*v1)[slot].data();
          vars.var2 = (*v2)[slot].data();
        }
        ++slot;
      }
      op.layer->kernel(s, vars, shapes_[k], cfg_);
      if (trace) trace->push_back(magnitude_of(s, k));
    }
    if (final_state) *final_state = std::move(s);
  }

  const Architecture& arch_;
  const Tensor& x1_;
  const Tensor& x2_;
  bool symmetric_;
  KernelOptions options_;
  KernelConfig cfg_;
  ExampleShape in_shape_;
  std::vector<ExampleShape> shapes_;
  bool diagonal_ = false;
  std::vector<int> variance_slot_;
  std::vector<std::vector<std::vector<T>>> self1_, self2_;  // [input][slot][position]
};

void check_finite_input(const Tensor& x, const char* what, int threads) {
  const int64_t i = first_non_finite(x.data.data(), x.size(), threads);
  NTK_THROW_IF_NOT(i == x.size(), "%s: non-finite value (%g) at example %lld", what, x.data[i],
                   static_cast<long long>(x.row_size() ? i / x.row_size() : 0));
}

}  // namespace

std::vector<OpMagnitude> trace_self_pair(const Architecture& arch, const Tensor& x, int64_t row,
                                         const KernelOptions& options) {
  std::vector<int64_t> shape = x.shape;
  shape[0] = 1;
  const Tensor one(shape, std::vector<double>(x.row(row), x.row(row) + x.row_size()));
  KernelOptions o = options;
  o.ctx.dtype = DType::kFloat64;
  o.nngp = o.ntk = true;
  return ReferenceEngine<double>(arch, one, nullptr, o).trace_self(0);
}

std::unique_ptr<KernelEngine> make_reference_engine(const EngineCase& c) {
  if (c.options.ctx.dtype == DType::kFloat32)
    return std::make_unique<ReferenceEngine<float>>(c.arch, c.x1, c.x2, c.options);
  return std::make_unique<ReferenceEngine<double>>(c.arch, c.x1, c.x2, c.options);
}

void register_reference_engine(EngineRegistry& registry) {
  EngineInfo e;
  e.name = "reference";
  e.family = "reference";
  e.device = Device::kCpu;
  e.description =
      "every layer's own map on the pair state, pair by pair: every architecture, the ground truth";
  // Runs every valid case: invalid ones fail in create() with the layer's own message.
  e.why_not = [](const EngineCase&) { return std::string(); };
  e.create = make_reference_engine;
  registry.add(std::move(e));
}

std::unique_ptr<KernelEngine> KernelEngine::create(const Architecture& arch, const Tensor& x1,
                                                   const Tensor* x2, const KernelOptions& options) {
  check_kernel_parameterization(options.parameterization);
  check_finite_input(x1, "x1", options.ctx.num_threads());
  if (x2) check_finite_input(*x2, "x2", options.ctx.num_threads());
  return make_guarded_engine(arch, x1, x2, options);
}

Kernels compute_kernels(const Architecture& arch, const Tensor& x1, const Tensor* x2,
                        const KernelOptions& options) {
  auto engine = KernelEngine::create(arch, x1, x2, options);
  const int threads = options.ctx.num_threads();
  check_memory(
      memory_need(*engine, x1, x2, threads, true, options.nngp, options.ntk), 0,
      "use fewer inputs per call, or the on-disk tiled job (run_tiled_kernel_job, `ntk kernel --out`)");
  engine->prepare();
  const int64_t n1 = engine->rows(), n2 = engine->cols();
  Kernels k;
  k.engine = engine->name();
  if (options.nngp) k.nngp.resize(n1, n2);
  if (options.ntk) k.ntk.resize(n1, n2);
  TileHooks hooks;
  hooks.progress = options.ctx.progress;
  // The same tile plan as the on-disk tiled job and Python: the kernels are bit-identical.
  const TilePlan plan = plan_tiles(*engine);
  if (engine->dtype() == DType::kFloat32) {
    std::vector<float> f_nngp(options.nngp ? n1 * n2 : 0), f_ntk(options.ntk ? n1 * n2 : 0);
    BufferSink sink(options.nngp ? f_nngp.data() : nullptr, options.ntk ? f_ntk.data() : nullptr, n2,
                    DType::kFloat32);
    run_tiles(*engine, plan, sink, hooks, threads);
    for (int64_t i = 0; i < n1 * n2; ++i) {
      if (options.nngp) k.nngp.data()[i] = f_nngp[i];
      if (options.ntk) k.ntk.data()[i] = f_ntk[i];
    }
  } else {
    BufferSink sink(options.nngp ? k.nngp.data() : nullptr, options.ntk ? k.ntk.data() : nullptr, n2,
                    DType::kFloat64);
    run_tiles(*engine, plan, sink, hooks, threads);
  }
  return k;
}

Kernels compute_kernels(const std::string& arch_spec, const Tensor& x1, const Tensor* x2,
                        const KernelOptions& options) {
  return compute_kernels(Architecture::parse(arch_spec), x1, x2, options);
}

}  // namespace ntk
