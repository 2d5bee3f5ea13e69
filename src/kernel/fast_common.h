// The fast engines' vector helpers over an ISA's lane type Simd<T> (simd_avx512.h, simd_avx2.h): each step's
// constants, and the pointwise maps as the engines call them, on the layers' shared math (src/layers/math/).
// Included after the ISA's simd header, inside its target region and namespace (see fast_isa.h).
//
// The translation units are compiled with -ffp-contract=off so that one formula gives bit-identical results
// wherever it is inlined: the self-variances recorded by prepare() and the pair (i, i) computed by a tile
// then agree exactly, which makes the correlation of an input with itself exactly 1, as in the reference
// engine.
#pragma once

#include "kernel/fast_plan.h"
#include "layers/math/activations.h"
#include "layers/math/affine.h"
#include "layers/math/layernorm.h"
#include "layers/math/window.h"
#include "layers/quadrature.h"

namespace ntk::fast {
namespace NTK_ISA {

// Constants of one step as scalars (broadcast where used: containers of vector types would need 64-byte
// aligned allocation): the affine map's, the activation's, and inv_k2 = 1 / k² of a convolution's window.
template <class S>
struct StepConsts {
  using T = typename S::T;
  math::AffineConsts<T> affine;
  math::ActConsts<T> act;
  T inv_k2;
  explicit StepConsts(const FastStep& st)
      : affine(math::affine_consts<T>(st.affine, st.fan_in)),
        act(math::activation_consts<T>(st.act)),
        inv_k2(T(1) / static_cast<T>(st.k * st.k)) {}
};

// E[φ(u)φ(v)] and E[φ'(u)φ'(v)] of one pair for a quadrature activation: the reference engine's rule and
// order (Activation::expectations) and the shared sums (math/act_quadrature.h) on this ISA's double lanes.
template <class Act>
inline void quadrature_pair(double v1, double v2, double c, double& e_ff, double& e_dd) {
  using D = Simd<double>;
  static_assert(quadrature::kRulePad % D::W == 0, "rules padded to whole vectors");
  if (Act::kKinked) {
    const quadrature::Rule& ang = quadrature::gauss_legendre(math::polar_angle_order(math::kPolarOrder));
    const quadrature::Rule& rad = quadrature::polar_radius(math::kPolarOrder);
    math::polar_expectations<D>(Act{}, ang.nodes.data(), ang.weights.data(), ang.size(),
                                rad.padded_nodes.data(), rad.padded_weights.data(), rad.size(), v1, v2, c,
                                e_ff, e_dd);
    return;
  }
  const quadrature::Rule& r =
      quadrature::gauss_hermite(math::gauss_hermite_order(Act::kPoleDistance, v1, v2));
  math::gauss_hermite_expectations<D>(Act{}, r.padded_nodes.data(), r.padded_weights.data(), r.size(), v1, v2,
                                      c, e_ff, e_dd);
}

// A quadrature activation on the lanes of m of a vector of pairs (the others are left as they are): each
// pair's own rule, in double as the reference engine (float32 engines convert per pair). q1, q2: the
// self-variances.
template <class S>
inline void quadrature_act(ActKind kind, typename S::M m, typename S::V& c, typename S::V& t, bool with_ntk,
                           typename S::V q1, typename S::V q2) {
  using T = typename S::T;
  alignas(64) T cl[S::W], tl[S::W], v1[S::W], v2[S::W];
  S::store(cl, c);
  S::store(tl, t);
  S::store(v1, q1);
  S::store(v2, q2);
  for (int l = 0; l < S::W; ++l) {
    if (!((m >> l) & 1)) continue;
    double ff = 0, dd = 0;
    switch (kind) {
#define NTK_X(kind_, type)                                    \
  case ActKind::kind_:                                        \
    quadrature_pair<math::type>(v1[l], v2[l], cl[l], ff, dd); \
    break;
      NTK_QUADRATURE_ACTIVATIONS(NTK_X)
#undef NTK_X
      default:
        break;
    }
    cl[l] = static_cast<T>(ff);
    tl[l] = static_cast<T>(static_cast<double>(tl[l]) * dd);
  }
  c = S::load(cl);
  if (with_ntk) t = S::load(tl);
}

// One activation on a vector of pairs. c, t: Σ and Θ (updated); (a1, b1, q1), (a2, b2, q2): the self
// quantities of the two inputs (math::self_quantities). m: the lanes that hold pairs (a quadrature activation
// computes only those).
template <class S>
inline void apply_act(const StepConsts<S>& k, typename S::V& c, typename S::V& t, bool with_ntk,
                      typename S::V a1, typename S::V b1, typename S::V q1, typename S::V a2,
                      typename S::V b2, typename S::V q2, typename S::M m = S::tail(S::W)) {
  if (!math::is_closed_form(k.act.kind)) return quadrature_act<S>(k.act.kind, m, c, t, with_ntk, q1, q2);
  math::activation_map<S>(k.act, c, t, with_ntk, math::SelfLanes<S>{a1, b1, q1},
                          math::SelfLanes<S>{a2, b2, q2});
}

// Calls body(range, exact) with the narrowest AcosRange that holds every lane (upper: all in (1/2, 1],
// central: all in [-1/2, 1/2]) and exact = whether any lane needs the exact path near |ρ| = 1 (see
// math::angle): each combination is its own instantiation, so the common one has no scalar fallback in it.
template <class Body>
NTK_ALWAYS_INLINE void dispatch_range(bool upper, bool central, bool near, Body&& body) {
  using math::AcosRange;
  auto with_range = [&](auto exact) {
    if (upper)
      body(std::integral_constant<AcosRange, AcosRange::kUpper>(), exact);
    else if (central)
      body(std::integral_constant<AcosRange, AcosRange::kCentral>(), exact);
    else
      body(std::integral_constant<AcosRange, AcosRange::kAny>(), exact);
  };
  if (near)
    with_range(std::true_type());
  else
    with_range(std::false_type());
}

// ABRelu on R rows of pairs together: row r is input i0 + r (scalars A1, B1, Q1 at [r]) against the same
// vector of inputs (a2, b2, q2). The rows' dependency chains are independent and unrolled side by side, and
// when every lane of every row has ρ in (1/2, 1] (deep ReLU networks) or in [-1/2, 1/2], acos_sin skips the
// other branch's work (dispatch_range). Bit for bit apply_act on each row.
template <class S, int R, bool kRelu>
inline void arc_cosine_rows(const math::ABReluAct::Consts<typename S::T>& k, typename S::V* c,
                            typename S::V* t, bool with_ntk, const typename S::T* A1, const typename S::T* B1,
                            const typename S::T* Q1, typename S::V a2, typename S::V b2, typename S::V q2) {
  using V = typename S::V;
  using T = typename S::T;
  using M = typename S::M;
  using math::AcosRange;
  V rho[R];
  const V half = S::set1(T(0.5));
  M upper = S::tail(S::W), central = S::tail(S::W);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    rho[r] = math::clamped_correlation<S>(c[r], S::set1(B1[r]), b2);
    upper &= S::gt(rho[r], half);
    central &= S::le(S::abs(rho[r]), half);
  }
  bool near = false;
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) near |= S::any(math::near_one_lanes<S>(rho[r]));
  auto all_rows = [&](auto range, auto exact) {
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
      math::ABReluAct::map_correlated<S, decltype(range)::value, kRelu, decltype(exact)::value>(
          k, rho[r], c[r], t[r], with_ntk, S::set1(A1[r]), S::set1(Q1[r]), a2, q2);
  };
  dispatch_range(upper == S::tail(S::W), central == S::tail(S::W), near, all_rows);
}

