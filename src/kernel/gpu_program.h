// The GPU engine's programs: what one thread (fully-connected pairs, the readout; operator()(index)) or one
// block (an offset plane of a convolutional pair; operator()(block, team)) computes, written once over the
// layers' shared math (src/layers/math/) on scalar lanes, and compiled twice: by nvcc for the device
// (gpu_engine.cu, NTK_ISA = cuda) and by the host compiler for the host backend (gpu_engine.cpp, NTK_ISA =
// gpuhost), on which the test suite runs the GPU algorithm on machines without a GPU. A block works through a
// Team: its thread index, its size and a barrier (one thread and no barrier on the host), and one buffer of
// shared memory.
//
// The plane algorithm (docs/design.md, "The GPU engine"): a stride-1 convolution keeps the offset Δ = q - p
// of a pair of positions, so within a segment of the plan (the steps between two boundaries: avgpool, strided
// or circular convolutions) each plane Δ of a pair runs through every step on its own, in shared memory: the
// (h - |dy|) x (w - |dx|) pairs (p, p + Δ) inside the image, in local coordinates (r, c) with p = (oy + r,
// ox + c), oy = max(0, -dy), ox = max(0, -dx). A convolution's window reads local (r + a - pad, c + b - pad),
// zero outside, which is the zero padding. A segment ends in a readout (a plane's sum, for gap or flatten) or
// writes its planes, compact, for the next segment, whose planes gather them through the boundary's taps.
//
// The includer defines NTK_ISA before including this header (see lanes.h).
#pragma once

#include <cstdint>

#include "kernel/fast_plan.h"
#include "layers/math/activations.h"
#include "layers/math/affine.h"
#include "layers/math/correlation.h"
#include "layers/math/layernorm.h"
#include "layers/math/window.h"

