// See numeric_guard.h.
#include "kernel/numeric_guard.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <vector>

#include "kernel/reference_engine.h"
#include "ntk/engine_registry.h"
#include "ntk/error.h"

namespace ntk {

int homogeneous_degree(const Architecture& arch) {
  int d = 1;
  std::vector<int> forks;
  for (const ArchOp& op : arch.ops()) {
    if (op.kind == ArchOp::Kind::kFork) {
      forks.push_back(d);
      continue;
    }
    if (op.kind == ArchOp::Kind::kJoin) {
      if (forks.empty() || forks.back() != d) return -1;
      forks.pop_back();
      continue;
    }
    const LayerStep st = op.layer->step();
    switch (st.kind) {
      case StepKind::kDense:
      case StepKind::kConv:
        if (st.affine.b_std != 0 && d != 0) return -1;
        break;
      case StepKind::kLayerNorm:
        d = 0;
        break;
      case StepKind::kActivation:
        if (st.act.kind == ActKind::kSign)
          d = 0;
        else if (st.act.kind != ActKind::kABRelu && d != 0)
          return -1;
        break;
      case StepKind::kAvgPool:
      case StepKind::kGap:
      case StepKind::kFlatten:
      case StepKind::kIdentity:
        break;
    }
  }
  return d;
}

namespace {

double max_abs(const Tensor& x) {
  double m = 0;
  for (const double v : x.data) m = std::max(m, std::abs(v));
  return m;
}

Tensor scaled_copy(const Tensor& x, int e) {
  Tensor y = x;
  for (double& v : y.data) v = std::ldexp(v, e);
  return y;
}

class GuardedEngine final : public KernelEngine {
 public:
  GuardedEngine(const Architecture& arch, const Tensor& x1, const Tensor* x2, const KernelOptions& options)
      : arch_(arch), x1_(&x1), x2_(x2), options_(options) {
    const int degree = homogeneous_degree(arch);
    const double m = std::max(max_abs(x1), x2 ? max_abs(*x2) : 0.0);
    if (degree >= 0 && m > 0 && (m > 0x1p16 || m < 0x1p-16)) {
      const int e = std::ilogb(m);
      scaled1_ = std::make_unique<Tensor>(scaled_copy(x1, -e));
      x1_ = scaled1_.get();
      if (x2) {
        scaled2_ = std::make_unique<Tensor>(scaled_copy(*x2, -e));
        x2_ = scaled2_.get();
      }
      out_exp2_ = 2 * degree * e;
    }
    const EngineCase c{arch_, *x1_, x2_, options_};
    inner_ = select_engine(c).create(c);
  }

  std::string name() const override { return inner_->name(); }
  int64_t rows() const override { return inner_->rows(); }
  int64_t cols() const override { return inner_->cols(); }
  bool symmetric() const override { return inner_->symmetric(); }
  void prepare() override { inner_->prepare(); }
  int64_t bytes_per_pair() const override { return inner_->bytes_per_pair(); }
  int64_t prepared_bytes() const override {
    const int64_t copies = scaled1_ ? (x1_->size() + (x2_ ? x2_->size() : 0)) * 8 : 0;
    return inner_->prepared_bytes() + copies;
  }
  DType dtype() const override { return inner_->dtype(); }
  int64_t preferred_tile() const override { return inner_->preferred_tile(); }

  void compute_tile(const TileSpec& tile, void* nngp, void* ntk, int64_t ld) const override {
    inner_->compute_tile(tile, nngp, ntk, ld);
    if (dtype() == DType::kFloat32) {
      check(tile, static_cast<float*>(nngp), ld, "NNGP");
      check(tile, static_cast<float*>(ntk), ld, "NTK");
    } else {
      check(tile, static_cast<double*>(nngp), ld, "NNGP");
      check(tile, static_cast<double*>(ntk), ld, "NTK");
    }
  }

 private:
  // Scales the tile by 2^out_exp2_ and checks every entry: one pass over memory the engine just wrote, rows
  // on the job's threads. Entries must be finite and, when scaled, stay normal numbers (the scaling is exact
  // only there). On the diagonal of a symmetric kernel, a self-kernel below the dtype's normal range for a
  // nonzero input means the values underflowed somewhere: that is traced too.
  template <class T>
  void check(const TileSpec& tile, T* out, int64_t ld, const char* which) const {
    if (!out) return;
    const int64_t nr = tile.row_end - tile.row_begin, nc = tile.col_end - tile.col_begin;
    const T lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
    struct Bad {
      int64_t a = -1, b = -1;
      double value = 0, scaled = 0;
    } bad;
#pragma omp parallel for schedule(static) num_threads(options_.ctx.num_threads())
    for (int64_t a = 0; a < nr; ++a) {
      T* row = out + a * ld;
      int64_t bad_col = -1;
      T bad_value = 0, bad_scaled = 0;
      if (out_exp2_ != 0) {
        for (int64_t b = 0; b < nc; ++b) {
          const T v = row[b], w = std::ldexp(v, out_exp2_);
          if (bad_col < 0 && (!std::isfinite(v) || (v != 0 && !(std::abs(w) >= lo && std::abs(w) <= hi))))
            bad_col = b, bad_value = v, bad_scaled = w;
          row[b] = w;
        }
      } else {
        T acc = 0;
        for (int64_t b = 0; b < nc; ++b) acc += row[b] * T(0);  // NaN iff some entry is Inf or NaN
        if (acc != acc)
          for (int64_t b = 0; b < nc && bad_col < 0; ++b)
            if (!std::isfinite(row[b])) bad_col = b, bad_value = bad_scaled = row[b];
      }
      if (bad_col < 0) continue;
#pragma omp critical(ntk_numeric_guard)
      if (bad.a < 0 || a < bad.a) bad = Bad{a, bad_col, double(bad_value), double(bad_scaled)};
    }
    if (bad.a >= 0) fail(tile.row_begin + bad.a, tile.col_begin + bad.b, bad.value, bad.scaled, which);
    if (!symmetric()) return;
    for (int64_t i = std::max(tile.row_begin, tile.col_begin); i < std::min(tile.row_end, tile.col_end);
         ++i) {
      const T d = out[(i - tile.row_begin) * ld + (i - tile.col_begin)];
      if (std::abs(d) >= lo) continue;
      bool zero_input = true;
      for (int64_t k = 0; k < x1_->row_size(); ++k) zero_input = zero_input && x1_->row(i)[k] == 0;
      if (!zero_input) underflow(i, which);
    }
  }

