// Fast engine for convolutional networks on images (Arora et al. 2019's CNTK and its relatives).
//
// A stride-1 convolution sums Σ(p + δ, q + δ) over the same offset δ for both images, so it preserves the
// offset Δ = q - p between the two positions: the P x P covariance of one pair splits into independent
// planes, one per offset Δ, each an (H - |Δy|) x (W - |Δx|) image of its own. Pointwise layers (activations,
// dense, layernorm) keep the planes independent too, so each plane is carried through every layer from the
// input Gram to the readout while it sits in L1, with a zero border for the convolution's padding (separable
// k x k box sums). `gap` sums every plane; `flatten` needs only the plane Δ = 0 (the diagonal). After the
// readout, the layers act on one number per pair. Threads take pairs, or groups of planes of a pair when a
// tile has few pairs; the plane groups are fixed, so results do not depend on the thread count.
//
// Scope (anything else falls back to the reference engine): image inputs; conv(k, stride=1, pad=same|valid),
// dense, closed-form activations, layernorm, identity and residual blocks before the readout; one gap or
// flatten readout; then dense, closed-form activations, layernorm, identity, residual blocks.
//
// Included by fast_cntk_<isa>.cpp inside the ISA's target region (see fast_isa.h).
#pragma once

#include "kernel/fast_common.h"

namespace ntk::fast {
namespace NTK_ISA {

namespace {

template <class T>
class CntkEngine final : public KernelEngine {
  using S = Simd<T>;
  using V = typename S::V;
  using M = typename S::M;

 public:
  CntkEngine(FastPlan plan, const Tensor& x1, const Tensor* x2, const KernelOptions& options)
      : plan_(std::move(plan)), x1_(x1), x2_(x2 ? *x2 : x1), symmetric_(x2 == nullptr), options_(options) {
    for (const FastStep& st : plan_.steps) consts_.emplace_back(st);
    h0_ = plan_.in.height;
    w0_ = plan_.in.width;
    c0_ = plan_.in.channels;
    ntk_param_ = plan_.param == Parameterization::kNtk;
    border_ = 0;
    readout_ = -1;
    for (size_t s = 0; s < plan_.steps.size(); ++s) {
      const FastStep& st = plan_.steps[s];
      if (st.kind == FastStep::kConv) border_ = std::max({border_, st.pad_lo, st.k - 1 - st.pad_lo});
      if (st.kind == FastStep::kGap || st.kind == FastStep::kFlatten) readout_ = static_cast<int>(s);
    }
    stride_ = w0_ + 2 * border_ + S::W;
    buf_rows_ = h0_ + 2 * border_ + 1;
    // Self-variance slots: maps of the image at that step before the readout, one number after it.
    slot_off_.assign(plan_.slots, 0);
    for (size_t s = 0; s < plan_.steps.size(); ++s) {
      const FastStep& st = plan_.steps[s];
      if (st.slot < 0) continue;
      slot_off_[st.slot] = per_input_;
      per_input_ += static_cast<int>(s) < readout_ ? st.h * st.w : 1;
      if (static_cast<int>(s) > readout_) post_needs_self_ = true;
    }
    const bool gap = plan_.steps[readout_].kind == FastStep::kGap;
    if (gap) {
      for (int64_t dy = -(h0_ - 1); dy <= h0_ - 1; ++dy)
        for (int64_t dx = -(w0_ - 1); dx <= w0_ - 1; ++dx)
          planes_.push_back({static_cast<int>(dy), static_cast<int>(dx)});
    } else {
      planes_.push_back({0, 0});
    }
    const int64_t groups = std::min<int64_t>(16, static_cast<int64_t>(planes_.size()));
    for (int64_t g = 0; g < groups; ++g)
      group_begin_.push_back(static_cast<int>(g * static_cast<int64_t>(planes_.size()) / groups));
    group_begin_.push_back(static_cast<int>(planes_.size()));
  }

