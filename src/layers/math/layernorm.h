// layernorm over channels (neural-tangents' LayerNorm; Gaussian inputs only): with v1, v2 the
// self-variances, Σ' = Σ / sqrt((v1 + ε)(v2 + ε)), Θ' = Θ / sqrt((v1 + ε)(v2 + ε)); b = 1/sqrt(v + ε) from
// self_quantities.
#pragma once

#include "layers/math/correlation.h"

namespace ntk::math {
inline namespace NTK_ISA {

template <class S>
NTK_HD inline void layernorm_map(typename S::V& c, typename S::V& t, bool with_ntk, typename S::V b1,
                                 typename S::V b2) {
  const typename S::V inv = b1 * b2;
  c = c * inv;
  if (with_ntk) t = t * inv;
}

}  // namespace NTK_ISA
}  // namespace ntk::math
