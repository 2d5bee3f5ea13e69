// Fast engine for fully-connected networks on vectors (N, d): the input Gram x1 x2ᵀ / d is one BLAS call per
// tile (SYRK on the symmetric diagonal tiles), written straight into the output buffer; then one fused pass
// carries blocks of pairs through every layer in registers (dense maps, closed-form activations with the
// inline acos/sqrt of fast_math.h and SLEEF's asin/exp, quadrature activations pair by pair on SLEEF's
// tanh/exp/expm1/log1p, layernorm, residual sums) and writes Σ and Θ over the
// Gram. No per-layer N x N temporaries. Float32 computes in float32 (16 lanes), float64 in float64 (8 lanes).
//
// Included by fast_fc_<isa>.cpp inside the ISA's target region (see fast_isa.h).
#pragma once

#include "kernel/fast_common.h"

namespace ntk::fast {
namespace NTK_ISA {
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

// exact_dot(x_r, x_r, d) for the `rows` consecutive rows at x (rows <= kSelfRows), bit for bit: each row's
// sum runs in index order as there, but the rows' chains run side by side instead of one add latency per
// term.
constexpr int kSelfRows = 8;
inline void exact_self_dots(const double* x, int64_t rows, int64_t d, double* dots) {
  double acc[kSelfRows] = {};
  if (rows == kSelfRows) {  // constant trip count: the accumulators stay in registers
    for (int64_t k = 0; k < d; ++k)
      for (int r = 0; r < kSelfRows; ++r) acc[r] += x[r * d + k] * x[r * d + k];
  } else {
    for (int64_t k = 0; k < d; ++k)
      for (int64_t r = 0; r < rows; ++r) acc[r] += x[r * d + k] * x[r * d + k];
  }
  for (int64_t r = 0; r < rows; ++r) dots[r] = acc[r] * (1.0 / static_cast<double>(d));
}

}  // namespace

namespace {

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