  std::string name() const override { return "fast-" NTK_STRINGIFY(NTK_ISA); }
  int64_t rows() const override { return x1_.rows(); }
  int64_t cols() const override { return x2_.rows(); }
  bool symmetric() const override { return symmetric_; }
  DType dtype() const override { return std::is_same<T, float>::value ? DType::kFloat32 : DType::kFloat64; }
  int64_t bytes_per_pair() const override { return 4 * 8; }
  int64_t prepared_bytes() const override {
    const int64_t inputs = x1_.rows() + (symmetric_ ? 0 : x2_.rows());
    return inputs * (3 * per_input_ * static_cast<int64_t>(sizeof(T)) + h0_ * w0_ * c0_ * 8);
  }

  void prepare() override {
    prepare_side(x1_, side1_);
    if (!symmetric_) prepare_side(x2_, side2_);
  }

  void compute_tile(const TileSpec& tile, void* nngp_out, void* ntk_out, int64_t ld) const override {
    T* nngp = static_cast<T*>(nngp_out);
    T* ntk = static_cast<T*>(ntk_out);
    if (!nngp && !ntk) return;
    const Side& s1 = side1_;
    const Side& s2 = symmetric_ ? side1_ : side2_;
    const int64_t r0 = tile.row_begin, r1 = tile.row_end, c0 = tile.col_begin, c1 = tile.col_end;
    if (r1 <= r0 || c1 <= c0) return;
    NTK_THROW_IF_NOT(r0 >= 0 && r1 <= rows() && c0 >= 0 && c1 <= cols() && ld >= c1 - c0, "bad tile");
    // Pairs to compute: all but those whose transposes are in the tile (symmetric kernels).
    auto mirrored = [&](int64_t i, int64_t j) {
      return symmetric_ && j < i && j >= r0 && j < r1 && i >= c0 && i < c1;
    };
    std::vector<std::pair<int64_t, int64_t>> pairs;
    for (int64_t i = r0; i < r1; ++i)
      for (int64_t j = c0; j < c1; ++j)
        if (!mirrored(i, j)) pairs.emplace_back(i, j);
    const int64_t np = static_cast<int64_t>(pairs.size());
    const int64_t groups = static_cast<int64_t>(group_begin_.size()) - 1;
    const int threads = options_.ctx.num_threads();
    const bool split = np < 4 * threads;
    const int64_t items = split ? np * groups : np;
    const bool with_ntk = ntk != nullptr;
    std::vector<double> sums(static_cast<size_t>(np * groups * 2), 0.0);
#pragma omp parallel num_threads(threads)
    {
      Scratch w(*this);
#pragma omp for schedule(dynamic, 1)
      for (int64_t it = 0; it < items; ++it) {
        const int64_t p = split ? it / groups : it;
        const int64_t g0 = split ? it % groups : 0, g1 = split ? g0 + 1 : groups;
        for (int64_t g = g0; g < g1; ++g) {
          double sc = 0, st = 0;
          for (int q = group_begin_[g]; q < group_begin_[g + 1]; ++q) {
            double a = 0, b = 0;
            run_plane(s1, pairs[p].first, s2, pairs[p].second, planes_[q].first, planes_[q].second, w,
                      with_ntk, nullptr, a, b);
            sc += a;
            st += b;
          }
          sums[(p * groups + g) * 2] = sc;
          sums[(p * groups + g) * 2 + 1] = st;
        }
      }
    }
    for (int64_t p = 0; p < np; ++p) {
      double sc = 0, st = 0;
      for (int64_t g = 0; g < groups; ++g) {
        sc += sums[(p * groups + g) * 2];
        st += sums[(p * groups + g) * 2 + 1];
      }
      T c, t;
      finish(sc, st, s1, pairs[p].first, s2, pairs[p].second, with_ntk, nullptr, c, t);
      const int64_t o = (pairs[p].first - r0) * ld + (pairs[p].second - c0);
      if (nngp) nngp[o] = c;
      if (ntk) ntk[o] = t;
    }
    if (symmetric_)
      for (int64_t i = r0; i < r1; ++i)
        for (int64_t j = c0; j < c1; ++j)
          if (mirrored(i, j)) {
            const int64_t o = (i - r0) * ld + (j - c0), src = (j - r0) * ld + (i - c0);
            if (nngp) nngp[o] = nngp[src];
            if (ntk) ntk[o] = ntk[src];
          }
  }

