// Fast engine for fully-connected networks on vectors (N, d): the input Gram x1 x2ᵀ / d is one BLAS call per
// tile (SYRK on the symmetric diagonal blocks), written straight into the output buffer; then one fused pass
// carries each vector of pairs through every layer in registers (dense maps, closed-form activations with
// SLEEF's vector acos/asin/exp, layernorm, residual sums) and writes Σ and Θ over the Gram. No per-layer N x
// N temporaries. Float32 computes in float32 (16 lanes), float64 in float64 (8 lanes).
#include <omp.h>

#include <algorithm>

#include "kernel/fast_common.h"
#include "kernel/fast_engines.h"

// dgemm_/sgemm_/dsyrk_/ssyrk_ are declared by Eigen (EIGEN_USE_BLAS: Eigen/src/misc/blas.h).

namespace ntk::fast {
namespace {

inline void gemm_tn(int m, int n, int k, double alpha, const double* a, int lda, const double* b, int ldb,
                    double* c, int ldc) {
  const double beta = 0;
  dgemm_("T", "N", &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc);
}
inline void gemm_tn(int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
                    float* c, int ldc) {
  const float beta = 0;
  sgemm_("T", "N", &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc);
}
inline void syrk_lt(int n, int k, double alpha, const double* a, int lda, double* c, int ldc) {
  const double beta = 0;
  dsyrk_("L", "T", &n, &k, &alpha, a, &lda, &beta, c, &ldc);
}
inline void syrk_lt(int n, int k, float alpha, const float* a, int lda, float* c, int ldc) {
  const float beta = 0;
  ssyrk_("L", "T", &n, &k, &alpha, a, &lda, &beta, c, &ldc);
}

// x . y / d in double, in index order (as the reference engine's input covariance).
inline double exact_dot(const double* a, const double* b, int64_t d) {
  double acc = 0;
  for (int64_t k = 0; k < d; ++k) acc += a[k] * b[k];
  return acc * (1.0 / static_cast<double>(d));
}

}  // namespace

#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")

namespace {

template <class S>
struct StepConsts {
  using T = typename S::T;
  T w2, b2, n_in, bias;
  ActConsts<S> act;
  explicit StepConsts(const FastStep& st)
      : w2(T(st.w2)), b2(T(st.b2)), n_in(T(st.n_in)), bias(T(st.bias_term)), act(st) {}
};

// The vector program over a plan's steps. Self mode (record != nullptr): the pairs are (x, x) for W inputs at
// once, and each slot's self quantities are computed from the current Σ and stored (A, B at [slot * ld + j])
// before use.
template <class S>
struct FcProgram {
  using T = typename S::T;
  using V = typename S::V;
  using M = typename S::M;
  const FastPlan* plan;
  std::vector<StepConsts<S>> consts;
  bool ntk_param;

  explicit FcProgram(const FastPlan& p) : plan(&p), ntk_param(p.param == Parameterization::kNtk) {
    for (const FastStep& st : p.steps) consts.emplace_back(st);
  }

  static inline void affine(const StepConsts<S>& k, const FastStep& st, bool ntk_param, V& c, V& t,
                            bool with_ntk) {
    const V w2 = S::set1(k.w2);
    const V sigma = w2 * c + S::set1(k.b2);
    if (with_ntk) {
      V own = S::zero();
      if (st.trainable) own = ntk_param ? sigma : S::set1(k.n_in) * c + S::set1(k.bias);
      t = own + w2 * t;
    }
    c = sigma;
  }

