// Window arithmetic of convolutions and pooling (JAX / neural-tangents conventions), shared by the layers'
// finite passes, the reference engine and the fast engines.
#pragma once

#include <cstdint>

#include "layers/math/lanes.h"
#include "ntk/layer_step.h"

namespace ntk::math {
inline namespace NTK_ISA {

// Output length and low-side padding of a window of size k, stride s over n positions: SAME pads
// (out-1)*s + k - n in total, the smaller half before; VALID pads nothing; CIRCULAR wraps with the layout of
// SAME.
struct Window1d {
  int64_t out = 0;
  int64_t pad_lo = 0;
};

NTK_HD inline Window1d window_1d(int64_t n, int64_t k, int64_t s, Padding p) {
  Window1d w;
  if (p == Padding::kValid) {
    w.out = n >= k ? (n - k) / s + 1 : 0;
    w.pad_lo = 0;
    return w;
  }
  w.out = (n + s - 1) / s;
  const int64_t total = (w.out - 1) * s + k - n;
  w.pad_lo = total > 0 ? total / 2 : 0;
  return w;
}

// Index of the input position for output o and filter tap t, or -1 when it falls into zero padding.
NTK_HD inline int64_t window_index(int64_t o, int64_t t, int64_t s, int64_t pad_lo, int64_t n, Padding p) {
  const int64_t i = o * s + t - pad_lo;
  if (i >= 0 && i < n) return i;
  if (p == Padding::kCircular) return ((i % n) + n) % n;
  return -1;
}

}  // namespace NTK_ISA
}  // namespace ntk::math