 private:
  struct Side {
    std::vector<double> xp;  // planar inputs: [input][channel][position]
    std::vector<T> A, B, Q;  // self quantities (see math::self_quantities): [input][per_input_]
  };

  struct Scratch {
    std::vector<T> c, t, tc, tt, stack;
    explicit Scratch(const CntkEngine& e) {
      const size_t n = static_cast<size_t>(e.buf_rows_ * e.stride_ + S::W);
      c.assign(n, T(0));
      t.assign(n, T(0));
      tc.assign(n, T(0));
      tt.assign(n, T(0));
      stack.assign(n * 2 * static_cast<size_t>(std::max(e.plan_.max_stack, 1)), T(0));
    }
  };

  void prepare_side(const Tensor& x, Side& side) {
    const int64_t n = x.rows(), p = h0_ * w0_;
    side.xp.resize(static_cast<size_t>(n * p * c0_));
    for (int64_t i = 0; i < n; ++i)
      for (int64_t q = 0; q < p; ++q)
        for (int64_t ch = 0; ch < c0_; ++ch) side.xp[(i * c0_ + ch) * p + q] = x.row(i)[q * c0_ + ch];
    side.A.assign(static_cast<size_t>(n * std::max<int64_t>(per_input_, 1)), T(0));
    side.B.assign(side.A.size(), T(0));
    side.Q.assign(side.A.size(), T(0));
    // The plane Δ = 0 of the pair (x, x) is the position diagonal of Σ(x, x): it gives every self-variance
    // map.
#pragma omp parallel num_threads(options_.ctx.num_threads())
    {
      Scratch w(*this);
#pragma omp for schedule(dynamic, 1)
      for (int64_t i = 0; i < n; ++i) {
        double a = 0, b = 0;
        run_plane(side, i, side, i, 0, 0, w, false, &side, a, b);
      }
    }
    if (!post_needs_self_) return;
      // Layers after the readout need the readout of (x, x): all planes.
#pragma omp parallel num_threads(options_.ctx.num_threads())
    {
      Scratch w(*this);
#pragma omp for schedule(dynamic, 1)
      for (int64_t i = 0; i < n; ++i) {
        const int64_t groups = static_cast<int64_t>(group_begin_.size()) - 1;
        double sc = 0;
        for (int64_t g = 0; g < groups; ++g) {
          double gc = 0;
          for (int q = group_begin_[g]; q < group_begin_[g + 1]; ++q) {
            double a = 0, b = 0;
            run_plane(side, i, side, i, planes_[q].first, planes_[q].second, w, false, nullptr, a, b);
            gc += a;
          }
          sc += gc;
        }
        T c, t;
        finish(sc, 0.0, side, i, side, i, false, &side, c, t);
      }
    }
  }