  // Pair mode: row input i (scalars A1/B1 at [slot * ld1 + i]), columns j.. (vectors A2/B2 at [slot * ld2 +
  // j]).
  inline void run_pairs(V& c, V& t, bool with_ntk, const T* A1, const T* B1, const T* Q1, int64_t ld1,
                        int64_t i, const T* A2, const T* B2, const T* Q2, int64_t ld2, int64_t j, M m) const {
    V stack_c[8], stack_t[8];
    int sp = 0;
    const size_t n = plan->steps.size();
    for (size_t s = 0; s < n; ++s) {
      const FastStep& st = plan->steps[s];
      const StepConsts<S>& k = consts[s];
      switch (st.kind) {
        case FastStep::kAffine:
          affine(k, st, ntk_param, c, t, with_ntk);
          break;
        case FastStep::kAct: {
          const int64_t o1 = st.slot * ld1 + i, o2 = st.slot * ld2 + j;
          apply_act<S>(st, k.act, c, t, with_ntk, S::set1(A1[o1]), S::set1(B1[o1]), S::set1(Q1[o1]),
                       S::loadm(m, A2 + o2), S::loadm(m, B2 + o2), S::loadm(m, Q2 + o2));
          break;
        }
        case FastStep::kLayerNorm: {
          const V inv = S::set1(B1[st.slot * ld1 + i]) * S::loadm(m, B2 + st.slot * ld2 + j);
          c = c * inv;
          if (with_ntk) t = t * inv;
          break;
        }
        case FastStep::kFork:
          stack_c[sp] = c;
          stack_t[sp] = t;
          ++sp;
          break;
        case FastStep::kJoin:
          --sp;
          c = c + stack_c[sp];
          t = t + stack_t[sp];
          break;
        default:
          break;
      }
    }
  }

  // Self mode for inputs j.. j+W (mask m): records A, B.
  inline void run_self(V c, T* A, T* B, T* Q, int64_t ld, int64_t j, M m) const {
    V stack_c[8];
    int sp = 0;
    V t = S::zero();
    alignas(64) T lanes[S::W], qa[S::W], qb[S::W], qq[S::W];
    for (size_t s = 0; s < plan->steps.size(); ++s) {
      const FastStep& st = plan->steps[s];
      const StepConsts<S>& k = consts[s];
      switch (st.kind) {
        case FastStep::kAffine:
          affine(k, st, ntk_param, c, t, false);
          break;
        case FastStep::kAct:
        case FastStep::kLayerNorm: {
          S::store(lanes, c);
          for (int l = 0; l < S::W; ++l) self_quantities<T>(st, lanes[l], qa[l], qb[l], qq[l]);
          const int64_t o = st.slot * ld + j;
          S::storem(A + o, m, S::load(qa));
          S::storem(B + o, m, S::load(qb));
          S::storem(Q + o, m, S::load(qq));
          const V a = S::loadm(m, A + o), b = S::loadm(m, B + o), q = S::loadm(m, Q + o);
          if (st.kind == FastStep::kAct) {
            apply_act<S>(st, k.act, c, t, false, a, b, q, a, b, q);
          } else {
            c = c * (b * b);
          }
          break;
        }
        case FastStep::kFork:
          stack_c[sp++] = c;
          break;
        case FastStep::kJoin:
          c = c + stack_c[--sp];
          break;
        default:
          break;
      }
    }
  }
};

template <class T>
class FcEngine final : public KernelEngine {
  using S = Simd<T>;
  using V = typename S::V;
  using M = typename S::M;

 public:
  FcEngine(FastPlan plan, const Tensor& x1, const Tensor* x2, const KernelOptions& options)
      : plan_(std::move(plan)),
        x1_(x1),
        x2_(x2 ? *x2 : x1),
        symmetric_(x2 == nullptr),
        options_(options),
        program_(plan_) {
    d_ = x1_.row_size();
  }

  int64_t rows() const override { return x1_.rows(); }
  int64_t cols() const override { return x2_.rows(); }
  bool symmetric() const override { return symmetric_; }
  DType dtype() const override { return std::is_same<T, float>::value ? DType::kFloat32 : DType::kFloat64; }
  int64_t bytes_per_pair() const override { return 2 * static_cast<int64_t>(sizeof(T)); }
  int64_t prepared_bytes() const override {
    const int64_t inputs = x1_.rows() + (symmetric_ ? 0 : x2_.rows());
    int64_t b = inputs * (3 * plan_.slots + 1) * static_cast<int64_t>(sizeof(T));
    if (std::is_same<T, float>::value) b += inputs * d_ * static_cast<int64_t>(sizeof(float));
    return b;
  }