  // A self-kernel K(x_i, x_i) below the normal range: find the op where the float64 trace leaves it. Values
  // that are exactly zero in float64 too (a zero weight scale, sign of a symmetric input) are right.
  void underflow(int64_t i, const char* which) const {
    const bool f32 = dtype() == DType::kFloat32;
    const double lo = f32 ? double(FLT_MIN) : DBL_MIN;
    for (const OpMagnitude& m : trace_self_pair(arch_, *x1_, i, options_)) {
      const double peak = std::max(m.nngp, m.ntk);
      if (peak == 0) return;  // exactly zero from here on: nothing was lost
      if (peak < lo)
        NTK_THROW(
            "kernel: the %s of x1 example %lld underflows %s after %s: its values fall to %.3g (%s's "
            "smallest normal number is %.3g)%s",
            which, (long long)i, f32 ? "float32" : "float64", op_name(m.op).c_str(), peak,
            f32 ? "float32" : "float64", lo, f32 ? "; use dtype float64" : "");
    }
  }

  std::string op_name(size_t op) const {
    if (op == kInputCovariance) return "the input covariance x·x'/C";
    const ArchOp& o = arch_.ops()[op];
    return strprintf("op %zu (%s)", op + 1, o.layer ? o.layer->describe().c_str() : "residual join");
  }

  // value: the entry as the engine computed it (of the rescaled inputs), scaled: after the output scaling.
  [[noreturn]] void fail(int64_t i, int64_t j, double value, double scaled, const char* which) const {
    const bool f32 = dtype() == DType::kFloat32;
    const double limit = f32 ? double(FLT_MAX) : DBL_MAX;
    const char* dt = f32 ? "float32" : "float64";
    const std::string advice = f32 ? "; use dtype float64" : "";
    if (std::isfinite(value)) {
      NTK_THROW(
          "kernel: the %s entry (%lld, %lld) of these inputs is %s %s's range (2^%d times %.3g, the "
          "kernel of the inputs rescaled by a power of two)%s",
          which, (long long)i, (long long)j, std::isinf(scaled) ? "beyond" : "below", dt, out_exp2_, value,
          advice.c_str());
    }
    // Which layer leaves the range: trace the self pairs of the two inputs in float64.
    for (int side = 0; side < 2; ++side) {
      const Tensor& x = side == 0 || !x2_ ? *x1_ : *x2_;
      const int64_t row = side == 0 ? i : j;
      for (const OpMagnitude& m : trace_self_pair(arch_, x, row, options_)) {
        const double peak = std::max(m.nngp, m.ntk);
        if (peak > limit || !std::isfinite(peak)) {
          NTK_THROW(
              "kernel: %s of %s example %lld overflows %s after %s: %s reaches %s (%s holds up "
              "to %.3g)%s",
              m.nngp >= m.ntk ? "the NNGP" : "the NTK", side == 0 ? "x1" : "x2", (long long)row, dt,
              op_name(m.op).c_str(), m.nngp >= m.ntk ? "Σ(x, x)" : "Θ(x, x)",
              std::isfinite(peak) ? strprintf("%.3g", peak).c_str() : "infinity", dt, limit, advice.c_str());
        }
      }
    }
    NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, false,
                          "kernel: the %s entry (%lld, %lld) is %g although both inputs' self-kernels stay "
                          "within %s's range (engine %s); please report this",
                          which, (long long)i, (long long)j, value, dt, name().c_str());
    (void)scaled;
  }

  const Architecture& arch_;
  const Tensor* x1_;
  const Tensor* x2_;
  KernelOptions options_;
  std::unique_ptr<Tensor> scaled1_, scaled2_;
  int out_exp2_ = 0;
  std::unique_ptr<KernelEngine> inner_;
};

}  // namespace

std::unique_ptr<KernelEngine> make_guarded_engine(const Architecture& arch, const Tensor& x1,
                                                  const Tensor* x2, const KernelOptions& options) {
  return std::make_unique<GuardedEngine>(arch, x1, x2, options);
}

}  // namespace ntk