  // Readout scaling, then the layers after the readout on one pair. record: self mode (stores post slots).
  void finish(double sc, double st, const Side& s1, int64_t i, const Side& s2, int64_t j, bool with_ntk,
              Side* record, T& out_c, T& out_t) const {
    const FastStep& ro = plan_.steps[readout_];
    const double p = static_cast<double>(ro.h * ro.w);
    const double den = ro.kind == FastStep::kGap ? p * p : p;
    V c = S::set1(static_cast<T>(sc / den)), t = S::set1(static_cast<T>(st / den));
    V stack_c[8], stack_t[8];
    int sp = 0;
    alignas(64) T lanes[S::W];
    for (size_t s = readout_ + 1; s < plan_.steps.size(); ++s) {
      const FastStep& stp = plan_.steps[s];
      const StepConsts<S>& k = consts_[s];
      switch (stp.kind) {
        case FastStep::kAffine:
          math::affine_map<S>(k.affine, ntk_param_, c, t, with_ntk);
          break;
        case FastStep::kAct:
        case FastStep::kLayerNorm: {
          const int64_t o1 = i * per_input_ + slot_off_[stp.slot], o2 = j * per_input_ + slot_off_[stp.slot];
          if (record) {
            S::store(lanes, c);
            math::self_quantities<T>(stp.self_kind(), lanes[0], record->A[o1], record->B[o1], record->Q[o1]);
          }
          const V a1 = S::set1(s1.A[o1]), b1 = S::set1(s1.B[o1]), q1 = S::set1(s1.Q[o1]);
          const V a2 = S::set1(s2.A[o2]), b2 = S::set1(s2.B[o2]), q2 = S::set1(s2.Q[o2]);
          if (stp.kind == FastStep::kAct) {
            apply_act<S>(k, c, t, with_ntk, a1, b1, q1, a2, b2, q2);
          } else {
            math::layernorm_map<S>(c, t, with_ntk, b1, b2);
          }
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
    S::store(lanes, c);
    out_c = lanes[0];
    S::store(lanes, t);
    out_t = with_ntk ? lanes[0] : T(0);
  }

  // One plane Δ = (dy, dx) of the pair (x1[i], x2[j]) through the layers up to the readout; returns the sums
  // of Σ and Θ over the plane (the readout's numerator). record (Δ = 0, i = j): self mode, stores the self
  // maps.
  void run_plane(const Side& s1, int64_t i, const Side& s2, int64_t j, int dy, int dx, Scratch& w,
                 bool with_ntk, Side* record, double& sum_c, double& sum_t) const {
    sum_c = sum_t = 0;
    const int64_t B = border_, SS = stride_;
    int64_t h = h0_, wd_img = w0_;
    int64_t hd = h - std::abs(dy), wd = wd_img - std::abs(dx);
    if (hd <= 0 || wd <= 0) return;
    const int64_t oy1 = std::max(0, -dy), ox1 = std::max(0, -dx), oy2 = std::max(0, dy),
                  ox2 = std::max(0, dx);
    T* C = w.c.data();
    T* Th = w.t.data();
    const int64_t region = (hd + 2 * B + 1) * SS;
    std::fill(C, C + region, T(0));
    if (with_ntk) std::fill(Th, Th + region, T(0));
    // Input covariance x1(p) . x2(p + Δ) / C, in double as the reference engine.
    {
      const int64_t P = h0_ * w0_;
      const double* X1 = s1.xp.data() + i * c0_ * P;
      const double* X2 = s2.xp.data() + j * c0_ * P;
      const double inv_c = 1.0 / static_cast<double>(c0_);
      for (int64_t r = 0; r < hd; ++r) {
        T* row = C + (B + r) * SS + B;
        const int64_t p0 = (r + oy1) * w0_ + ox1, q0 = (r + oy2) * w0_ + ox2;
        for (int64_t col = 0; col < wd; ++col) {
          double acc = 0;
          for (int64_t ch = 0; ch < c0_; ++ch) acc += X1[ch * P + p0 + col] * X2[ch * P + q0 + col];
          row[col] = static_cast<T>(acc * inv_c);
        }
      }
    }
    int sp = 0;
    for (int s = 0; s < readout_; ++s) {
      const FastStep& st = plan_.steps[s];
      const StepConsts<S>& k = consts_[s];
      switch (st.kind) {
        case FastStep::kConv: {
          const int64_t kk = st.k, pl = st.pad_lo;
          const int64_t shrink = st.valid ? kk - 1 : 0;
          const int64_t hd_out = hd - shrink, wd_out = wd - shrink;
          if (hd_out <= 0 || wd_out <= 0) return;  // the plane leaves the image: contributes nothing
          conv_plane(k, st, C, Th, w.tc.data(), w.tt.data(), hd, wd, hd_out, wd_out, kk, pl, with_ntk);
          if (shrink) {
            // Clear what the smaller plane leaves of the old one, so the zero border stays zero.
            for (int64_t r = 0; r < hd_out; ++r) {
              std::fill(C + (B + r) * SS + B + wd_out, C + (B + r + 1) * SS, T(0));
              if (with_ntk) std::fill(Th + (B + r) * SS + B + wd_out, Th + (B + r + 1) * SS, T(0));
            }
            std::fill(C + (B + hd_out) * SS, C + (B + hd + B) * SS, T(0));
            if (with_ntk) std::fill(Th + (B + hd_out) * SS, Th + (B + hd + B) * SS, T(0));
            h -= shrink;
            wd_img -= shrink;
          }
          hd = hd_out;
          wd = wd_out;
          break;
        }
        case FastStep::kAffine:
          for (int64_t r = 0; r < hd; ++r) {
            T* cr = C + (B + r) * SS + B;
            T* tr = Th + (B + r) * SS + B;
            for (int64_t col = 0; col < wd; col += S::W) {
              const M m = S::tail(wd - col);
              V c = S::loadm(m, cr + col), t = with_ntk ? S::loadm(m, tr + col) : S::zero();
              math::affine_map<S>(k.affine, ntk_param_, c, t, with_ntk);
              S::storem(cr + col, m, c);
              if (with_ntk) S::storem(tr + col, m, t);
            }
          }
          break;
        case FastStep::kAct:
        case FastStep::kLayerNorm: {
          const int64_t off = slot_off_[st.slot];
          if (record) {
            // Δ = 0 of (x, x): the plane is the self-variance map at this layer.
            T* A = record->A.data() + i * per_input_ + off;
            T* Bq = record->B.data() + i * per_input_ + off;
            T* Q = record->Q.data() + i * per_input_ + off;
            for (int64_t r = 0; r < hd; ++r)
              for (int64_t col = 0; col < wd; ++col) {
                const int64_t o = r * wd_img + col;
                math::self_quantities<T>(st.self_kind(), C[(B + r) * SS + B + col], A[o], Bq[o], Q[o]);
              }
          }
          const T* A1 = s1.A.data() + i * per_input_ + off;
          const T* B1 = s1.B.data() + i * per_input_ + off;
          const T* A2 = s2.A.data() + j * per_input_ + off;
          const T* B2 = s2.B.data() + j * per_input_ + off;
          const T* Q1 = s1.Q.data() + i * per_input_ + off;
          const T* Q2 = s2.Q.data() + j * per_input_ + off;
          for (int64_t r = 0; r < hd; ++r) {
            T* cr = C + (B + r) * SS + B;
            T* tr = Th + (B + r) * SS + B;
            const int64_t o1 = (r + oy1) * wd_img + ox1, o2 = (r + oy2) * wd_img + ox2;
            for (int64_t col = 0; col < wd; col += S::W) {
              const M m = S::tail(wd - col);
              V c = S::loadm(m, cr + col), t = with_ntk ? S::loadm(m, tr + col) : S::zero();
              const V b1 = S::loadm(m, B1 + o1 + col), b2 = S::loadm(m, B2 + o2 + col);
              if (st.kind == FastStep::kAct) {
                apply_act<S>(k, c, t, with_ntk, S::loadm(m, A1 + o1 + col), b1, S::loadm(m, Q1 + o1 + col),
                             S::loadm(m, A2 + o2 + col), b2, S::loadm(m, Q2 + o2 + col));
              } else {
                math::layernorm_map<S>(c, t, with_ntk, b1, b2);
              }
              S::storem(cr + col, m, c);
              if (with_ntk) S::storem(tr + col, m, t);
            }
          }
          break;
        }
        case FastStep::kFork: {
          const int64_t n = (hd + 2 * B + 1) * SS;
          T* dst = w.stack.data() + static_cast<size_t>(sp) * 2 * w.c.size();
          std::copy(C, C + n, dst);
          if (with_ntk) std::copy(Th, Th + n, dst + w.c.size());
          ++sp;
          break;
        }
        case FastStep::kJoin: {
          --sp;
          const int64_t n = (hd + 2 * B + 1) * SS;
          const T* src = w.stack.data() + static_cast<size_t>(sp) * 2 * w.c.size();
          for (int64_t q = 0; q < n; ++q) C[q] += src[q];
          if (with_ntk)
            for (int64_t q = 0; q < n; ++q) Th[q] += src[w.c.size() + q];
          break;
        }
        default:
          break;
      }
    }
    double ac = 0, at = 0;
    for (int64_t r = 0; r < hd; ++r) {
      const T* cr = C + (B + r) * SS + B;
      const T* tr = Th + (B + r) * SS + B;
      for (int64_t col = 0; col < wd; col += S::W) {
        const M m = S::tail(wd - col);
        ac += S::sum(S::loadm(m, cr + col));
        if (with_ntk) at += S::sum(S::loadm(m, tr + col));
      }
    }
    sum_c = ac;
    sum_t = at;
  }

  // k x k box sums over the plane (zero outside it), as a horizontal then a vertical pass, and the conv map.
  void conv_plane(const StepConsts<S>& k, const FastStep& st, T* C, T* Th, T* TC, T* TT, int64_t hd,
                  int64_t wd, int64_t hd_out, int64_t wd_out, int64_t kk, int64_t pl, bool with_ntk) const {
    const int64_t B = border_, SS = stride_;
    (void)wd;
    for (int64_t r = 0; r < hd; ++r) {
      const T* cr = C + (B + r) * SS + B - pl;
      const T* tr = Th + (B + r) * SS + B - pl;
      T* ocr = TC + (B + r) * SS + B;
      T* otr = TT + (B + r) * SS + B;
      for (int64_t col = 0; col < wd_out; col += S::W) {
        const M m = S::tail(wd_out - col);
        V a = S::loadm(m, cr + col), b = with_ntk ? S::loadm(m, tr + col) : S::zero();
        for (int64_t t = 1; t < kk; ++t) {
          a = a + S::loadm(m, cr + col + t);
          if (with_ntk) b = b + S::loadm(m, tr + col + t);
        }
        S::storem(ocr + col, m, a);
        if (with_ntk) S::storem(otr + col, m, b);
      }
    }
    // Rows just below the plane are read as zero padding: clear what earlier (taller) planes left there.
    std::fill(TC + (B + hd) * SS, TC + (B + hd + B + 1) * SS, T(0));
    if (with_ntk) std::fill(TT + (B + hd) * SS, TT + (B + hd + B + 1) * SS, T(0));
    const V inv_k2 = S::set1(k.inv_k2);
    for (int64_t r = 0; r < hd_out; ++r) {
      T* cr = C + (B + r) * SS + B;
      T* tr = Th + (B + r) * SS + B;
      for (int64_t col = 0; col < wd_out; col += S::W) {
        const M m = S::tail(wd_out - col);
        V a = S::zero(), b = S::zero();
        for (int64_t t = 0; t < kk; ++t) {
          const int64_t src = (B + r + t - pl) * SS + B + col;
          a = a + S::loadm(m, TC + src);
          if (with_ntk) b = b + S::loadm(m, TT + src);
        }
        // The dense map on the window means.
        V c = a * inv_k2, t = b * inv_k2;
        math::affine_map<S>(k.affine, ntk_param_, c, t, with_ntk);
        S::storem(cr + col, m, c);
        if (with_ntk) S::storem(tr + col, m, t);
      }
    }
  }

  FastPlan plan_;
  const Tensor& x1_;
  const Tensor& x2_;
  bool symmetric_;
  KernelOptions options_;
  std::vector<StepConsts<S>> consts_;
  int64_t h0_ = 0, w0_ = 0, c0_ = 0;
  int border_ = 0;
  int64_t stride_ = 0, buf_rows_ = 0;
  int readout_ = -1;
  bool ntk_param_ = true;
  std::vector<int64_t> slot_off_;
  int64_t per_input_ = 0;
  bool post_needs_self_ = false;
  std::vector<std::pair<int, int>> planes_;
  std::vector<int> group_begin_;
  Side side1_, side2_;
};

}  // namespace

std::unique_ptr<KernelEngine> make_cntk_engine(const Architecture& arch, const Tensor& x1, const Tensor* x2,
                                               const KernelOptions& options, std::string* why) {
  std::optional<FastPlan> plan = compile_fast_plan(arch, x1, options.parameterization, true, why);
  if (!plan) return nullptr;
  const ExampleShape& in = plan->in;
  if (x2) {
    const ExampleShape s2 = example_shape_of(*x2, "x2");
    if (!s2.spatial || s2.height != in.height || s2.width != in.width || s2.channels != in.channels) {
      if (why) *why = "x1 and x2 have different shapes";
      return nullptr;
    }
  }
  if (options.ctx.dtype == DType::kFloat32)
    return std::make_unique<CntkEngine<float>>(std::move(*plan), x1, x2, options);
  return std::make_unique<CntkEngine<double>>(std::move(*plan), x1, x2, options);
}

}  // namespace NTK_ISA
}  // namespace ntk::fast
