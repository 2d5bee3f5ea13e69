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

// The taps [lo, hi) of output o's window that land inside the n input positions: all k of them for circular
// padding. The finite layers visit these (each tap has its own weights).
struct TapRange {
  int64_t lo = 0;
  int64_t hi = 0;
};

NTK_HD inline TapRange tap_range(int64_t o, int64_t k, int64_t s, int64_t pad_lo, int64_t n, Padding p) {
  TapRange r{0, k};
  if (p == Padding::kCircular) return r;
  const int64_t first = o * s - pad_lo;  // the input index of tap 0
  if (first < 0) r.lo = -first;
  if (first + k > n) r.hi = n - first;
  if (r.hi < r.lo) r.hi = r.lo;
  return r;
}

// The kernel maps sum over taps of a window mean, so taps that read the same input position can be folded:
// with circular padding, taps t and t + n do, and only the first min(k, n) are visited, each counted
// tap_multiplicity times. Loops over these cost O(min(k, n)) per output, so a window far larger than the
// image costs what the image does (a fuzzed conv(36666666) on a 3x3 image once looped over 10^15 taps of zero
// padding). For k <= n every multiplicity is 1: the same sums, in the same order, as visiting every tap.
NTK_HD inline TapRange kernel_tap_range(int64_t o, int64_t k, int64_t s, int64_t pad_lo, int64_t n,
                                        Padding p) {
  if (p == Padding::kCircular) return TapRange{0, k < n ? k : n};
  return tap_range(o, k, s, pad_lo, n, p);
}

// How many of the k taps read what tap t of kernel_tap_range does (taps t, t + n, t + 2n, ... for circular).
NTK_HD inline int64_t tap_multiplicity(int64_t t, int64_t k, int64_t n, Padding p) {
  return p == Padding::kCircular ? (k - t + n - 1) / n : 1;
}

// The taps that land inside both images' inputs (a pair of outputs reads the same tap of each).
NTK_HD inline TapRange common_taps(TapRange a, TapRange b) {
  TapRange r{a.lo > b.lo ? a.lo : b.lo, a.hi < b.hi ? a.hi : b.hi};
  if (r.hi < r.lo) r.hi = r.lo;
  return r;
}

}  // namespace NTK_ISA
}  // namespace ntk::math