// The arc-cosine map of arc_cosine_block on its R vectors once the range is known; kExact as in math::angle.
template <class S, int R, bool kRelu, bool kExact>
NTK_ALWAYS_INLINE void arc_cosine_block_map(const math::ABReluAct::Consts<typename S::T>& k, typename S::V* c,
                                            typename S::V* t, bool with_ntk, const typename S::V* a1,
                                            const typename S::V* q1, const typename S::V* a2,
                                            const typename S::V* q2, const typename S::V* rho, bool upper,
                                            bool central) {
  auto all_rows = [&](auto range, auto exact) {
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
      math::ABReluAct::map_correlated<S, decltype(range)::value, kRelu, decltype(exact)::value>(
          k, rho[r], c[r], t[r], with_ntk, a1[r], q1[r], a2[r], q2[r]);
  };
  dispatch_range(upper, central, kExact, all_rows);
}

// Its rare case, some lane near |ρ| = 1: out of line, so that the exact path's scalar calls leave the
// register allocation of the common case alone (values live across a call are kept in memory).
template <class S, int R, bool kRelu>
__attribute__((noinline)) void arc_cosine_block_exact(const math::ABReluAct::Consts<typename S::T>& k,
                                                      typename S::V* c, typename S::V* t, bool with_ntk,
                                                      const typename S::V* a1, const typename S::V* q1,
                                                      const typename S::V* a2, const typename S::V* q2,
                                                      const typename S::V* rho, bool upper, bool central) {
  arc_cosine_block_map<S, R, kRelu, true>(k, c, t, with_ntk, a1, q1, a2, q2, rho, upper, central);
}