namespace ntk::gpu {
inline namespace NTK_ISA {

using fast::FastPlan;
using fast::FastStep;

template <class T>
using Lanes = math::ScalarLanes<T>;

// The most nested residual blocks a program keeps on its stack (as the fast CPU engines).
constexpr int kMaxStack = 8;

// One step of the plan with its constants, as plain data that is copied to the device.
template <class T>
struct Step {
  FastStep::Kind kind;
  math::AffineConsts<T> affine;
  math::ActConsts<T> act;
  ActKind act_kind;
  StepKind self_kind;
  T inv_k2;
  int k, pad_lo, slot;
  bool valid, pool;
  int stride;
  Padding pad;
  int h, w, h_out, w_out;
};

template <class T>
inline Step<T> make_step(const FastStep& st) {
  Step<T> s;
  s.kind = st.kind;
  s.affine = math::affine_consts<T>(st.affine, st.fan_in);
  s.act = math::activation_consts<T>(st.act);
  s.act_kind = st.act.kind;
  s.self_kind = st.self_kind();
  s.inv_k2 = T(1) / static_cast<T>(st.k * st.k);
  s.k = st.k;
  s.pad_lo = st.pad_lo;
  s.slot = st.slot;
  s.valid = st.valid;
  s.pool = st.pool;
  s.stride = st.stride;
  s.pad = st.pad;
  s.h = static_cast<int>(st.h);
  s.w = static_cast<int>(st.w);
  s.h_out = static_cast<int>(st.h_out);
  s.w_out = static_cast<int>(st.w_out);
  return s;
}

// The quadrature rules (src/layers/quadrature.h) where the programs read them: every Gauss–Hermite order n in
// [kMinHermiteOrder, kMaxHermiteOrder] at gh_offset[n] (gh_size[n] nodes), and the polar rule.
struct QuadratureTables {
  const double* gh_nodes = nullptr;
  const double* gh_weights = nullptr;
  const int* gh_offset = nullptr;
  const int* gh_size = nullptr;
  const double* angle_nodes = nullptr;
  const double* angle_weights = nullptr;
  int angles = 0;
  const double* radius_nodes = nullptr;
  const double* radius_weights = nullptr;
  int radii = 0;
};

// E[φ(u)φ(v)], E[φ'(u)φ'(v)] of one pair for a quadrature activation: the reference engine's rule and order.
template <class Act>
NTK_HD inline void quadrature_pair(const QuadratureTables& q, double v1, double v2, double c, double& ff,
                                   double& dd) {
  using D = Lanes<double>;
  if (Act::kKinked) {
    math::polar_expectations<D>(Act{}, q.angle_nodes, q.angle_weights, q.angles, q.radius_nodes,
                                q.radius_weights, q.radii, v1, v2, c, ff, dd);
    return;
  }
  const int n = math::gauss_hermite_order(Act::kPoleDistance, v1, v2);
  math::gauss_hermite_expectations<D>(Act{}, q.gh_nodes + q.gh_offset[n], q.gh_weights + q.gh_offset[n],
                                      q.gh_size[n], v1, v2, c, ff, dd);
}

// One activation on one pair: (a, b, q) of each input from math::self_quantities.
template <class T>
NTK_HD inline void apply_act(const Step<T>& st, const QuadratureTables& quad, T& c, T& t, bool with_ntk,
                             const T* self1, const T* self2) {
  if (math::is_closed_form(st.act_kind)) {
    math::activation_map<Lanes<T>>(st.act, c, t, with_ntk,
                                   math::SelfLanes<Lanes<T>>{self1[0], self1[1], self1[2]},
                                   math::SelfLanes<Lanes<T>>{self2[0], self2[1], self2[2]});
    return;
  }
  double ff = 0, dd = 0;
  const double v1 = static_cast<double>(self1[2]), v2 = static_cast<double>(self2[2]);
  switch (st.act_kind) {
#define NTK_X(kind_, type)                                                     \
  case ActKind::kind_:                                                         \
    quadrature_pair<math::type>(quad, v1, v2, static_cast<double>(c), ff, dd); \
    break;
    NTK_QUADRATURE_ACTIVATIONS(NTK_X)
#undef NTK_X
    default:
      break;
  }
  c = static_cast<T>(ff);
  if (with_ntk) t = static_cast<T>(static_cast<double>(t) * dd);
}

// A pointwise step (activation or layernorm) on one pair, with the inputs' self quantities at self1, self2
// (three values each). record != nullptr (a self pair): the quantities are first computed from c and stored
// there, and read back from there.
template <class T>
NTK_HD inline void pointwise(const Step<T>& st, const QuadratureTables& quad, T& c, T& t, bool with_ntk,
                             const T* self1, const T* self2, T* record) {
  if (record) {
    math::self_quantities<T>(st.self_kind, c, record[0], record[1], record[2]);
    self1 = self2 = record;
  }
  if (st.kind == FastStep::kAct)
    apply_act<T>(st, quad, c, t, with_ntk, self1, self2);
  else
    math::layernorm_map<Lanes<T>>(c, t, with_ntk, self1[1], self2[1]);
}

// Where the programs find an input's self quantities: three values (a, b, q) per position of a slot's image,
// at base + 3 (slot_offset[slot] + position), base = stride · input.
template <class T>
struct SelfTable {
  T* values = nullptr;
  const int64_t* slot_offset = nullptr;
  int64_t stride = 0;
  NTK_HD T* at(int64_t input, int slot, int64_t position) const {
    return values + 3 * (input * stride + slot_offset[slot] + position);
  }
};

// The steps [begin, end) of the plan on one pair of vectors (a fully-connected network, or the layers after a
// convolutional network's readout): c, t in, c, t out. Record mode (record_input >= 0; then i = j): the self
// quantities are recorded into self1 as they are met.
template <class T>
NTK_HD inline void vector_program(const Step<T>* steps, int begin, int end, bool ntk_param,
                                  const QuadratureTables& quad, T& c, T& t, bool with_ntk,
                                  const SelfTable<T>& self1, int64_t i, const SelfTable<T>& self2, int64_t j,
                                  bool record) {
  T stack_c[kMaxStack], stack_t[kMaxStack];
  int sp = 0;
  for (int s = begin; s < end; ++s) {
    const Step<T>& st = steps[s];
    switch (st.kind) {
      case FastStep::kAffine:
        math::affine_map<Lanes<T>>(st.affine, ntk_param, c, t, with_ntk);
        break;
      case FastStep::kAct:
      case FastStep::kLayerNorm:
        pointwise<T>(st, quad, c, t, with_ntk, self1.at(i, st.slot, 0), self2.at(j, st.slot, 0),
                     record ? self1.at(i, st.slot, 0) : nullptr);
        break;
      case FastStep::kFork:
        stack_c[sp] = c;
        stack_t[sp] = t;
        ++sp;
        break;
      case FastStep::kJoin:
        --sp;
        c += stack_c[sp];
        t += stack_t[sp];
        break;
      default:
        break;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Fully-connected networks: one thread per pair.

template <class T>
struct VectorArgs {
  const Step<T>* steps = nullptr;
  int n_steps = 0;
  bool ntk_param = true;
  QuadratureTables quad;
  // Inputs (row-major, d values each) in double, their x . x / d, and the Gram x1 x2ᵀ / d (ld = cols).
  const double* x1 = nullptr;
  const double* x2 = nullptr;
  const double* v1 = nullptr;
  const double* v2 = nullptr;
  int64_t d = 0;
  const T* gram = nullptr;
  // The tile: rows [r0, r0 + rows) x columns [c0, c0 + cols); outputs row-major, ld = cols.
  int64_t r0 = 0, c0 = 0, rows = 0, cols = 0;
  SelfTable<T> self1, self2;
  T* nngp = nullptr;
  T* ntk = nullptr;
  // Self mode: the inputs [r0, r0 + rows) of x1 against themselves, recording self1.
  bool record = false;
};

// The input covariance x . x' / d in double, in index order (the reference engine's).
NTK_HD inline double exact_dot(const double* a, const double* b, int64_t d) {
  double acc = 0;
  for (int64_t k = 0; k < d; ++k) acc += a[k] * b[k];
  return acc * (1.0 / static_cast<double>(d));
}

template <class T>
struct VectorKernel {
  VectorArgs<T> a;
  // Thread `index` of the launch: one pair (or one input in self mode).
  NTK_HD void operator()(int64_t index) const {
    if (a.record) {
      if (index >= a.rows) return;
      const int64_t i = a.r0 + index;
      T c = static_cast<T>(a.v1[i]), t = T(0);
      vector_program<T>(a.steps, 0, a.n_steps, a.ntk_param, a.quad, c, t, false, a.self1, i, a.self1, i,
                        true);
      return;
    }
    if (index >= a.rows * a.cols) return;
    const int64_t r = index / a.cols, col = index % a.cols, i = a.r0 + r, j = a.c0 + col;
    T c = a.gram[index], t = T(0);
    // Nearly (anti-)parallel inputs: the covariance exactly as the self-variances were formed, so that an
    // input's correlation with itself is exactly 1.
    const double thr = sizeof(T) == 4 ? 1 - 1e-4 : 1 - 1e-9;
    if (static_cast<double>(c) * static_cast<double>(c) > thr * a.v1[i] * a.v2[j])
      c = static_cast<T>(exact_dot(a.x1 + i * a.d, a.x2 + j * a.d, a.d));
    vector_program<T>(a.steps, 0, a.n_steps, a.ntk_param, a.quad, c, t, a.ntk != nullptr, a.self1, i, a.self2,
                      j, false);
    if (a.nngp) a.nngp[index] = c;
    if (a.ntk) a.ntk[index] = t;
  }
};

// ---------------------------------------------------------------------------------------------------------
// Convolutional networks: one block per plane of a pair.

// One segment of the plan: steps [begin, end) on images of h x w at its start; the boundary step that feeds
// it (begin - 1) unless it is the first; its planes' offsets in a compact store (plane (dy, dx) at
// plane_offset[(dy + h - 1)(2w - 1) + dx + w - 1], (h - |dy|)(w - |dx|) values, `total` in all) as the
// previous segment writes them at the boundary's input size.
struct SegmentShape {
  int begin = 0, end = 0;
  int h = 1, w = 1;
  int h_end = 1, w_end = 1;  // image size at the segment's end (valid convolutions shrink it)
};

template <class T>
struct PlaneArgs {
  const Step<T>* steps = nullptr;
  bool ntk_param = true;
  QuadratureTables quad;
  SegmentShape seg;
  // The planes of this launch: plane p of pair q is block q · n_planes + p; planes[2p], planes[2p + 1] =
  // (dy, dx).
  const int* planes = nullptr;
  int n_planes = 0;
  // The pairs: pair q is (x1 input pair_i[q], x2 input pair_j[q]).
  const int64_t* pair_i = nullptr;
  const int64_t* pair_j = nullptr;
  SelfTable<T> self1, self2;
  bool record = false;  // self pairs (i = j), plane (0, 0): record the self quantities of the segment
  bool with_ntk = true;
  // First segment: the images (N, H, W, C) in double.
  const double* x1 = nullptr;
  const double* x2 = nullptr;
  int channels = 1;
  // Later segments: the previous segment's planes, compact (its plane_offset, its end size h_in x w_in), per
  // pair at in_c + q · in_stride; the boundary step is steps[seg.begin - 1].
  const T* in_c = nullptr;
  const T* in_t = nullptr;
  const int64_t* in_offset = nullptr;
  int h_in = 1, w_in = 1;
  int64_t in_stride = 0;
  // Output: planes for the next segment (out_offset at its h_end x w_end) or, at the readout, each block's
  // sums of Σ and Θ at partial[2 block], partial[2 block + 1].
  T* out_c = nullptr;
  T* out_t = nullptr;
  const int64_t* out_offset = nullptr;
  int64_t out_stride = 0;
  double* partial = nullptr;
};

// Shared memory of a plane block: Σ and Θ, their next values and the residual stack, plane_values each.
NTK_HD inline int64_t plane_shared_values(int64_t plane_values, int max_stack) {
  return plane_values * (4 + 2 * static_cast<int64_t>(max_stack));
}

// The compact index of the pair of positions (p, q) of an h x w image (p = (py, px), q = (qy, qx)).
NTK_HD inline int64_t compact_index(const int64_t* offset, int h, int w, int py, int px, int qy, int qx) {
  const int dy = qy - py, dx = qx - px;
  const int oy = dy < 0 ? -dy : 0, ox = dx < 0 ? -dx : 0;
  const int wd = w - (dx < 0 ? -dx : dx);
  return offset[(dy + h - 1) * (2 * w - 1) + dx + w - 1] + static_cast<int64_t>(py - oy) * wd + (px - ox);
}

template <class T>
struct PlaneKernel {
  PlaneArgs<T> a;

  template <class Team>
  NTK_HD void operator()(int64_t block, Team& team) const {
    const int64_t pair = block / a.n_planes;
    const int plane = static_cast<int>(block % a.n_planes);
    const int dy = a.planes[2 * plane], dx = a.planes[2 * plane + 1];
    const int64_t i = a.pair_i[pair], j = a.pair_j[pair];
    const bool with_ntk = a.with_ntk;
    int h = a.seg.h, w = a.seg.w;
    int hd = h - (dy < 0 ? -dy : dy), wd = w - (dx < 0 ? -dx : dx);
    const int oy = dy < 0 ? -dy : 0, ox = dx < 0 ? -dx : 0;
    const int rank = team.rank(), size = team.size();
    const int64_t pv = static_cast<int64_t>(a.seg.h) * a.seg.w;
    T* C = team.template shared<T>();
    T* Th = C + pv;
    T* C2 = Th + pv;
    T* T2 = C2 + pv;
    T* stack = T2 + pv;
    if (hd > 0 && wd > 0) {
      // The plane's values at the segment's start.
      if (a.x1) {
        const int ch = a.channels;
        const double inv_c = 1.0 / static_cast<double>(ch);
        const double* X1 = a.x1 + i * pv * ch;
        const double* X2 = a.x2 + j * pv * ch;
        for (int e = rank; e < hd * wd; e += size) {
          const int r = e / wd, col = e % wd;
          const int64_t p = static_cast<int64_t>(oy + r) * w + ox + col,
                        q = p + static_cast<int64_t>(dy) * w + dx;
          double acc = 0;
          for (int k = 0; k < ch; ++k) acc += X1[p * ch + k] * X2[q * ch + k];
          C[e] = static_cast<T>(acc * inv_c);
          Th[e] = T(0);
        }
      } else {
        gather(pair, dy, dx, oy, ox, hd, wd, C, Th, rank, size);
      }
    }
    team.sync();
    int sp = 0;
    for (int s = a.seg.begin; s < a.seg.end && hd > 0 && wd > 0; ++s) {
      const Step<T>& st = a.steps[s];
      switch (st.kind) {
        case FastStep::kConv: {
          const int shrink = st.valid ? st.k - 1 : 0;
          const int ho = hd - shrink, wo = wd - shrink;
          if (ho > 0 && wo > 0) {
            for (int e = rank; e < ho * wo; e += size) {
              const int r = e / wo, col = e % wo;
              T sc = T(0), stt = T(0);
              for (int ay = 0; ay < st.k; ++ay) {
                const int rr = r + ay - st.pad_lo;
                if (rr < 0 || rr >= hd) continue;
                for (int ax = 0; ax < st.k; ++ax) {
                  const int cc = col + ax - st.pad_lo;
                  if (cc < 0 || cc >= wd) continue;
                  sc += C[rr * wd + cc];
                  if (with_ntk) stt += Th[rr * wd + cc];
                }
              }
              sc *= st.inv_k2;
              stt *= st.inv_k2;
              math::affine_map<Lanes<T>>(st.affine, a.ntk_param, sc, stt, with_ntk);
              C2[e] = sc;
              T2[e] = stt;
            }
          }
          team.sync();
          T* x = C;
          C = C2;
          C2 = x;
          x = Th;
          Th = T2;
          T2 = x;
          hd = ho;
          wd = wo;
          h = st.valid ? h - shrink : h;
          w = st.valid ? w - shrink : w;
          break;
        }
        case FastStep::kAffine:
          for (int e = rank; e < hd * wd; e += size)
            math::affine_map<Lanes<T>>(st.affine, a.ntk_param, C[e], Th[e], with_ntk);
          break;
        case FastStep::kAct:
        case FastStep::kLayerNorm:
          for (int e = rank; e < hd * wd; e += size) {
            const int r = e / wd, col = e % wd;
            const int64_t p = static_cast<int64_t>(oy + r) * w + ox + col,
                          q = p + static_cast<int64_t>(dy) * w + dx;
            T* rec = a.record ? a.self1.at(i, st.slot, p) : nullptr;
            pointwise<T>(st, a.quad, C[e], Th[e], with_ntk, a.self1.at(i, st.slot, p),
                         a.self2.at(j, st.slot, q), rec);
          }
          break;
        case FastStep::kFork:
          for (int e = rank; e < hd * wd; e += size) {
            stack[(2 * sp) * pv + e] = C[e];
            stack[(2 * sp + 1) * pv + e] = Th[e];
          }
          ++sp;
          break;
        case FastStep::kJoin:
          --sp;
          for (int e = rank; e < hd * wd; e += size) {
            C[e] += stack[(2 * sp) * pv + e];
            Th[e] += stack[(2 * sp + 1) * pv + e];
          }
          break;
        default:
          break;
      }
      team.sync();
    }
    const bool alive = hd > 0 && wd > 0;
    if (a.partial) {
      // The readout: the plane's sums, in a fixed order (per thread, then a tree over the threads).
      double sc = 0, stt = 0;
      if (alive)
        for (int e = rank; e < hd * wd; e += size) {
          sc += static_cast<double>(C[e]);
          stt += static_cast<double>(Th[e]);
        }
      team.sync();
      double* red = team.template shared<double>();
      red[2 * rank] = sc;
      red[2 * rank + 1] = stt;
      team.sync();
      for (int half = size / 2; half > 0; half /= 2) {
        if (rank < half) {
          red[2 * rank] += red[2 * (rank + half)];
          red[2 * rank + 1] += red[2 * (rank + half) + 1];
        }
        team.sync();
      }
      if (rank == 0) {
        a.partial[2 * block] = red[0];
        a.partial[2 * block + 1] = red[1];
      }
      return;
    }
    if (!alive) return;
    // The planes for the next segment, compact.
    const int64_t o = a.out_offset[(dy + h - 1) * (2 * w - 1) + dx + w - 1] + pair * a.out_stride;
    for (int e = rank; e < hd * wd; e += size) {
      a.out_c[o + e] = C[e];
      if (with_ntk) a.out_t[o + e] = Th[e];
    }
  }

  // The boundary (steps[seg.begin - 1]) into this plane: entry (r, col) of plane Δ' at output position u =
  // (oy + r, ox + col) is the window mean over the tap pairs (all (a, b) for a pool, a = b for a convolution,
  // then its affine map) of the input pair (s u + a - pad, s (u + Δ') + b - pad), 0 in zero padding, wrapped
  // for circular padding (math::window_index).
  NTK_HD void gather(int64_t pair, int dy, int dx, int oy, int ox, int hd, int wd, T* C, T* Th, int rank,
                     int size) const {
    const Step<T>& bs = a.steps[a.seg.begin - 1];
    const math::Window1d wy = math::window_1d(a.h_in, bs.k, bs.stride, bs.pad);
    const math::Window1d wx = math::window_1d(a.w_in, bs.k, bs.stride, bs.pad);
    const T scale = bs.pool ? bs.inv_k2 * bs.inv_k2 : bs.inv_k2;
    const T* in_c = a.in_c + pair * a.in_stride;
    const T* in_t = a.with_ntk ? a.in_t + pair * a.in_stride : nullptr;
    const int k = bs.k;
    for (int e = rank; e < hd * wd; e += size) {
      const int uy = oy + e / wd, ux = ox + e % wd, vy = uy + dy, vx = ux + dx;
      T sc = T(0), stt = T(0);
      for (int ay = 0; ay < k; ++ay) {
        const int p1y = static_cast<int>(math::window_index(uy, ay, bs.stride, wy.pad_lo, a.h_in, bs.pad));
        if (p1y < 0) continue;
        for (int by = bs.pool ? 0 : ay; by < (bs.pool ? k : ay + 1); ++by) {
          const int p2y = static_cast<int>(math::window_index(vy, by, bs.stride, wy.pad_lo, a.h_in, bs.pad));
          if (p2y < 0) continue;
          for (int ax = 0; ax < k; ++ax) {
            const int p1x =
                static_cast<int>(math::window_index(ux, ax, bs.stride, wx.pad_lo, a.w_in, bs.pad));
            if (p1x < 0) continue;
            for (int bx = bs.pool ? 0 : ax; bx < (bs.pool ? k : ax + 1); ++bx) {
              const int p2x =
                  static_cast<int>(math::window_index(vx, bx, bs.stride, wx.pad_lo, a.w_in, bs.pad));
              if (p2x < 0) continue;
              const int64_t at = compact_index(a.in_offset, a.h_in, a.w_in, p1y, p1x, p2y, p2x);
              sc += in_c[at];
              if (in_t) stt += in_t[at];
            }
          }
        }
      }
      sc *= scale;
      stt *= scale;
      if (!bs.pool) math::affine_map<Lanes<T>>(bs.affine, a.ntk_param, sc, stt, a.with_ntk);
      C[e] = sc;
      Th[e] = stt;
    }
  }
};

// The readout and the layers after it: one thread per pair. The pair's plane sums (n_planes of them at
// partial[2 (pair · n_planes + p)]) in plane order, scaled to the mean (gap: over P² position pairs; flatten:
// over the P positions of plane 0), then the vector program of the remaining steps; the result at
// out[out_index[pair]].
template <class T>
struct ReadoutKernel {
  const Step<T>* steps = nullptr;
  int begin = 0, end = 0;  // the steps after the readout
  bool ntk_param = true;
  QuadratureTables quad;
  const double* partial = nullptr;
  int n_planes = 0;
  int64_t n_pairs = 0;
  double scale = 1;
  const int64_t* pair_i = nullptr;
  const int64_t* pair_j = nullptr;
  SelfTable<T> self1, self2;
  bool record = false;
  bool with_ntk = true;
  const int64_t* out_index = nullptr;
  T* nngp = nullptr;
  T* ntk = nullptr;

  NTK_HD void operator()(int64_t pair) const {
    if (pair >= n_pairs) return;
    double sc = 0, stt = 0;
    for (int p = 0; p < n_planes; ++p) {
      sc += partial[2 * (pair * n_planes + p)];
      stt += partial[2 * (pair * n_planes + p) + 1];
    }
    T c = static_cast<T>(sc * scale), t = static_cast<T>(stt * scale);
    const int64_t i = pair_i[pair], j = pair_j[pair];
    vector_program<T>(steps, begin, end, ntk_param, quad, c, t, with_ntk && !record, self1, i, self2, j,
                      record);
    if (record) return;
    if (nngp) nngp[out_index[pair]] = c;
    if (ntk) ntk[out_index[pair]] = t;
  }
};

}  // namespace NTK_ISA
}  // namespace ntk::gpu