  void prepare() override {
    prepare_side(x1_, side1_);
    if (!symmetric_) prepare_side(x2_, side2_);
  }

  void compute_tile(const TileSpec& tile, void* nngp_out, void* ntk_out, int64_t ld) const override {
    T* nngp = static_cast<T*>(nngp_out);
    T* ntk = static_cast<T*>(ntk_out);
    T* G = nngp ? nngp : ntk;
    if (!G) return;
    const Side& s1 = side1_;
    const Side& s2 = symmetric_ ? side1_ : side2_;
    const int64_t r0 = tile.row_begin, r1 = tile.row_end, c0 = tile.col_begin, c1 = tile.col_end;
    const int64_t nr = r1 - r0, nc = c1 - c0;
    if (nr <= 0 || nc <= 0) return;
    NTK_THROW_IF_NOT(r0 >= 0 && r1 <= rows() && c0 >= 0 && c1 <= cols() && ld >= nc, "bad tile");
    // Input Gram into G (row-major = column-major transposed).
    const int d = static_cast<int>(d_), ldc = static_cast<int>(ld);
    const T alpha = static_cast<T>(1.0 / static_cast<double>(d_));
    const bool square = symmetric_ && r0 == c0 && r1 == c1;
    if (square)
      syrk_lt(static_cast<int>(nr), d, alpha, s1.data(r0, d_), d, G, ldc);
    else
      gemm_tn(static_cast<int>(nc), static_cast<int>(nr), d, alpha, s2.data(c0, d_), d, s1.data(r0, d_), d, G,
              ldc);

    const bool with_ntk = ntk != nullptr;
    const T thr = std::is_same<T, float>::value ? T(1 - 1e-4) : T(1 - 1e-9);
    auto skip_range = [&](int64_t i, int64_t& lo, int64_t& hi) {
      lo = hi = c0;
      if (symmetric_ && i >= c0 && i < c1) {
        lo = std::max(c0, r0);
        hi = std::min(i, r1);
        if (hi < lo) hi = lo;
      }
    };
#pragma omp parallel for schedule(dynamic, 8) num_threads(options_.ctx.num_threads())
    for (int64_t a = 0; a < nr; ++a) {
      const int64_t i = r0 + a;
      int64_t lo, hi;
      skip_range(i, lo, hi);
      const int64_t ranges[2][2] = {{c0, lo}, {hi, c1}};
      const V v01 = S::set1(s1.v0[i]), vthr = S::set1(thr);
      for (const auto& rg : ranges) {
        for (int64_t j = rg[0]; j < rg[1]; j += S::W) {
          const M m = S::tail(rg[1] - j);
          T* g = G + a * ld + (j - c0);
          V c = S::loadm(m, g);
          // Nearly (anti-)parallel inputs: recompute the input covariance exactly as the self-variances were,
          // so that equal inputs have correlation exactly 1.
          const M near = S::gt(c * c, vthr * v01 * S::loadm(m, s2.v0.data() + j)) & m;
          if (near) {
            alignas(64) T lanes[S::W];
            S::store(lanes, c);
            for (int l = 0; l < S::W; ++l)
              if ((near >> l) & 1) lanes[l] = static_cast<T>(exact_dot(x1_.row(i), x2_.row(j + l), d_));
            c = S::load(lanes);
          }
          V t = S::zero();
          program_.run_pairs(c, t, with_ntk, s1.A.data(), s1.B.data(), s1.Q.data(), s1.ld, i, s2.A.data(),
                             s2.B.data(), s2.Q.data(), s2.ld, j, m);
          if (nngp) S::storem(nngp + a * ld + (j - c0), m, c);
          if (ntk) S::storem(ntk + a * ld + (j - c0), m, t);
        }
      }
    }
    // Mirror the entries whose transposes lie in the tile, in cache blocks.
    if (symmetric_) {
      const int64_t bs = 64;
      const int64_t lo = std::max(c0, r0), hi = std::min(r1, c1);  // the square block on the diagonal
      const int64_t nb = (hi - lo + bs - 1) / bs;
#pragma omp parallel for schedule(dynamic, 1) num_threads(options_.ctx.num_threads())
      for (int64_t q = 0; q < nb * nb; ++q) {
        const int64_t bi = q / nb, bj = q % nb;
        if (bj > bi) continue;
        const int64_t i0 = lo + bi * bs, i1 = std::min(hi, i0 + bs), j0 = lo + bj * bs,
                      j1 = std::min(hi, j0 + bs);
        for (T* m : {nngp, ntk}) {
          if (!m) continue;
          for (int64_t i = i0; i < i1; ++i)
            for (int64_t j = j0; j < std::min(j1, i); ++j)
              m[(i - r0) * ld + (j - c0)] = m[(j - r0) * ld + (i - c0)];
        }
      }
    }
  }

