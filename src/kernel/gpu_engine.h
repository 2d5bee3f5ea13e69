// The GPU engine over a backend B (see gpu_engines.h): the plan compiled into device steps, the per-input
// self pass (prepare) and the tiles. Included by gpu_engine.cpp (host backend) and gpu_engine.cu (CUDA), each
// after defining NTK_ISA and its backend. A backend provides
//   alloc(bytes), release(p), upload(dst, src, bytes), download(dst, src, bytes), memory_budget();
//   threads(kernel, n): kernel(index) for every index < n (independent threads, gpu_program.h);
//   blocks(kernel, n, shared_bytes): kernel(block, team) for every block < n, each on a team of threads
//   with shared_bytes of shared memory;
//   gemm_nt(m, n, d, alpha, a, b, c): c (m x n, row-major) = alpha a bᵀ for row-major a (m x d), b (n x d);
//   name(): the registry name.
#pragma once

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernel/gpu_engines.h"
#include "kernel/gpu_program.h"
#include "layers/quadrature.h"
#include "ntk/error.h"
#include "ntk/kernel_engine.h"

namespace ntk::gpu {
inline namespace NTK_ISA {

// A typed buffer of backend memory.
template <class B, class T>
class Buffer {
 public:
  Buffer() = default;
  Buffer(B* backend, size_t n) : backend_(backend), n_(n) {
    if (n) ptr_ = static_cast<T*>(backend->alloc(n * sizeof(T)));
  }
  Buffer(B* backend, const std::vector<T>& v) : Buffer(backend, v.size()) { upload(v.data(), v.size()); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& o) noexcept { *this = std::move(o); }
  Buffer& operator=(Buffer&& o) noexcept {
    reset();
    std::swap(backend_, o.backend_);
    std::swap(ptr_, o.ptr_);
    std::swap(n_, o.n_);
    return *this;
  }
  ~Buffer() { reset(); }
  void reset() {
    if (ptr_) backend_->release(ptr_);
    ptr_ = nullptr;
    n_ = 0;
  }
  void upload(const T* src, size_t n) {
    if (n) backend_->upload(ptr_, src, n * sizeof(T));
  }
  void download(T* dst, size_t n) const {
    if (n) backend_->download(dst, ptr_, n * sizeof(T));
  }
  T* get() const { return ptr_; }
  size_t size() const { return n_; }

 private:
  B* backend_ = nullptr;
  T* ptr_ = nullptr;
  size_t n_ = 0;
};

constexpr int kThreads = 256;  // threads per block of every launch (the readout's tree needs a power of 2)

template <class T, class B>
class Engine final : public KernelEngine {
 public:
  Engine(FastPlan plan, const Tensor& x1, const Tensor* x2, const KernelOptions& options)
      : plan_(std::move(plan)),
        x1_(x1),
        x2_(x2 ? *x2 : x1),
        symmetric_(x2 == nullptr),
        options_(options),
        images_(x1.rank() == 4) {
    std::vector<Step<T>> steps;
    for (const FastStep& st : plan_.steps) steps.push_back(make_step<T>(st));
    steps_ = Buffer<B, Step<T>>(&backend_, steps);
    host_steps_ = std::move(steps);
    for (size_t s = 0; s < plan_.steps.size(); ++s)
      if (plan_.steps[s].kind == FastStep::kGap || plan_.steps[s].kind == FastStep::kFlatten)
        readout_ = static_cast<int>(s);
    if (images_) build_segments();
    build_slots();
    build_quadrature();
  }

  std::string name() const override { return backend_.name(); }
  int64_t rows() const override { return x1_.rows(); }
  int64_t cols() const override { return x2_.rows(); }
  bool symmetric() const override { return symmetric_; }
  DType dtype() const override { return std::is_same<T, float>::value ? DType::kFloat32 : DType::kFloat64; }
  // A CNTK pair costs a whole launch's worth of blocks; fully-connected pairs nanoseconds.
  int64_t preferred_tile() const override { return images_ ? 64 : 4096; }
  int64_t bytes_per_pair() const override { return 2 * static_cast<int64_t>(sizeof(T)); }
  int64_t prepared_bytes() const override {
    const int64_t inputs = x1_.rows() + (symmetric_ ? 0 : x2_.rows());
    return inputs * 3 * self_stride_ * static_cast<int64_t>(sizeof(T));
  }

  void prepare() override {
    side1_ = make_side(x1_);
    if (!symmetric_) side2_ = make_side(x2_);
    self_pass(side1_, x1_.rows());
    if (!symmetric_) self_pass(side2_, x2_.rows());
  }

  void compute_tile(const TileSpec& tile, void* nngp_out, void* ntk_out, int64_t ld) const override {
    T* nngp = static_cast<T*>(nngp_out);
    T* ntk = static_cast<T*>(ntk_out);
    const int64_t r0 = tile.row_begin, c0 = tile.col_begin;
    const int64_t nr = tile.row_end - r0, nc = tile.col_end - c0;
    if (nr <= 0 || nc <= 0 || (!nngp && !ntk)) return;
    NTK_THROW_IF_NOT(r0 >= 0 && tile.row_end <= rows() && c0 >= 0 && tile.col_end <= cols() && ld >= nc,
                     "bad tile");
    const Side& s2 = symmetric_ ? side1_ : side2_;
    std::vector<T> hc(static_cast<size_t>(nr * nc)), ht(hc.size());
    if (!images_) {
      vector_tile(s2, r0, c0, nr, nc, nngp ? hc.data() : nullptr, ntk ? ht.data() : nullptr);
    } else {
      // The pairs of the tile; in a symmetric kernel, (i, j) with j < i whose transpose lies in the tile is
      // mirrored instead.
      auto mirrored = [&](int64_t i, int64_t j) {
        return symmetric_ && j < i && j >= r0 && j < tile.row_end && i >= c0 && i < tile.col_end;
      };
      std::vector<int64_t> pi, pj, out;
      for (int64_t i = r0; i < tile.row_end; ++i)
        for (int64_t j = c0; j < tile.col_end; ++j)
          if (!mirrored(i, j)) {
            pi.push_back(i);
            pj.push_back(j);
            out.push_back((i - r0) * nc + (j - c0));
          }
      plane_pairs(side1_, s2, pi, pj, out, static_cast<int64_t>(hc.size()), ntk != nullptr, false, hc.data(),
                  ht.data());
      for (int64_t i = r0; i < tile.row_end; ++i)
        for (int64_t j = c0; j < tile.col_end; ++j)
          if (mirrored(i, j)) {
            hc[(i - r0) * nc + (j - c0)] = hc[(j - r0) * nc + (i - c0)];
            ht[(i - r0) * nc + (j - c0)] = ht[(j - r0) * nc + (i - c0)];
          }
    }
    for (int64_t r = 0; r < nr; ++r) {
      if (nngp) std::memcpy(nngp + r * ld, hc.data() + r * nc, static_cast<size_t>(nc) * sizeof(T));
      if (ntk) std::memcpy(ntk + r * ld, ht.data() + r * nc, static_cast<size_t>(nc) * sizeof(T));
    }
  }

 private:
  // One side's inputs on the device and its self quantities.
  struct Side {
    Buffer<B, double> x;   // the inputs in double
    Buffer<B, T> xt;       // in T, for the float32 Gram
    Buffer<B, double> v0;  // x . x / d (fully-connected)
    Buffer<B, T> self;     // 3 values per position per slot (SelfTable)
    SelfTable<T> table(const Buffer<B, int64_t>& slot_offset, int64_t stride) const {
      SelfTable<T> t;
      t.values = self.get();
      t.slot_offset = slot_offset.get();
      t.stride = stride;
      return t;
    }
  };

  // The segments of a convolutional plan, their planes and their compact stores (gpu_program.h).
  struct Segment {
    SegmentShape shape;
    std::vector<char> need_y, need_x;  // by dy + h_end - 1, dx + w_end - 1
    std::vector<int> planes;           // (dy, dx) of the needed planes alive at the segment's end
    Buffer<B, int> planes_dev;
    std::vector<int64_t> offset;  // compact store of the planes at the segment's end
    Buffer<B, int64_t> offset_dev;
    int64_t total = 0;
  };

  void build_segments() {
    const ExampleShape& in = plan_.in;
    int h = static_cast<int>(in.height), w = static_cast<int>(in.width);
    Segment cur;
    cur.shape.begin = 0;
    cur.shape.h = h;
    cur.shape.w = w;
    for (int s = 0; s <= readout_; ++s) {
      const FastStep& st = plan_.steps[s];
      if (st.kind == FastStep::kConv && st.valid) {
        h -= st.k - 1;
        w -= st.k - 1;
      }
      if (st.kind == FastStep::kBoundary || s == readout_) {
        cur.shape.end = s;
        cur.shape.h_end = h;
        cur.shape.w_end = w;
        segs_.push_back(std::move(cur));
        cur = Segment();
        if (st.kind == FastStep::kBoundary) {
          h = static_cast<int>(st.h_out);
          w = static_cast<int>(st.w_out);
          cur.shape.begin = s + 1;
          cur.shape.h = h;
          cur.shape.w = w;
        }
      }
    }
    // The planes each segment needs, from the readout back through the boundaries (per axis: the gather is
    // separable). gap reads every plane of the last segment, flatten plane 0.
    const bool gap = plan_.steps[readout_].kind == FastStep::kGap;
    Segment& last = segs_.back();
    last.need_y.assign(2 * last.shape.h_end - 1, gap ? 1 : 0);
    last.need_x.assign(2 * last.shape.w_end - 1, gap ? 1 : 0);
    last.need_y[last.shape.h_end - 1] = last.need_x[last.shape.w_end - 1] = 1;
    for (int g = static_cast<int>(segs_.size()) - 2; g >= 0; --g) {
      Segment& sg = segs_[g];
      const Segment& next = segs_[g + 1];
      const FastStep& bs = plan_.steps[sg.shape.end];
      sg.need_y = axis_sources(sg.shape.h_end, next.shape.h, next.shape.h_end, bs, next.need_y);
      sg.need_x = axis_sources(sg.shape.w_end, next.shape.w, next.shape.w_end, bs, next.need_x);
    }
    for (size_t g = 0; g < segs_.size(); ++g) {
      Segment& sg = segs_[g];
      const int he = sg.shape.h_end, we = sg.shape.w_end;
      for (int dy = -(he - 1); dy <= he - 1; ++dy)
        for (int dx = -(we - 1); dx <= we - 1; ++dx)
          if (sg.need_y[dy + he - 1] && sg.need_x[dx + we - 1]) {
            sg.planes.push_back(dy);
            sg.planes.push_back(dx);
          }
      sg.planes_dev = Buffer<B, int>(&backend_, sg.planes);
      if (g + 1 < segs_.size()) {
        sg.offset.assign(static_cast<size_t>((2 * he - 1) * (2 * we - 1)), 0);
        for (int dy = -(he - 1); dy <= he - 1; ++dy)
          for (int dx = -(we - 1); dx <= we - 1; ++dx) {
            sg.offset[static_cast<size_t>((dy + he - 1) * (2 * we - 1) + dx + we - 1)] = sg.total;
            sg.total += static_cast<int64_t>(he - std::abs(dy)) * (we - std::abs(dx));
          }
        sg.offset_dev = Buffer<B, int64_t>(&backend_, sg.offset);
      }
      max_plane_values_ = std::max<int64_t>(max_plane_values_, static_cast<int64_t>(sg.shape.h) * sg.shape.w);
      max_total_ = std::max(max_total_, sg.total);
    }
  }

  // The source offsets σ (by σ + n - 1) of one axis of a boundary that reach a needed target offset δ' (by
  // δ' + n_end - 1, target alive at the next segment's end n_end, starting at size n_out).
  static std::vector<char> axis_sources(int n, int n_out, int n_end, const FastStep& bs,
                                        const std::vector<char>& target) {
    std::vector<char> need(static_cast<size_t>(2 * n - 1), 0);
    const math::Window1d win = math::window_1d(n, bs.k, bs.stride, bs.pad);
    for (int d = -(n_end - 1); d <= n_end - 1; ++d) {
      if (!target[d + n_end - 1]) continue;
      const int lo = std::max(0, -d), hi = n_out - std::max(0, d);
      for (int u = lo; u < hi; ++u)
        for (int a = 0; a < bs.k; ++a)
          for (int b = bs.pool ? 0 : a; b < (bs.pool ? bs.k : a + 1); ++b) {
            const int64_t v1 = math::window_index(u, a, bs.stride, win.pad_lo, n, bs.pad);
            const int64_t v2 = math::window_index(u + d, b, bs.stride, win.pad_lo, n, bs.pad);
            if (v1 >= 0 && v2 >= 0) need[static_cast<size_t>(v2 - v1 + n - 1)] = 1;
          }
    }
    return need;
  }

  // Where each slot's self quantities lie in an input's block: positions of the slot's image (1 after the
  // readout).
  void build_slots() {
    std::vector<int64_t> off(static_cast<size_t>(std::max(plan_.slots, 1)), 0);
    int64_t at = 0;
    for (size_t s = 0; s < plan_.steps.size(); ++s) {
      const FastStep& st = plan_.steps[s];
      if (st.slot < 0) continue;
      off[st.slot] = at;
      at += images_ && static_cast<int>(s) < readout_ ? position_count(static_cast<int>(s)) : 1;
    }
    self_stride_ = std::max<int64_t>(at, 1);
    slot_offset_ = Buffer<B, int64_t>(&backend_, off);
  }

  // Positions of the image at step s of a convolutional plan (valid convolutions shrink it).
  int64_t position_count(int s) const {
    for (const Segment& sg : segs_)
      if (s >= sg.shape.begin && s < sg.shape.end) {
        int h = sg.shape.h, w = sg.shape.w;
        for (int k = sg.shape.begin; k < s; ++k)
          if (plan_.steps[k].kind == FastStep::kConv && plan_.steps[k].valid) {
            h -= plan_.steps[k].k - 1;
            w -= plan_.steps[k].k - 1;
          }
        return static_cast<int64_t>(h) * w;
      }
    return 1;
  }

  void build_quadrature() {
    bool smooth = false, kinked = false;
    for (const FastStep& st : plan_.steps)
      if (st.kind == FastStep::kAct && !math::is_closed_form(st.act.kind))
        (st.act.kind == ActKind::kElu ? kinked : smooth) = true;
    std::vector<double> nodes, weights;
    std::vector<int> offset(math::kMaxHermiteOrder + 1, 0), size(math::kMaxHermiteOrder + 1, 0);
    if (smooth)
      for (int n = math::kMinHermiteOrder; n <= math::kMaxHermiteOrder; ++n) {
        const quadrature::Rule& r = quadrature::gauss_hermite(n);
        offset[n] = static_cast<int>(nodes.size());
        size[n] = r.size();
        nodes.insert(nodes.end(), r.nodes.begin(), r.nodes.end());
        weights.insert(weights.end(), r.weights.begin(), r.weights.end());
      }
    std::vector<double> polar;
    int angles = 0, radii = 0;
    if (kinked) {
      const quadrature::Rule& ang = quadrature::gauss_legendre(math::polar_angle_order(math::kPolarOrder));
      const quadrature::Rule& rad = quadrature::polar_radius(math::kPolarOrder);
      angles = ang.size();
      radii = rad.size();
      for (const std::vector<double>* v : {&ang.nodes, &ang.weights, &rad.nodes, &rad.weights})
        polar.insert(polar.end(), v->begin(), v->end());
    }
    gh_nodes_ = Buffer<B, double>(&backend_, nodes);
    gh_weights_ = Buffer<B, double>(&backend_, weights);
    gh_offset_ = Buffer<B, int>(&backend_, offset);
    gh_size_ = Buffer<B, int>(&backend_, size);
    polar_ = Buffer<B, double>(&backend_, polar);
    quad_.gh_nodes = gh_nodes_.get();
    quad_.gh_weights = gh_weights_.get();
    quad_.gh_offset = gh_offset_.get();
    quad_.gh_size = gh_size_.get();
    quad_.angles = angles;
    quad_.radii = radii;
    if (kinked) {
      quad_.angle_nodes = polar_.get();
      quad_.angle_weights = polar_.get() + angles;
      quad_.radius_nodes = polar_.get() + 2 * angles;
      quad_.radius_weights = polar_.get() + 2 * angles + radii;
    }
  }

  Side make_side(const Tensor& x) {
    Side s;
    s.x = Buffer<B, double>(&backend_, x.data);
    if (!images_) {
      const int64_t n = x.rows(), d = x.row_size();
      std::vector<double> v0(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) v0[i] = exact_dot(x.row(i), x.row(i), d);
      s.v0 = Buffer<B, double>(&backend_, v0);
      if (std::is_same<T, float>::value) {
        std::vector<T> xt(x.data.begin(), x.data.end());
        s.xt = Buffer<B, T>(&backend_, xt);
      }
    }
    s.self = Buffer<B, T>(&backend_, static_cast<size_t>(x.rows() * self_stride_ * 3));
    return s;
  }

  // The self pass of a side: each input against itself, recording its self quantities.
  void self_pass(Side& side, int64_t n) {
    if (!images_) {
      VectorArgs<T> a = vector_args(side, side);
      a.record = true;
      a.r0 = 0;
      a.rows = n;
      backend_.threads(VectorKernel<T>{a}, n);
      return;
    }
    std::vector<int64_t> idx(static_cast<size_t>(n)), out(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) idx[i] = out[i] = i;
    plane_pairs(side, side, idx, idx, out, n, false, true, nullptr, nullptr);
  }

  VectorArgs<T> vector_args(const Side& s1, const Side& s2) const {
    VectorArgs<T> a;
    a.steps = steps_.get();
    a.n_steps = static_cast<int>(host_steps_.size());
    a.ntk_param = plan_.param == Parameterization::kNtk;
    a.quad = quad_;
    a.x1 = s1.x.get();
    a.x2 = s2.x.get();
    a.v1 = s1.v0.get();
    a.v2 = s2.v0.get();
    a.d = x1_.row_size();
    a.self1 = s1.table(slot_offset_, self_stride_);
    a.self2 = s2.table(slot_offset_, self_stride_);
    return a;
  }

  // A fully-connected tile: the Gram, then one thread per pair.
  void vector_tile(const Side& s2, int64_t r0, int64_t c0, int64_t nr, int64_t nc, T* nngp, T* ntk) const {
    const Side& s1 = side1_;
    const int64_t d = x1_.row_size();
    Buffer<B, T> gram(&backend_, static_cast<size_t>(nr * nc));
    const T alpha = static_cast<T>(1.0 / static_cast<double>(d));
    const T* a = std::is_same<T, float>::value ? reinterpret_cast<const T*>(s1.xt.get())
                                               : reinterpret_cast<const T*>(s1.x.get());
    const T* b = std::is_same<T, float>::value ? reinterpret_cast<const T*>(s2.xt.get())
                                               : reinterpret_cast<const T*>(s2.x.get());
    backend_.gemm_nt(nr, nc, d, alpha, a + r0 * d, b + c0 * d, gram.get());
    Buffer<B, T> oc(&backend_, nngp ? gram.size() : 0), ot(&backend_, ntk ? gram.size() : 0);
    VectorArgs<T> args = vector_args(s1, s2);
    args.gram = gram.get();
    args.r0 = r0;
    args.c0 = c0;
    args.rows = nr;
    args.cols = nc;
    args.nngp = oc.get();
    args.ntk = ot.get();
    backend_.threads(VectorKernel<T>{args}, nr * nc);
    if (nngp) oc.download(nngp, oc.size());
    if (ntk) ot.download(ntk, ot.size());
  }

  // Convolutional pairs (pair_i[q], pair_j[q]) through every segment, in batches that fit the backend's
  // memory; results at out[out_index[q]] (host arrays of n_out values; nullptr in self mode, which records
  // the self quantities of side s1 = s2).
  void plane_pairs(const Side& s1, const Side& s2, const std::vector<int64_t>& pair_i,
                   const std::vector<int64_t>& pair_j, const std::vector<int64_t>& out_index, int64_t n_out,
                   bool with_ntk, bool record, T* nngp, T* ntk) const {
    const int64_t pairs = static_cast<int64_t>(pair_i.size());
    if (pairs == 0) return;
    const Segment& last = segs_.back();
    const int64_t last_planes = static_cast<int64_t>(last.planes.size() / 2);
    const int64_t per_pair = 4 * max_total_ * static_cast<int64_t>(sizeof(T)) + 2 * last_planes * 8 +
                             3 * static_cast<int64_t>(sizeof(int64_t));
    const int64_t batch = std::max<int64_t>(1, std::min<int64_t>(pairs, backend_.memory_budget() / per_pair));
    Buffer<B, T> buf_c[2], buf_t[2];
    for (int k = 0; k < 2 && segs_.size() > 1; ++k) {
      buf_c[k] = Buffer<B, T>(&backend_, static_cast<size_t>(batch * max_total_));
      if (with_ntk) buf_t[k] = Buffer<B, T>(&backend_, static_cast<size_t>(batch * max_total_));
    }
    Buffer<B, double> partial(&backend_, static_cast<size_t>(batch * std::max<int64_t>(last_planes, 1) * 2));
    Buffer<B, int64_t> di(&backend_, static_cast<size_t>(batch)), dj(&backend_, static_cast<size_t>(batch)),
        dout(&backend_, static_cast<size_t>(batch));
    Buffer<B, T> oc(&backend_, record ? 0 : static_cast<size_t>(n_out)),
        ot(&backend_, record || !with_ntk ? 0 : static_cast<size_t>(n_out));
    const Buffer<B, int> origin(&backend_, std::vector<int>{0, 0});
    const size_t shared = std::max<size_t>(
        static_cast<size_t>(plane_shared_values(max_plane_values_, plan_.max_stack)) * sizeof(T),
        2 * kThreads * sizeof(double));
    for (int64_t q0 = 0; q0 < pairs; q0 += batch) {
      const int64_t nb = std::min(batch, pairs - q0);
      di.upload(pair_i.data() + q0, static_cast<size_t>(nb));
      dj.upload(pair_j.data() + q0, static_cast<size_t>(nb));
      dout.upload(out_index.data() + q0, static_cast<size_t>(nb));
      for (size_t g = 0; g < segs_.size(); ++g) {
        const Segment& sg = segs_[g];
        PlaneArgs<T> a;
        a.steps = steps_.get();
        a.ntk_param = plan_.param == Parameterization::kNtk;
        a.quad = quad_;
        a.seg = sg.shape;
        a.pair_i = di.get();
        a.pair_j = dj.get();
        a.self1 = s1.table(slot_offset_, self_stride_);
        a.self2 = s2.table(slot_offset_, self_stride_);
        a.with_ntk = with_ntk;
        if (g == 0) {
          a.x1 = s1.x.get();
          a.x2 = s2.x.get();
          a.channels = static_cast<int>(plan_.in.channels);
        } else {
          const Segment& prev = segs_[g - 1];
          a.in_c = buf_c[(g - 1) % 2].get();
          a.in_t = with_ntk ? buf_t[(g - 1) % 2].get() : nullptr;
          a.in_offset = prev.offset_dev.get();
          a.h_in = prev.shape.h_end;
          a.w_in = prev.shape.w_end;
          a.in_stride = max_total_;
        }
        if (g + 1 < segs_.size()) {
          a.out_c = buf_c[g % 2].get();
          a.out_t = with_ntk ? buf_t[g % 2].get() : nullptr;
          a.out_offset = sg.offset_dev.get();
          a.out_stride = max_total_;
        } else {
          a.partial = partial.get();
        }
        if (record) {
          // Plane (0, 0) of each self pair first, recording the segment's self quantities, which the other
          // planes then read; it is computed again with them (the same values).
          PlaneArgs<T> r = a;
          r.record = true;
          r.planes = origin.get();
          r.n_planes = 1;
          backend_.blocks(PlaneKernel<T>{r}, nb, shared);
        }
        a.planes = sg.planes_dev.get();
        a.n_planes = static_cast<int>(sg.planes.size() / 2);
        backend_.blocks(PlaneKernel<T>{a}, nb * a.n_planes, shared);
      }
      ReadoutKernel<T> k;
      k.steps = steps_.get();
      k.begin = readout_ + 1;
      k.end = static_cast<int>(host_steps_.size());
      k.ntk_param = plan_.param == Parameterization::kNtk;
      k.quad = quad_;
      k.partial = partial.get();
      k.n_planes = static_cast<int>(last_planes);
      k.n_pairs = nb;
      const double positions = static_cast<double>(last.shape.h_end) * last.shape.w_end;
      k.scale =
          plan_.steps[readout_].kind == FastStep::kGap ? 1.0 / (positions * positions) : 1.0 / positions;
      k.pair_i = di.get();
      k.pair_j = dj.get();
      k.self1 = s1.table(slot_offset_, self_stride_);
      k.self2 = s2.table(slot_offset_, self_stride_);
      k.record = record;
      k.with_ntk = with_ntk;
      k.out_index = dout.get();
      k.nngp = oc.get();
      k.ntk = ot.get();
      backend_.threads(k, nb);
    }
    if (nngp && oc.size()) oc.download(nngp, oc.size());
    if (ntk && ot.size()) ot.download(ntk, ot.size());
  }

  mutable B backend_;
  FastPlan plan_;
  const Tensor& x1_;
  const Tensor& x2_;
  bool symmetric_;
  KernelOptions options_;
  bool images_;
  int readout_ = -1;
  std::vector<Step<T>> host_steps_;
  Buffer<B, Step<T>> steps_;
  std::vector<Segment> segs_;
  int64_t max_plane_values_ = 1, max_total_ = 0;
  Buffer<B, int64_t> slot_offset_;
  int64_t self_stride_ = 1;
  Buffer<B, double> gh_nodes_, gh_weights_, polar_;
  Buffer<B, int> gh_offset_, gh_size_;
  QuadratureTables quad_;
  Side side1_, side2_;
};

// The engine for the case on backend B, or nullptr with the reason in *why (outside the GPU algorithm's
// scope, which gpu::unsupported states).
template <class B>
std::unique_ptr<KernelEngine> make_engine(const EngineCase& c, std::string* why) {
  const std::string reason = unsupported(c);
  if (!reason.empty()) {
    if (why) *why = reason;
    return nullptr;
  }
  std::optional<FastPlan> plan =
      fast::compile_fast_plan(c.arch, c.x1, c.options.parameterization, c.x1.rank() == 4, why);
  if (!plan) return nullptr;
  if (c.options.ctx.dtype == DType::kFloat32)
    return std::make_unique<Engine<float, B>>(std::move(*plan), c.x1, c.x2, c.options);
  return std::make_unique<Engine<double, B>>(std::move(*plan), c.x1, c.x2, c.options);
}

}  // namespace NTK_ISA
}  // namespace ntk::gpu
