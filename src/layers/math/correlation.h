// What the pointwise maps need of the two inputs of a pair, and their correlation.
//
// A nonlinearity's map reads, besides Σ(x, x') = c and Θ, each input's self-variance v = Σ(x, x) at the same
// position, as three numbers (SelfLanes): a = sqrt(v), b = 1/sqrt(v) (0 when v = 0) and q = v. Engines
// compute them once per input (and position) with self_quantities and keep them; layernorm uses b = 1/sqrt(v
// + ε).
#pragma once

#include "layers/math/lanes.h"
#include "ntk/layer_step.h"

namespace ntk::math {
inline namespace NTK_ISA {

constexpr double kLayerNormEpsilon = 1e-12;

template <class S>
struct SelfLanes {
  typename S::V a, b, q;
};

// The self quantities of one input of variance v for a step (see above), in scalars.
template <class T>
NTK_HD inline void self_quantities(StepKind kind, T v, T& a, T& b, T& q) {
  a = 0;
  b = 0;
  q = v;
  if (kind == StepKind::kLayerNorm) {
    b = static_cast<T>(1.0 / ::sqrt(static_cast<double>(v) + kLayerNormEpsilon));
    return;
  }
  const T s = ::sqrt(v > T(0) ? v : T(0));
  a = s;
  b = s > T(0) ? T(1) / s : T(0);
}

// The correlation ρ = c · b1 · b2 of a vector of pairs, clamped to [-1, 1].
template <class S>
NTK_HD inline typename S::V clamped_correlation(typename S::V c, typename S::V b1, typename S::V b2) {
  using T = typename S::Scalar;
  return S::min(S::max(c * (b1 * b2), S::set1(T(-1))), S::set1(T(1)));
}

// |ρ| above this is recomputed exactly (c / sqrt(v1 v2), in double), where acos is ill-conditioned.
template <class T>
NTK_HD inline T near_one() {
  return sizeof(T) == 4 ? T(1 - 1e-3) : T(1 - 1e-6);
}

// The lanes of a vector of correlations whose |ρ| is near 1 (recomputed exactly by angle).
template <class S>
NTK_HD NTK_ALWAYS_INLINE typename S::M near_one_lanes(typename S::V rho) {
  using T = typename S::Scalar;
  return S::gt(S::abs(rho), S::set1(near_one<T>()));
}

// θ = acos ρ and sqrt(1 - ρ²) of a vector of correlations from clamped_correlation (kRange as in
// AcosRange). Lanes with |ρ| near 1 are recomputed as c / sqrt(v1 v2) in double, so that an input's
// correlation with itself is exactly 1 and degenerate inputs round the same way in every engine.
// kExact = false leaves that out, for a caller that has checked that no lane is near 1 (near_one_lanes):
// the exact path's scalar calls make the compiler keep the vectors in memory around them, which halves the
// speed of the vector code even where the branch is never taken.
template <class S, AcosRange kRange = AcosRange::kAny, bool kExact = true>
NTK_HD NTK_ALWAYS_INLINE void angle(typename S::V c, typename S::V v1, typename S::V v2, typename S::V& rho,
                                    typename S::V& theta, typename S::V& sn) {
  S::template acos_sin<kRange>(rho, theta, sn);
  if (!kExact) return;
  const typename S::M near = near_one_lanes<S>(rho);
  if (S::any(near)) S::exact_correlation(near, c, v1, v2, rho, theta, sn);
}

}  // namespace NTK_ISA
}  // namespace ntk::math
