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
// Layers that mix the planes (avgpool, strided or circular convolutions) end a segment: plane Δ' of the next
// segment at position u sums the pairs (s u + a - pad, s (u + Δ') + b - pad) of the previous one over the
// window's taps (all pairs a, b for avgpool, a = b for a convolution; wrapped for circular padding), that
// is the old planes s Δ' + b - a (+- the image size where a window wraps). Each plane of a segment runs
// through the segment's steps in L1 as above and is then added into the next segment's planes (per-axis runs
// of contributions, in a fixed order); only the planes the readout needs are computed, and such plans run
// each pair on one thread.
//
// Scope (anything else falls back to the reference engine): image inputs; conv (any window, stride and
// padding), avgpool, dense, activations, layernorm, identity and residual blocks before the
// readout (no avgpool, strided or circular convolution inside a residual block); one gap or flatten readout;
// then dense, activations, layernorm, identity, residual blocks.
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
    build_segments();
    const bool gap = plan_.steps[readout_].kind == FastStep::kGap;
    const int64_t hl = segs_.back().h, wl = segs_.back().w;
    if (gap) {
      for (int64_t dy = -(hl - 1); dy <= hl - 1; ++dy)
        for (int64_t dx = -(wl - 1); dx <= wl - 1; ++dx)
          planes_.push_back({static_cast<int>(dy), static_cast<int>(dx)});
    } else {
      planes_.push_back({0, 0});
    }
    build_needs(gap);
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
    // A plan with segments runs each pair on one thread (its planes feed each other across the boundaries).
    const bool split = segs_.size() == 1 && np < 4 * threads;
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
        if (segs_.size() > 1) {
          const int64_t i = pairs[p].first, j = pairs[p].second;
          if (symmetric_ && i == j) {
            // The self pass computed this pair's readout sums already (in the same order: bit for bit).
            sums[p * groups * 2] = s1.sum_c[i];
            sums[p * groups * 2 + 1] = s1.sum_t[i];
            continue;
          }
          run_pair(s1, i, s2, j, w, with_ntk, nullptr, sums[p * groups * 2], sums[p * groups * 2 + 1]);
          continue;
        }
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
  // One axis of a segment boundary, as runs of contributions: the target plane offset index dst (δ' + n_out
  // - 1), the target positions dst_off .. dst_off + len - 1 (local to the target plane) and the source
  // positions src_off, src_off + s, ... (local to the source plane). by_src[σ + n - 1]: the runs read from
  // the source plane offset σ, in a fixed order (target offset, taps a and b, position).
  struct AxisRun {
    int dst, dst_off, src_off, len;
  };
  struct AxisMap {
    int64_t n = 1, n_out = 1, stride = 1;
    std::vector<std::vector<AxisRun>> by_src;
  };

  // A run of steps [begin, end) between boundaries (the readout ends the last one) on images of h x w at its
  // start. off: where the planes (dy, dx) lie in the accumulated input of a later segment, index (dy + h - 1)
  // (2w - 1) + dx + w - 1, total values in all; (my, mx): the boundary that ends the segment (not the last);
  // need_* / self_*: the plane offsets per axis that the pair pass / the self pass compute.
  struct Segment {
    int begin = 0, end = 0;
    int64_t h = 1, w = 1;
    std::vector<int64_t> off;
    int64_t total = 0;
    AxisMap my, mx;
    std::vector<char> need_y, need_x, self_y, self_x;
  };

  // The runs of one axis of a boundary (source length n, target n_out): target plane δ' at position u sums,
  // over the tap pairs (a, b) (all pairs for a pool, a = b for a convolution), the source pair at positions
  // v1 = s u + a - pad and v2 = s (u + δ') + b - pad (math::window_index: skipped in zero padding, wrapped
  // for circular padding), which is plane v2 - v1 at v1.
  static AxisMap build_axis(int64_t n, int64_t n_out, int k, int s, Padding pad, bool pool) {
    AxisMap m;
    m.n = n;
    m.n_out = n_out;
    m.stride = s;
    m.by_src.assign(static_cast<size_t>(2 * n - 1), {});
    const math::Window1d win = math::window_1d(n, k, s, pad);
    NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, win.out == n_out,
                          "fast engine: window of %lld -> %lld, not %lld", (long long)n, (long long)win.out,
                          (long long)n_out);
    for (int64_t d = -(n_out - 1); d <= n_out - 1; ++d) {
      const int64_t lo = std::max<int64_t>(0, -d), hi = n_out - std::max<int64_t>(0, d);
      for (int a = 0; a < k; ++a)
        for (int b = pool ? 0 : a; b < (pool ? k : a + 1); ++b) {
          AxisRun cur{0, 0, 0, 0};
          int64_t sigma = 0;
          auto flush = [&]() {
            if (cur.len > 0) m.by_src[static_cast<size_t>(sigma + n - 1)].push_back(cur);
            cur.len = 0;
          };
          for (int64_t u = lo; u < hi; ++u) {
            const int64_t v1 = math::window_index(u, a, s, win.pad_lo, n, pad);
            const int64_t v2 = math::window_index(u + d, b, s, win.pad_lo, n, pad);
            if (v1 < 0 || v2 < 0) {
              flush();
              continue;
            }
            const int64_t sg = v2 - v1, so = v1 - std::max<int64_t>(0, -sg), dof = u - lo;
            if (cur.len > 0 && sg == sigma && dof == cur.dst_off + cur.len &&
                so == cur.src_off + s * cur.len) {
              ++cur.len;
            } else {
              flush();
              cur = AxisRun{static_cast<int>(d + n_out - 1), static_cast<int>(dof), static_cast<int>(so), 1};
              sigma = sg;
            }
          }
          flush();
        }
    }
    return m;
  }

  void build_segments() {
    Segment first;
    first.begin = 0;
    first.h = h0_;
    first.w = w0_;
    segs_.push_back(first);
    for (int s = 0; s < readout_; ++s) {
      const FastStep& st = plan_.steps[s];
      if (st.kind != FastStep::kBoundary) continue;
      Segment& prev = segs_.back();
      prev.end = s;
      prev.my = build_axis(st.h, st.h_out, st.k, st.stride, st.pad, st.pool);
      prev.mx = build_axis(st.w, st.w_out, st.k, st.stride, st.pad, st.pool);
      Segment next;
      next.begin = s + 1;
      next.h = st.h_out;
      next.w = st.w_out;
      segs_.push_back(next);
    }
    segs_.back().end = readout_;
    acc_size_ = 0;
    for (size_t g = 1; g < segs_.size(); ++g) {
      Segment& sg = segs_[g];
      sg.off.assign(static_cast<size_t>((2 * sg.h - 1) * (2 * sg.w - 1)), 0);
      for (int64_t dy = -(sg.h - 1); dy <= sg.h - 1; ++dy)
        for (int64_t dx = -(sg.w - 1); dx <= sg.w - 1; ++dx) {
          sg.off[static_cast<size_t>((dy + sg.h - 1) * (2 * sg.w - 1) + dx + sg.w - 1)] = sg.total;
          sg.total += (sg.h - std::abs(dy)) * (sg.w - std::abs(dx));
        }
      acc_size_ = std::max(acc_size_, sg.total);
    }
  }

  // The planes each segment computes, per axis, from the readout's back through the boundaries: a source
  // offset is needed when a run from it reaches a needed target offset. The self pass needs Δ = 0 of every
  // segment (its self maps) and the readout's planes (the readout of (x, x): for the layers after the
  // readout, and the diagonal of a symmetric kernel).
  void build_needs(bool gap) {
    Segment& last = segs_.back();
    last.need_y.assign(static_cast<size_t>(2 * last.h - 1), gap ? 1 : 0);
    last.need_x.assign(static_cast<size_t>(2 * last.w - 1), gap ? 1 : 0);
    last.need_y[last.h - 1] = last.need_x[last.w - 1] = 1;
    last.self_y = last.need_y;  // Δ = 0 and the readout's planes (the diagonal of a symmetric kernel)
    last.self_x = last.need_x;
    auto sources = [](const AxisMap& m, int64_t n_seg, const std::vector<char>& target) {
      std::vector<char> need(static_cast<size_t>(2 * n_seg - 1), 0);
      for (int64_t sgm = -(m.n - 1); sgm <= m.n - 1; ++sgm)
        for (const AxisRun& r : m.by_src[static_cast<size_t>(sgm + m.n - 1)])
          if (target[r.dst]) need[static_cast<size_t>(sgm + n_seg - 1)] = 1;
      return need;
    };
    for (size_t g = segs_.size() - 1; g-- > 0;) {
      Segment& sg = segs_[g];
      const Segment& next = segs_[g + 1];
      sg.need_y = sources(sg.my, sg.h, next.need_y);
      sg.need_x = sources(sg.mx, sg.w, next.need_x);
      sg.self_y = sources(sg.my, sg.h, next.self_y);
      sg.self_x = sources(sg.mx, sg.w, next.self_x);
      sg.self_y[sg.h - 1] = sg.self_x[sg.w - 1] = 1;
    }
  }

  struct Side {
    std::vector<double> xp;  // planar inputs: [input][channel][position]
    std::vector<T> A, B, Q;  // self quantities (see math::self_quantities): [input][per_input_]
    // Plans with segments, x1 of a symmetric kernel: the readout sums of Σ and Θ of (x, x), per input.
    std::vector<double> sum_c, sum_t;
  };

  struct Scratch {
    std::vector<T> c, t, tc, tt, stack;
    std::vector<T> acc_c[2], acc_t[2];  // the next segment's planes (ping-pong), for plans with segments
    std::vector<double> gram;           // one row of the input covariance
    explicit Scratch(const CntkEngine& e) {
      gram.assign(static_cast<size_t>(e.w0_), 0.0);
      for (int b = 0; b < 2; ++b) {
        acc_c[b].assign(static_cast<size_t>(e.acc_size_ + S::W), T(0));  // + W: read as whole vectors
        acc_t[b].assign(static_cast<size_t>(e.acc_size_ + S::W), T(0));
      }
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
    // + W: the self maps are read as whole vectors (see store_row).
    side.A.assign(static_cast<size_t>(n * std::max<int64_t>(per_input_, 1) + S::W), T(0));
    side.B.assign(side.A.size(), T(0));
    side.Q.assign(side.A.size(), T(0));
    if (segs_.size() > 1) {
      // The self pass of the pair (x, x): each segment's plane Δ = 0 records its maps first. For a symmetric
      // kernel it computes the diagonal's readout (Σ and Θ) too, which the tiles then take.
      const bool keep_self = symmetric_;
      side.sum_c.assign(static_cast<size_t>(keep_self ? n : 0), 0.0);
      side.sum_t.assign(side.sum_c.size(), 0.0);
#pragma omp parallel num_threads(options_.ctx.num_threads())
      {
        Scratch w(*this);
#pragma omp for schedule(dynamic, 1)
        for (int64_t i = 0; i < n; ++i) {
          double a = 0, b = 0;
          run_pair(side, i, side, i, w, keep_self, &side, a, b);
          if (keep_self) {
            side.sum_c[i] = a;
            side.sum_t[i] = b;
          }
          if (post_needs_self_) {
            T c, t;
            finish(a, 0.0, side, i, side, i, false, &side, c, t);
          }
        }
      }
      return;
    }
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
            apply_act<S>(k, c, t, with_ntk, a1, b1, q1, a2, b2, q2, S::tail(1));  // one pair, in lane 0
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

  // One plane Δ = (dy, dx) of the pair (x1[i], x2[j]) through the layers up to the readout (plans of one
  // segment); returns the sums of Σ and Θ over the plane (the readout's numerator). record (Δ = 0, i = j):
  // self mode, stores the self maps.
  void run_plane(const Side& s1, int64_t i, const Side& s2, int64_t j, int dy, int dx, Scratch& w,
                 bool with_ntk, Side* record, double& sum_c, double& sum_t) const {
    sum_c = sum_t = 0;
    int64_t hd = 0, wd = 0;
    if (run_segment(0, s1, i, s2, j, dy, dx, w, nullptr, nullptr, with_ntk, record, hd, wd))
      plane_sum(w, hd, wd, with_ntk, sum_c, sum_t);
  }

  void plane_sum(const Scratch& w, int64_t hd, int64_t wd, bool with_ntk, double& sum_c,
                 double& sum_t) const {
    const int64_t B = border_, SS = stride_;
    const T* C = w.c.data();
    const T* Th = w.t.data();
    double ac = 0, at = 0;
    for (int64_t r = 0; r < hd; ++r) {
      const T* cr = C + (B + r) * SS + B;
      const T* tr = Th + (B + r) * SS + B;
      for (int64_t col = 0; col < wd; col += S::W) {
        const M m = S::tail(wd - col);
        ac += S::sum(only(m, S::load(cr + col)));
        if (with_ntk) at += S::sum(only(m, S::load(tr + col)));
      }
    }
    sum_c = ac;
    sum_t = at;
  }

  // The pair (x1[i], x2[j]) through a plan with segments: each segment's planes (those the readout needs, or
  // in self mode those the self maps need) run through the segment's steps and are added into the next
  // segment's planes; the last segment's are summed for the readout. record (i = j): self mode, where each
  // segment's plane Δ = 0 first records the segment's self maps, and the readout sums are computed when
  // layers after the readout need them or (with_ntk) for the diagonal of a symmetric kernel. Planes and their
  // contributions always come in the same order, so the self pass and the pair (i, i) of a tile agree bit for
  // bit.
  void run_pair(const Side& s1, int64_t i, const Side& s2, int64_t j, Scratch& w, bool with_ntk, Side* record,
                double& sum_c, double& sum_t) const {
    sum_c = sum_t = 0;
    const T* in_c = nullptr;
    const T* in_t = nullptr;
    int cur = 0;
    int64_t hd = 0, wd = 0;
    for (size_t g = 0; g < segs_.size(); ++g) {
      const Segment& sg = segs_[g];
      const int gi = static_cast<int>(g);
      if (record) run_segment(gi, s1, i, s2, j, 0, 0, w, in_c, in_t, false, record, hd, wd);
      if (g + 1 == segs_.size()) {
        if (record && !post_needs_self_ && !with_ntk) return;
        for (const auto& pl : planes_) {
          if (!run_segment(gi, s1, i, s2, j, pl.first, pl.second, w, in_c, in_t, with_ntk, nullptr, hd, wd))
            continue;
          double a = 0, b = 0;
          plane_sum(w, hd, wd, with_ntk, a, b);
          sum_c += a;
          sum_t += b;
        }
        return;
      }
      const Segment& next = segs_[g + 1];
      T* out_c = w.acc_c[cur].data();
      T* out_t = w.acc_t[cur].data();
      std::fill(out_c, out_c + next.total, T(0));
      if (with_ntk) std::fill(out_t, out_t + next.total, T(0));
      const std::vector<char>& ny = record ? sg.self_y : sg.need_y;
      const std::vector<char>& nx = record ? sg.self_x : sg.need_x;
      const std::vector<char>& ty = record ? next.self_y : next.need_y;
      const std::vector<char>& tx = record ? next.self_x : next.need_x;
      for (int64_t dy = -(sg.h - 1); dy <= sg.h - 1; ++dy) {
        if (!ny[dy + sg.h - 1]) continue;
        for (int64_t dx = -(sg.w - 1); dx <= sg.w - 1; ++dx) {
          if (!nx[dx + sg.w - 1]) continue;
          if (!run_segment(gi, s1, i, s2, j, static_cast<int>(dy), static_cast<int>(dx), w, in_c, in_t,
                           with_ntk, nullptr, hd, wd))
            continue;
          scatter(sg, next, w, static_cast<int>(dy), static_cast<int>(dx), out_c, out_t, with_ntk, ty, tx);
        }
      }
      in_c = out_c;
      in_t = out_t;
      cur ^= 1;
    }
  }

  // Adds the segment's plane (dy, dx), as it leaves the segment's last step, into the next segment's planes
  // through the boundary's runs (see AxisMap): run pairs (ry, rx) add the source rows ry.src_off + s r,
  // columns rx.src_off + s c, to the target rows ry.dst_off + r, columns rx.dst_off + c of the target plane
  // (ry.dst, rx.dst), in a fixed order.
  void scatter(const Segment& sg, const Segment& next, const Scratch& w, int dy, int dx, T* out_c, T* out_t,
               bool with_ntk, const std::vector<char>& ty, const std::vector<char>& tx) const {
    const int64_t B = border_, SS = stride_;
    const T* C = w.c.data();
    const T* Th = w.t.data();
    const std::vector<AxisRun>& rys = sg.my.by_src[dy + sg.my.n - 1];
    const std::vector<AxisRun>& rxs = sg.mx.by_src[dx + sg.mx.n - 1];
    const int64_t s = sg.my.stride, wn = 2 * next.w - 1;
    for (const AxisRun& ry : rys) {
      if (!ty[ry.dst]) continue;
      for (const AxisRun& rx : rxs) {
        if (!tx[rx.dst]) continue;
        const int64_t tw = next.w - std::abs(rx.dst - (next.w - 1));
        const int64_t o = next.off[ry.dst * wn + rx.dst];
        for (int64_t r = 0; r < ry.len; ++r) {
          const int64_t d0 = o + (ry.dst_off + r) * tw + rx.dst_off;
          const int64_t s0 = (B + ry.src_off + s * r) * SS + B + rx.src_off;
          add_row(out_c + d0, C + s0, rx.len, s);
          if (with_ntk) add_row(out_t + d0, Th + s0, rx.len, s);
        }
      }
    }
  }

  static void add_row(T* dst, const T* src, int64_t n, int64_t s) {
    if (s == 1) {
      // Whole vectors (see store_row): past the run, dst gets zero added (the accumulator is this thread's).
      for (int64_t c = 0; c < n; c += S::W) {
        const M m = S::tail(n - c);
        S::store(dst + c, S::load(dst + c) + only(m, S::load(src + c)));
      }
      return;
    }
    if (s == 2) {
      // Stride 2 (2 x 2 pools, stride-2 convolutions): the even elements of two vectors. The source is a
      // plane row of the buffers, which hold whole vectors past any run read this way.
      for (int64_t c = 0; c < n; c += S::W) {
        const M m = S::tail(n - c);
        S::store(dst + c, S::load(dst + c) + only(m, S::load_even(src + 2 * c)));
      }
      return;
    }
    for (int64_t c = 0; c < n; ++c) dst[c] += src[s * c];
  }

  // Plane rows are read and written as whole vectors: masked loads and stores (vmaskmov) are microcoded on
  // AMD cores and cost more than a layer's arithmetic on the short rows of small planes. A row of the
  // buffers (stride SS = w0 + 2B + W) holds a whole vector past the plane's last column, every other array
  // read this way (self maps, accumulated planes) is padded by W at its end, and the lanes past a row's end
  // are zeroed before a store: they are the plane's zero border.
  static NTK_ALWAYS_INLINE V only(M m, V v) {
    return m == S::tail(S::W) ? v : S::blend(m, S::zero(), v);
  }
  static NTK_ALWAYS_INLINE void store_row(T* p, M m, V v) {
    S::store(p, only(m, v));
  }

  // One input's self quantities (math::self_quantities) as maps of the image (row stride wd_img); origin:
  // the image position of the plane's first position.
  struct SelfMaps {
    const T *a, *b, *q;
    int64_t origin;
  };
  // Rows of a plane that an activation step maps side by side: the arc-cosine map is a chain of ~40
  // dependent operations per vector, so independent rows let the core overlap them.
  static constexpr int kActRows = 2;

  // The producer of a pointwise step's input that reads the plane itself (see map_rows). It and a
  // convolution's vertical pass (ConvVertical) hold what they read by value: the intrinsics' unaligned
  // stores may alias any object, so a value read through a reference or `this` is reloaded after every store
  // of a loop (and a branch on it retaken); that cost the unfused convolution pass half its speed.
  template <bool kNtk>
  struct PlaneLoad {
    const T *C, *Th;
    int64_t B, SS;
    NTK_ALWAYS_INLINE void operator()(int64_t r, int64_t col, V& c, V& t) const {
      const int64_t o = (B + r) * SS + B + col;
      c = S::load(C + o);
      t = kNtk ? S::load(Th + o) : S::zero();
    }
  };

  // The rows of a plane (hd x wd at the border's origin of C and Th) through a pointwise map, R rows at a
  // time (the last hd mod R one by one). produce(r, col, c, t) gives Σ and Θ at row r, columns col .. col +
  // W - 1 (the plane itself, or a convolution's last pass fused into the step); map(rows, c, t, a1, b1, q1,
  // a2, b2, q2, m) gets N = rows::value such vectors of N consecutive rows, both inputs' self quantities
  // there (arrays of vectors, see arc_cosine_block) and the masks of the lanes inside the plane; the results
  // are written to C and Th.
  template <int R, bool kNtk, class Produce, class Map>
  NTK_ALWAYS_INLINE void map_rows(T* C, T* Th, int64_t hd, int64_t wd, int64_t wd_img, const SelfMaps& x1,
                                  const SelfMaps& x2, Produce&& produce, Map&& map) const {
    const int64_t B = border_, SS = stride_;
    auto block = [&](auto rows, int64_t r0) {
      constexpr int N = decltype(rows)::value;
      for (int64_t col = 0; col < wd; col += S::W) {
        const M inside = S::tail(wd - col);
        V c[N], t[N], a1[N], b1[N], q1[N], a2[N], b2[N], q2[N];
        M m[N];
#pragma GCC unroll 8
        for (int q = 0; q < N; ++q) {
          const int64_t o1 = x1.origin + (r0 + q) * wd_img + col, o2 = x2.origin + (r0 + q) * wd_img + col;
          produce(r0 + q, col, c[q], t[q]);
          a1[q] = S::load(x1.a + o1);
          b1[q] = S::load(x1.b + o1);
          q1[q] = S::load(x1.q + o1);
          a2[q] = S::load(x2.a + o2);
          b2[q] = S::load(x2.b + o2);
          q2[q] = S::load(x2.q + o2);
          m[q] = inside;
        }
        map(rows, c, t, a1, b1, q1, a2, b2, q2, m);
#pragma GCC unroll 8
        for (int q = 0; q < N; ++q) {
          const int64_t o = (B + r0 + q) * SS + B + col;
          store_row(C + o, inside, c[q]);
          if (kNtk) store_row(Th + o, inside, t[q]);
        }
      }
    };
    int64_t r = 0;
    for (; r + R <= hd; r += R) block(std::integral_constant<int, R>(), r);
    for (; r < hd; ++r) block(std::integral_constant<int, 1>(), r);
  }

  // The activation or layernorm step s of the pair (x1[i], x2[j]) on the plane (hd x wd; the image is
  // wd_img wide; origin1, origin2: the image positions of the plane's first position), its input from
  // produce as in map_rows. The map is chosen once per step (ABRelu: by the range of the correlations, see
  // arc_cosine_block).
  template <bool kNtk, class Produce>
  void pointwise_step(int s, const Side& s1, int64_t i, const Side& s2, int64_t j, T* C, T* Th, int64_t hd,
                      int64_t wd, int64_t wd_img, int64_t origin1, int64_t origin2, Produce&& produce) const {
    const FastStep& st = plan_.steps[s];
    const StepConsts<S>& k = consts_[s];
    const int64_t o1 = i * per_input_ + slot_off_[st.slot], o2 = j * per_input_ + slot_off_[st.slot];
    const SelfMaps m1{s1.A.data() + o1, s1.B.data() + o1, s1.Q.data() + o1, origin1};
    const SelfMaps m2{s2.A.data() + o2, s2.B.data() + o2, s2.Q.data() + o2, origin2};
    if (st.kind == FastStep::kLayerNorm) {
      map_rows<1, kNtk>(C, Th, hd, wd, wd_img, m1, m2, produce,
                        [&](auto, V* c, V* t, const V*, const V* b1, const V*, const V*, const V* b2,
                            const V*, const M*) { math::layernorm_map<S>(c[0], t[0], kNtk, b1[0], b2[0]); });
    } else if (st.act.kind == ActKind::kABRelu) {
      auto arc_cosine = [&](auto relu) {
        map_rows<kActRows, kNtk>(C, Th, hd, wd, wd_img, m1, m2, produce,
                                 [&](auto rows, V* c, V* t, const V* a1, const V* b1, const V* q1,
                                     const V* a2, const V* b2, const V* q2, const M* m) {
                                   arc_cosine_block<S, decltype(rows)::value, decltype(relu)::value>(
                                       k.act.abrelu, c, t, kNtk, a1, b1, q1, a2, b2, q2, m);
                                 });
      };
      if (k.act.abrelu.relu)
        arc_cosine(std::true_type());
      else
        arc_cosine(std::false_type());
    } else {
      map_rows<1, kNtk>(C, Th, hd, wd, wd_img, m1, m2, produce,
                        [&](auto, V* c, V* t, const V* a1, const V* b1, const V* q1, const V* a2, const V* b2,
                            const V* q2, const M* m) {
                          apply_act<S>(k, c[0], t[0], kNtk, a1[0], b1[0], q1[0], a2[0], b2[0], q2[0], m[0]);
                        });
    }
  }

  // Calls body(window, ntk) with the convolution's window size as a compile-time constant where it is 1
  // or 3 (0: any other) and with_ntk as one too.
  template <class Body>
  static NTK_ALWAYS_INLINE void with_conv_kind(int64_t kk, bool with_ntk, Body&& body) {
    auto window = [&](auto ntk) {
      if (kk == 3)
        body(std::integral_constant<int, 3>(), ntk);
      else if (kk == 1)
        body(std::integral_constant<int, 1>(), ntk);
      else
        body(std::integral_constant<int, 0>(), ntk);
    };
    if (with_ntk)
      window(std::true_type());
    else
      window(std::false_type());
  }

  // One plane Δ = (dy, dx) of segment g of the pair through the segment's steps, left in w.c and w.t
  // (hd x wd at the border's origin); false when it leaves the image. Segment 0 starts from the input Gram;
  // a later one from its planes in (in_c, in_t), scaled by the boundary's window (and mapped by its affine
  // map for a convolution). record (Δ = 0, i = j): self mode, stores the self maps.
  bool run_segment(int g, const Side& s1, int64_t i, const Side& s2, int64_t j, int dy, int dx, Scratch& w,
                   const T* in_c, const T* in_t, bool with_ntk, Side* record, int64_t& hd_res,
                   int64_t& wd_res) const {
    const Segment& sg = segs_[g];
    const int64_t B = border_, SS = stride_;
    int64_t h = sg.h, wd_img = sg.w;
    int64_t hd = h - std::abs(dy), wd = wd_img - std::abs(dx);
    if (hd <= 0 || wd <= 0) return false;
    const int64_t oy1 = std::max(0, -dy), ox1 = std::max(0, -dx), oy2 = std::max(0, dy),
                  ox2 = std::max(0, dx);
    T* C = w.c.data();
    T* Th = w.t.data();
    // Zero the border around the plane (what earlier, larger planes left there); Σ of the plane itself (and
    // Θ in later segments) is written in full below.
    auto clear_border = [&](T* X) {
      std::fill(X, X + B * SS + B, T(0));
      for (int64_t r = 0; r < hd; ++r) std::fill(X + (B + r) * SS + B + wd, X + (B + r + 1) * SS + B, T(0));
      std::fill(X + (B + hd) * SS, X + (hd + 2 * B + 1) * SS, T(0));
    };
    clear_border(C);
    if (with_ntk && g == 0) std::fill(Th, Th + (hd + 2 * B + 1) * SS, T(0));  // Θ of the input is 0
    if (with_ntk && g > 0) clear_border(Th);
    if (g == 0) {
      // Input covariance x1(p) . x2(p + Δ) / C, in double as the reference engine.
      const int64_t P = h0_ * w0_;
      const double* X1 = s1.xp.data() + i * c0_ * P;
      const double* X2 = s2.xp.data() + j * c0_ * P;
      const double inv_c = 1.0 / static_cast<double>(c0_);
      double* acc = w.gram.data();
      for (int64_t r = 0; r < hd; ++r) {
        T* row = C + (B + r) * SS + B;
        const int64_t p0 = (r + oy1) * w0_ + ox1, q0 = (r + oy2) * w0_ + ox2;
        // Channel by channel over the row (the same sums, in the same order, as channel-inner loops).
        std::fill(acc, acc + wd, 0.0);
        for (int64_t ch = 0; ch < c0_; ++ch) {
          const double* a = X1 + ch * P + p0;
          const double* b = X2 + ch * P + q0;
          for (int64_t col = 0; col < wd; ++col) acc[col] += a[col] * b[col];
        }
        for (int64_t col = 0; col < wd; ++col) row[col] = static_cast<T>(acc[col] * inv_c);
      }
    } else {
      // The boundary's window means: 1/k⁴ of the tap-pair sums for avgpool, 1/k² of the tap sums and the
      // affine map for a convolution.
      const FastStep& bs = plan_.steps[sg.begin - 1];
      const StepConsts<S>& k = consts_[sg.begin - 1];
      const V scale = S::set1(bs.pool ? k.inv_k2 * k.inv_k2 : k.inv_k2);
      const int64_t o = sg.off[(dy + sg.h - 1) * (2 * sg.w - 1) + dx + sg.w - 1];
      for (int64_t r = 0; r < hd; ++r) {
        T* cr = C + (B + r) * SS + B;
        T* tr = Th + (B + r) * SS + B;
        const T* ic = in_c + o + r * wd;
        const T* it = with_ntk ? in_t + o + r * wd : nullptr;
        for (int64_t col = 0; col < wd; col += S::W) {
          const M m = S::tail(wd - col);
          V c = S::load(ic + col) * scale, t = with_ntk ? S::load(it + col) * scale : S::zero();
          if (!bs.pool) math::affine_map<S>(k.affine, ntk_param_, c, t, with_ntk);
          store_row(cr + col, m, c);
          if (with_ntk) store_row(tr + col, m, t);
        }
      }
    }
    int sp = 0;
    for (int s = sg.begin; s < sg.end; ++s) {
      const FastStep& st = plan_.steps[s];
      const StepConsts<S>& k = consts_[s];
      switch (st.kind) {
        case FastStep::kConv: {
          const int64_t kk = st.k, pl = st.pad_lo;
          const int64_t shrink = st.valid ? kk - 1 : 0;
          const int64_t hd_out = hd - shrink, wd_out = wd - shrink;
          if (hd_out <= 0 || wd_out <= 0) return false;  // the plane leaves the image: contributes nothing
          // A closed-form activation or layernorm right after the convolution takes the window sums as
          // they are formed (one pass over the plane less); not in self mode, which records the step's
          // input first. The same operations either way: bit for bit the unfused result.
          const FastStep* next = s + 1 < sg.end ? &plan_.steps[s + 1] : nullptr;
          const bool fuse = !record && next &&
                            ((next->kind == FastStep::kAct && math::is_closed_form(next->act.kind)) ||
                             next->kind == FastStep::kLayerNorm);
          T* TC = w.tc.data();
          T* TT = w.tt.data();
          with_conv_kind(kk, with_ntk, [&](auto window, auto ntk) {
            constexpr int KK = decltype(window)::value;
            constexpr bool kNtk = decltype(ntk)::value;
            conv_horizontal<KK, kNtk>(C, Th, TC, TT, hd, wd_out, kk, pl);
            if (fuse) return;
            const ConvVertical<KK, kNtk> vertical = conv_vertical<KK, kNtk>(k, C, Th, TC, TT, kk, pl);
            T* const c_out = C;
            T* const t_out = Th;
            const int64_t rows = hd_out, cols = wd_out, b = B, ss = SS;
            for (int64_t r = 0; r < rows; ++r)
              for (int64_t col = 0; col < cols; col += S::W) {
                V c, t;
                vertical(r, col, c, t);
                const int64_t o = (b + r) * ss + b + col;
                store_row(c_out + o, S::tail(cols - col), c);
                if (kNtk) store_row(t_out + o, S::tail(cols - col), t);
              }
          });
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
          if (fuse) {
            ++s;  // the next step runs here
            with_conv_kind(kk, with_ntk, [&](auto window, auto ntk) {
              constexpr int KK = decltype(window)::value;
              constexpr bool kNtk = decltype(ntk)::value;
              pointwise_step<kNtk>(s, s1, i, s2, j, C, Th, hd, wd, wd_img, oy1 * wd_img + ox1,
                                   oy2 * wd_img + ox2, conv_vertical<KK, kNtk>(k, C, Th, TC, TT, kk, pl));
            });
          }
          break;
        }
        case FastStep::kAffine:
          for (int64_t r = 0; r < hd; ++r) {
            T* cr = C + (B + r) * SS + B;
            T* tr = Th + (B + r) * SS + B;
            for (int64_t col = 0; col < wd; col += S::W) {
              const M m = S::tail(wd - col);
              V c = S::load(cr + col), t = with_ntk ? S::load(tr + col) : S::zero();
              math::affine_map<S>(k.affine, ntk_param_, c, t, with_ntk);
              store_row(cr + col, m, c);
              if (with_ntk) store_row(tr + col, m, t);
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
          auto plane = [&](auto ntk) {
            constexpr bool kNtk = decltype(ntk)::value;
            pointwise_step<kNtk>(s, s1, i, s2, j, C, Th, hd, wd, wd_img, oy1 * wd_img + ox1,
                                 oy2 * wd_img + ox2, PlaneLoad<kNtk>{C, Th, B, SS});
          };
          if (with_ntk)
            plane(std::true_type());
          else
            plane(std::false_type());
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
    hd_res = hd;
    wd_res = wd;
    return true;
  }

  // A convolution's k x k box sums over the plane (zero outside it) are a horizontal pass (conv_horizontal,
  // into TC and TT) and a vertical one (conv_vertical, one vector at a time, then the dense map on the
  // window means); KK: the window size as a compile-time constant (0: any, kk_any), kNtk: whether Θ is
  // carried. A 1 x 1 window has no horizontal pass; its vertical one reads the plane itself.
  template <int KK, bool kNtk>
  void conv_horizontal(const T* C, const T* Th, T* TC, T* TT, int64_t hd, int64_t wd_out, int64_t kk_any,
                       int64_t pl) const {
    if (KK == 1) return;
    const int64_t B = border_, SS = stride_;
    const int64_t kk = KK ? KK : kk_any;
    for (int64_t r = 0; r < hd; ++r) {
      const T* cr = C + (B + r) * SS + B - pl;
      const T* tr = Th + (B + r) * SS + B - pl;
      T* ocr = TC + (B + r) * SS + B;
      T* otr = TT + (B + r) * SS + B;
      // Whole vectors: the lanes past wd_out only ever reach the discarded lanes of the vertical pass.
      for (int64_t col = 0; col < wd_out; col += S::W) {
        V a = S::load(cr + col), b = kNtk ? S::load(tr + col) : S::zero();
#pragma GCC unroll 8
        for (int64_t t = 1; t < kk; ++t) {
          a = a + S::load(cr + col + t);
          if (kNtk) b = b + S::load(tr + col + t);
        }
        S::store(ocr + col, a);
        if (kNtk) S::store(otr + col, b);
      }
    }
    // Rows just below the plane are read as zero padding: clear what earlier (taller) planes left there.
    std::fill(TC + (B + hd) * SS, TC + (B + hd + B + 1) * SS, T(0));
    if (kNtk) std::fill(TT + (B + hd) * SS, TT + (B + hd + B + 1) * SS, T(0));
  }

  template <int KK, bool kNtk>
  struct ConvVertical {
    const T *C, *Th, *TC, *TT;
    int64_t B, SS, kk, pl;
    T inv_k2;
    math::AffineConsts<T> affine;
    bool ntk_param;
    NTK_ALWAYS_INLINE void operator()(int64_t r, int64_t col, V& c, V& t) const {
      V a = S::zero(), b = S::zero();
      if (KK == 1) {
        a = a + S::load(C + (B + r) * SS + B + col);
        if (kNtk) b = b + S::load(Th + (B + r) * SS + B + col);
      } else {
#pragma GCC unroll 8
        for (int64_t q = 0; q < (KK ? KK : kk); ++q) {
          const int64_t src = (B + r + q - pl) * SS + B + col;
          a = a + S::load(TC + src);
          if (kNtk) b = b + S::load(TT + src);
        }
      }
      const V scale = S::set1(inv_k2);
      c = a * scale;
      t = b * scale;
      math::affine_map<S>(affine, ntk_param, c, t, kNtk);
    }
  };
  template <int KK, bool kNtk>
  ConvVertical<KK, kNtk> conv_vertical(const StepConsts<S>& k, const T* C, const T* Th, const T* TC,
                                       const T* TT, int64_t kk, int64_t pl) const {
    return ConvVertical<KK, kNtk>{C, Th, TC, TT, border_, stride_, kk, pl, k.inv_k2, k.affine, ntk_param_};
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
  std::vector<Segment> segs_;
  int64_t acc_size_ = 0;
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