  // Pair mode for a block of R rows i0.. i0+R-1 (scalars A1/B1/Q1 at [slot * ld1 + i]) against the columns
  // j.. j+W-1 (vectors A2/B2/Q2 at [slot * ld2 + j], mask m). The R rows advance through each step together:
  // their dependency chains are independent, so the core overlaps them (one vector alone would wait on the
  // latency of every polynomial and square root).
  // Only rows < `rows` hold pairs: a quadrature activation skips the others (copies of the last row).
  template <int R>
  inline void run_block(V* c, V* t, bool with_ntk, const T* A1, const T* B1, const T* Q1, int64_t ld1,
                        int64_t i0, int64_t rows, const T* A2, const T* B2, const T* Q2, int64_t ld2,
                        int64_t j, M m) const {
    V stack_c[8][R], stack_t[8][R];
    int sp = 0;
    const size_t n = plan->steps.size();
    for (size_t s = 0; s < n; ++s) {
      const FastStep& st = plan->steps[s];
      const StepConsts<S>& k = consts[s];
      switch (st.kind) {
        case FastStep::kAffine:
#pragma GCC unroll 8
          for (int r = 0; r < R; ++r) math::affine_map<S>(k.affine, ntk_param, c[r], t[r], with_ntk);
          break;
        case FastStep::kAct: {
          const int64_t o1 = st.slot * ld1 + i0, o2 = st.slot * ld2 + j;
          const V a2 = S::loadm(m, A2 + o2), b2 = S::loadm(m, B2 + o2), q2 = S::loadm(m, Q2 + o2);
          if (st.act.kind == ActKind::kABRelu) {
            if (k.act.abrelu.relu)
              arc_cosine_rows<S, R, true>(k.act.abrelu, c, t, with_ntk, A1 + o1, B1 + o1, Q1 + o1, a2, b2,
                                          q2);
            else
              arc_cosine_rows<S, R, false>(k.act.abrelu, c, t, with_ntk, A1 + o1, B1 + o1, Q1 + o1, a2, b2,
                                           q2);
          } else {
            for (int r = 0; r < R; ++r)
              apply_act<S>(k, c[r], t[r], with_ntk, S::set1(A1[o1 + r]), S::set1(B1[o1 + r]),
                           S::set1(Q1[o1 + r]), a2, b2, q2, r < rows ? m : M(0));
          }
          break;
        }
        case FastStep::kLayerNorm: {
          const V b2 = S::loadm(m, B2 + st.slot * ld2 + j);
          for (int r = 0; r < R; ++r)
            math::layernorm_map<S>(c[r], t[r], with_ntk, S::set1(B1[st.slot * ld1 + i0 + r]), b2);
          break;
        }
        case FastStep::kFork:
          for (int r = 0; r < R; ++r) stack_c[sp][r] = c[r], stack_t[sp][r] = t[r];
          ++sp;
          break;
        case FastStep::kJoin:
          --sp;
          for (int r = 0; r < R; ++r) c[r] = c[r] + stack_c[sp][r], t[r] = t[r] + stack_t[sp][r];
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
          math::affine_map<S>(k.affine, ntk_param, c, t, false);
          break;
        case FastStep::kAct:
        case FastStep::kLayerNorm: {
          S::store(lanes, c);
          for (int l = 0; l < S::W; ++l)
            math::self_quantities<T>(st.self_kind(), lanes[l], qa[l], qb[l], qq[l]);
          const int64_t o = st.slot * ld + j;
          S::storem(A + o, m, S::load(qa));
          S::storem(B + o, m, S::load(qb));
          S::storem(Q + o, m, S::load(qq));
          const V a = S::loadm(m, A + o), b = S::loadm(m, B + o), q = S::loadm(m, Q + o);
          if (st.kind == FastStep::kAct) {
            apply_act<S>(k, c, t, false, a, b, q, a, b, q, m);
          } else {
            math::layernorm_map<S>(c, t, false, b, b);
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

  std::string name() const override { return "fast-" NTK_STRINGIFY(NTK_ISA); }
  int64_t rows() const override { return x1_.rows(); }
  int64_t cols() const override { return x2_.rows(); }
  bool symmetric() const override { return symmetric_; }
  DType dtype() const override { return std::is_same<T, float>::value ? DType::kFloat32 : DType::kFloat64; }
  // Pairs cost tens of nanoseconds: large tiles keep the Gram one efficient BLAS call and the per-tile
  // bookkeeping of a tiled job (sync, journal) negligible; 2048² pairs are ~0.1-0.3 s. A quadrature
  // activation costs microseconds per pair: smaller tiles, for progress and prompt interruption.
  int64_t preferred_tile() const override {
    for (const FastStep& st : plan_.steps)
      if (st.kind == FastStep::kAct && !math::is_closed_form(st.act.kind)) return 256;
    return 2048;
  }
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
    // Non-temporal stores only for outputs far larger than the caches (they would evict a small kernel that
    // its caller reads next).
    const bool stream =
        nr * nc * static_cast<int64_t>(sizeof(T)) * (nngp && ntk ? 2 : 1) > (int64_t{64} << 20);
    if (square) {
      // Column panels of kPanel: panel [J, J + kPanel) takes the row blocks of kRows above and on the
      // diagonal. A block on the diagonal computes its kRows x kRows square whole from a symmetrized Gram
      // (every step is symmetric in the two inputs, so (i, j) and (j, i) agree bit for bit); every other
      // result is also written to its transposed place, whose rows all lie in the panel: those writes stay
      // within kPanel rows, in cache and in the TLB, instead of sweeping the whole matrix for every row
      // block.
      const int64_t panels = (nr + kPanel - 1) / kPanel;
#pragma omp parallel num_threads(options_.ctx.num_threads())
      {
#pragma omp for schedule(dynamic, 1) nowait
        for (int64_t pr = 0; pr < panels; ++pr) {
          const int64_t J = r0 + (panels - 1 - pr) * kPanel, J1 = std::min(c1, J + kPanel);  // largest first
          for (int64_t i0 = r0; i0 < J1; i0 += kRows) {
            const int64_t rows = std::min<int64_t>(kRows, r1 - i0);
            const bool diagonal = i0 >= J;
            if (diagonal)
              for (int64_t p = 0; p < rows; ++p)
                for (int64_t q = 0; q < p; ++q)
                  G[(i0 - r0 + p) * ld + (i0 + q - c0)] = G[(i0 - r0 + q) * ld + (i0 + p - c0)];
            for (int64_t j = diagonal ? i0 : J; j < J1; j += S::W) {
              const int64_t width = std::min<int64_t>(S::W, J1 - j);
              Block blk;
              compute_block(blk, G, ld, r0, c0, i0, rows, j, width, s1, s2, with_ntk);
              store_block(blk, nngp, ntk, ld, r0, c0, i0, rows, j, width, i0 + rows, stream);
            }
          }
        }
        _mm_sfence();  // order this thread's non-temporal stores before the tile is handed back
      }
    } else {
      // Every entry from the GEMM (off-diagonal tiles of a symmetric job never overlap the diagonal).
      const int64_t blocks = (nr + kRows - 1) / kRows;
      const int64_t chunks = (nc + S::W - 1) / S::W;
#pragma omp parallel num_threads(options_.ctx.num_threads())
      {
#pragma omp for schedule(dynamic, 4) nowait
        for (int64_t q = 0; q < blocks * chunks; ++q) {
          const int64_t b = q / chunks, j = c0 + (q % chunks) * S::W;
          const int64_t i0 = r0 + b * kRows, rows = std::min<int64_t>(kRows, r1 - i0);
          Block blk;
          compute_block(blk, G, ld, r0, c0, i0, rows, j, std::min<int64_t>(S::W, c1 - j), s1, s2, with_ntk);
          store_block(blk, nngp, ntk, ld, r0, c0, i0, rows, j, std::min<int64_t>(S::W, c1 - j), -1, stream);
        }
        _mm_sfence();
      }
    }
  }

 private:
  static constexpr int kRows = S::W;      // square blocks: a column of results is one vector
  static constexpr int64_t kPanel = 256;  // a multiple of kRows and of S::W
  struct Block {
    alignas(64) T c[kRows][S::W];
    alignas(64) T t[kRows][S::W];
  };
  struct Side;

  // The pairs (i0 + r, j + l), r < rows, l < width: their input covariances from G, then every layer.
  void compute_block(Block& blk, const T* G, int64_t ld, int64_t r0, int64_t c0, int64_t i0, int64_t rows,
                     int64_t j, int64_t width, const Side& s1, const Side& s2, bool with_ntk) const {
    const M m = S::tail(width);
    const T thr = std::is_same<T, float>::value ? T(1 - 1e-4) : T(1 - 1e-9);
    const V vthr = S::set1(thr), v02 = S::loadm(m, s2.v0.data() + j);
    V c[kRows], t[kRows];
    for (int r = 0; r < kRows; ++r) {
      const int64_t i = i0 + std::min<int64_t>(r, rows - 1);  // rows past the end repeat the last one
      c[r] = S::loadm(m, G + (i - r0) * ld + (j - c0));
      t[r] = S::zero();
      // Nearly (anti-)parallel inputs: recompute the input covariance exactly as the self-variances were, so
      // that equal inputs have correlation exactly 1.
      const M near = S::gt(c[r] * c[r], vthr * S::set1(s1.v0[i]) * v02) & m;
      if (near) {
        alignas(64) T lanes[S::W];
        S::store(lanes, c[r]);
        for (int l = 0; l < S::W; ++l)
          if ((near >> l) & 1) lanes[l] = static_cast<T>(exact_dot(x1_.row(i), x2_.row(j + l), d_));
        c[r] = S::load(lanes);
      }
    }
    // Rows past the end of a short last block read the per-input quantities of padding slots (Side::ld leaves
    // at least one vector of room), which are finite; their results are discarded.
    program_.template run_block<kRows>(c, t, with_ntk, s1.A.data(), s1.B.data(), s1.Q.data(), s1.ld, i0, rows,
                                       s2.A.data(), s2.B.data(), s2.Q.data(), s2.ld, j, m);
    for (int r = 0; r < kRows; ++r) {
      S::store(blk.c[r], c[r]);
      S::store(blk.t[r], t[r]);
    }
  }
  // Writes the block's rows; when mirror_from >= 0 also the transposes of the columns >= mirror_from. With
  // `stream`, whole aligned cache lines bypass the cache (non-temporal stores): a large kernel is written
  // once and not read again here, and ordinary stores would first read every line of it from memory.
  void store_block(const Block& blk, T* nngp, T* ntk, int64_t ld, int64_t r0, int64_t c0, int64_t i0,
                   int64_t rows, int64_t j, int64_t width, int64_t mirror_from, bool stream) const {
    auto put = [&](T* p, M m, bool full, V v) {
      if (stream && full && (reinterpret_cast<uintptr_t>(p) & (sizeof(V) - 1)) == 0)
        S::stream(p, v);
      else
        S::storem(p, m, v);
    };
    const M m = S::tail(width);
    for (int r = 0; r < rows; ++r) {
      const int64_t at = (i0 + r - r0) * ld + (j - c0);
      if (nngp) put(nngp + at, m, width == S::W, S::load(blk.c[r]));
      if (ntk) put(ntk + at, m, width == S::W, S::load(blk.t[r]));
    }
    if (mirror_from < 0) return;
    // Column l of the block is row j + l of the transposed place: one vector store each.
    const M mr = S::tail(rows);
    for (int64_t l = std::max<int64_t>(0, mirror_from - j); l < width; ++l) {
      const int64_t at = (j + l - r0) * ld + (i0 - c0);
      if (nngp) put(nngp + at, mr, rows == kRows, S::column(&blk.c[0][0], l, mr));
      if (ntk) put(ntk + at, mr, rows == kRows, S::column(&blk.t[0][0], l, mr));
    }
  }

  struct Side {
    std::vector<float> xf;  // float copy of the inputs (float32 Gram)
    const double* xd = nullptr;
    std::vector<T> v0;       // x . x / d, padded
    std::vector<T> A, B, Q;  // self quantities (see math::self_quantities): [slot * ld + input]
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
    const int64_t groups = (n + kSelfRows - 1) / kSelfRows;
#pragma omp parallel for schedule(static) num_threads(options_.ctx.num_threads())
    for (int64_t g = 0; g < groups; ++g) {
      double dots[kSelfRows];
      const int64_t i0 = g * kSelfRows, rows = std::min<int64_t>(kSelfRows, n - i0);
      exact_self_dots(x.row(i0), rows, d_, dots);
      for (int64_t r = 0; r < rows; ++r) side.v0[i0 + r] = static_cast<T>(dots[r]);
    }
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

std::unique_ptr<KernelEngine> make_fc_engine(const Architecture& arch, const Tensor& x1, const Tensor* x2,
                                             const KernelOptions& options, std::string* why) {
  std::optional<FastPlan> plan = compile_fast_plan(arch, x1, options.parameterization, false, why);
  if (!plan) return nullptr;
  const ExampleShape& in = plan->in;
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
    return std::make_unique<FcEngine<float>>(std::move(*plan), x1, x2, options);
  return std::make_unique<FcEngine<double>>(std::move(*plan), x1, x2, options);
}

}  // namespace NTK_ISA
}  // namespace ntk::fast
