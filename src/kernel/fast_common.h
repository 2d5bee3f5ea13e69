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

// One activation on a vector of pairs. c, t: Σ and Θ (updated); (a1, b1, q1), (a2, b2, q2): the self
// quantities of the two inputs (math::self_quantities).
template <class S>
inline void apply_act(const StepConsts<S>& k, typename S::V& c, typename S::V& t, bool with_ntk,
                      typename S::V a1, typename S::V b1, typename S::V q1, typename S::V a2,
                      typename S::V b2, typename S::V q2) {
  math::activation_map<S>(k.act, c, t, with_ntk, math::SelfLanes<S>{a1, b1, q1},
                          math::SelfLanes<S>{a2, b2, q2});
}

// ABRelu on R rows of pairs together: row r is input i0 + r (scalars A1, B1, Q1 at [r]) against the same
// vector of inputs (a2, b2, q2). The rows' dependency chains are independent and unrolled side by side, and
// when every lane of every row has ρ in (1/2, 1] (deep ReLU networks) or in [-1/2, 1/2], acos_sin skips the
// other branch's work. Bit for bit apply_act on each row.
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
  auto all_rows = [&](auto range) {
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
      math::ABReluAct::map_correlated<S, decltype(range)::value, kRelu>(
          k, rho[r], c[r], t[r], with_ntk, S::set1(A1[r]), S::set1(Q1[r]), a2, q2);
  };
  if (upper == S::tail(S::W))
    all_rows(std::integral_constant<AcosRange, AcosRange::kUpper>());
  else if (central == S::tail(S::W))
    all_rows(std::integral_constant<AcosRange, AcosRange::kCentral>());
  else
    all_rows(std::integral_constant<AcosRange, AcosRange::kAny>());
}

// ABRelu on one vector of pairs whose self quantities vary by lane (the CNTK engine's positions): as
// arc_cosine_rows with one row, the range of the vector's correlations picks acos_sin's branch. Bit for bit
// apply_act.
template <class S, bool kRelu>
NTK_ALWAYS_INLINE void arc_cosine_lanes(const math::ABReluAct::Consts<typename S::T>& k, typename S::V& c,
                                        typename S::V& t, bool with_ntk, typename S::V a1, typename S::V b1,
                                        typename S::V q1, typename S::V a2, typename S::V b2,
                                        typename S::V q2) {
  using T = typename S::T;
  using math::AcosRange;
  const typename S::V rho = math::clamped_correlation<S>(c, b1, b2);
  const typename S::V half = S::set1(T(0.5));
  if (S::gt(rho, half) == S::tail(S::W))
    math::ABReluAct::map_correlated<S, AcosRange::kUpper, kRelu>(k, rho, c, t, with_ntk, a1, q1, a2, q2);
  else if (S::le(S::abs(rho), half) == S::tail(S::W))
    math::ABReluAct::map_correlated<S, AcosRange::kCentral, kRelu>(k, rho, c, t, with_ntk, a1, q1, a2, q2);
  else
    math::ABReluAct::map_correlated<S, AcosRange::kAny, kRelu>(k, rho, c, t, with_ntk, a1, q1, a2, q2);
}

}  // namespace NTK_ISA
}  // namespace ntk::fast