// ABRelu on R vectors of pairs whose self quantities vary by lane (R rows of a CNTK plane), side by side:
// as arc_cosine_rows, the R dependency chains are independent and interleaved, and the range of the
// correlations of the lanes that count (m[r]; the others are past a row's end, computed and discarded by the
// caller) picks acos_sin's branch. Bit for bit apply_act on every lane of m. The self quantities come as
// arrays of vectors (a1[r] ... q2[r]), not as math::SelfLanes: GCC copies arrays of such structs through
// general registers and stack halves, and the 32-byte reloads then miss store forwarding (~3x slower).
template <class S, int R, bool kRelu>
NTK_ALWAYS_INLINE void arc_cosine_block(const math::ABReluAct::Consts<typename S::T>& k, typename S::V* c,
                                        typename S::V* t, bool with_ntk, const typename S::V* a1,
                                        const typename S::V* b1, const typename S::V* q1,
                                        const typename S::V* a2, const typename S::V* b2,
                                        const typename S::V* q2, const typename S::M* m) {
  using V = typename S::V;
  using T = typename S::T;
  using M = typename S::M;
  using math::AcosRange;
  const M full = S::tail(S::W);
  const V half = S::set1(T(0.5));
  V rho[R];
  M upper = full;
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    rho[r] = math::clamped_correlation<S>(c[r], b1[r], b2[r]);
    upper = M(upper & (S::gt(rho[r], half) | M(~m[r])));
  }
  // The other ranges only when needed (deep ReLU networks are almost always upper); |ρ| = ρ there.
  bool central = false, near = false;
  if (upper == full) {
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) near |= S::any(M(S::gt(rho[r], S::set1(math::near_one<T>())) & m[r]));
  } else {
    M mid = full;
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      mid = M(mid & (S::le(S::abs(rho[r]), half) | M(~m[r])));
      near |= S::any(M(math::near_one_lanes<S>(rho[r]) & m[r]));
    }
    central = mid == full;
  }
  if (near)
    arc_cosine_block_exact<S, R, kRelu>(k, c, t, with_ntk, a1, q1, a2, q2, rho, upper == full, central);
  else
    arc_cosine_block_map<S, R, kRelu, false>(k, c, t, with_ntk, a1, q1, a2, q2, rho, upper == full, central);
}

}  // namespace NTK_ISA
}  // namespace ntk::fast
