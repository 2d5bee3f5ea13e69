// The analytic map of an affine layer, dense or conv (neural-tangents' Dense and Conv):
//   Σ' = w_std² · Σ + b_std²
//   Θ' = own + w_std² · Θ,   own = Σ' (NTK parameterization), fan_in · Σ + [b_std ≠ 0] (standard),
//                            0 (trainable=false: the layer's parameters are not trained)
// For a convolution Σ and Θ are the means over the k x k window of the same offsets in both images (the
// engines form those sums; this is the map on the means). fan_in: input channels (dense) or k²·channels.
#pragma once

#include "layers/math/lanes.h"
#include "ntk/layer_step.h"

namespace ntk::math {
inline namespace NTK_ISA {

template <class T>
struct AffineConsts {
  T w2, b2, fan_in, bias;
  bool trainable;
};

template <class T>
NTK_HD inline AffineConsts<T> affine_consts(const AffineParams& p, double fan_in) {
  AffineConsts<T> k;
  k.w2 = static_cast<T>(p.w_std * p.w_std);
  k.b2 = static_cast<T>(p.b_std * p.b_std);
  k.fan_in = static_cast<T>(fan_in);
  k.bias = p.b_std != 0.0 ? T(1) : T(0);
  k.trainable = p.trainable;
  return k;
}

// c, t: Σ and Θ at the layer's input (window means for a convolution), replaced by the output's.
template <class S>
NTK_HD inline void affine_map(const AffineConsts<typename S::Scalar>& k, bool ntk_param, typename S::V& c,
                              typename S::V& t, bool with_ntk) {
  using V = typename S::V;
  const V w2 = S::set1(k.w2);
  const V sigma = S::mul_add(w2, c, S::set1(k.b2));
  if (with_ntk) {
    V own = S::zero();
    if (k.trainable) own = ntk_param ? sigma : S::mul_add(S::set1(k.fan_in), c, S::set1(k.bias));
    t = S::mul_add(w2, t, own);
  }
  c = sigma;
}

}  // namespace NTK_ISA
}  // namespace ntk::math