 private:
  struct Side {
    std::vector<float> xf;  // float copy of the inputs (float32 Gram)
    const double* xd = nullptr;
    std::vector<T> v0;       // x . x / d, padded
    std::vector<T> A, B, Q;  // self quantities (see self_quantities): [slot * ld + input]
    int64_t ld = 0;
    const T* data(int64_t row, int64_t d) const {
      if constexpr (std::is_same<T, float>::value)
        return xf.data() + row * d;
      else
        return xd + row * d;
    }
  };

  void prepare_side(const Tensor& x, Side& side) {
    const int64_t n = x.rows();
    side.ld = (n + S::W - 1) / S::W * S::W + S::W;
    side.xd = x.data.data();
    if constexpr (std::is_same<T, float>::value) {
      side.xf.resize(static_cast<size_t>(x.size()));
      for (int64_t q = 0; q < x.size(); ++q) side.xf[q] = static_cast<float>(x.data[q]);
    }
    side.v0.assign(side.ld, T(1));
    side.A.assign(static_cast<size_t>(std::max(plan_.slots, 1)) * side.ld, T(0));
    side.B.assign(side.A.size(), T(0));
    side.Q.assign(side.A.size(), T(0));
#pragma omp parallel for schedule(static) num_threads(options_.ctx.num_threads())
    for (int64_t i = 0; i < n; ++i) side.v0[i] = static_cast<T>(exact_dot(x.row(i), x.row(i), d_));
    const int64_t blocks = (n + S::W - 1) / S::W;
#pragma omp parallel for schedule(static) num_threads(options_.ctx.num_threads())
    for (int64_t bk = 0; bk < blocks; ++bk) {
      const int64_t j = bk * S::W;
      const M m = S::tail(n - j);
      program_.run_self(S::loadm(m, side.v0.data() + j), side.A.data(), side.B.data(), side.Q.data(), side.ld,
                        j, m);
    }
  }

  FastPlan plan_;
  const Tensor& x1_;
  const Tensor& x2_;
  bool symmetric_;
  KernelOptions options_;
  FcProgram<S> program_;
  int64_t d_ = 0;
  Side side1_, side2_;
};

}  // namespace

#pragma GCC pop_options

std::unique_ptr<KernelEngine> make_fc_engine(const Architecture& arch, const Tensor& x1, const Tensor* x2,
                                             const KernelOptions& options, std::string* why) {
  const ExampleShape in = example_shape_of(x1, "x1");
  FastPlan plan = compile_plan(arch, in, options.parameterization, false);
  if (!plan.ok || plan.max_stack > 8) {
    if (why) *why = plan.ok ? "residual blocks nested deeper than 8" : plan.why;
    return nullptr;
  }
  if (x2) {
    const ExampleShape s2 = example_shape_of(*x2, "x2");
    if (s2.spatial || s2.channels != in.channels) {
      if (why) *why = "x1 and x2 have different shapes";
      return nullptr;
    }
  }
  if (x1.row_size() > (int64_t{1} << 30) || x1.rows() > (int64_t{1} << 30)) {
    if (why) *why = "too large for 32-bit BLAS";
    return nullptr;
  }
  if (options.ctx.dtype == DType::kFloat32)
    return std::make_unique<FcEngine<float>>(std::move(plan), x1, x2, options);
  return std::make_unique<FcEngine<double>>(std::move(plan), x1, x2, options);
}

}  // namespace ntk::fast
