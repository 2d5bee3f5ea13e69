// Inline vector math for the fast kernel engines: square roots without the divider unit and the joint
// (acos ρ, sqrt(1 - ρ²)) of the arc-cosine kernels, written once over an intrinsics trait vmath::Lanes<T>
// that each ISA defines (simd_avx512.h: AVX-512 vectors of 8 float64 or 16 float32; simd_avx2.h: AVX2 vectors
// of 4 or 8). Included by those headers inside their ISA's target region and namespace (ntk::fast::NTK_ISA).
//
// Why not SLEEF here: the arc-cosine map is the inner loop of every ReLU-family kernel, and an out-of-line
// call (SLEEF 3.5 has no inline headers) makes every vector register caller-saved, so several pairs cannot be
// kept in flight across it. Why not the divider for every root: vsqrtpd on 512-bit vectors issues one every
// ~20 cycles here, so two per pair and layer would bound the fused layer pass; acos_sin uses it once
// (float64) and otherwise fused multiply-adds that the compiler interleaves freely.
//
// Accuracy (tests/kernel/test_fast_math.cpp): sqrt within 1 ulp; acos within 2 ulp (float64) / 2 ulp
// (float32) and sqrt(1 - ρ²) within 2 ulp (float64), checked against libm on dense grids and at the end
// points.
#pragma once

#include "layers/math/lanes.h"

namespace ntk::fast {
namespace NTK_ISA {
namespace vmath {

// asin(u) = u + u·w·P(w), w ∈ [0, 1/4]: Chebyshev interpolants of (asin(√w)/√w - 1)/w, lowest degree first
// (scripts/gen_asin_polynomial.py 11 4; relative error of P 1.3e-15 and 3.8e-7, i.e. < 0.05 ulp of asin).
inline constexpr double kAsinP64[12] = {0.1666666666666665,   0.07500000000020764,   0.044642857103423646,
                                        0.03038194736709848,  0.02237204763174451,   0.017355259955786323,
                                        0.013929652902326633, 0.011875494382636922,  0.0078029494773533175,
                                        0.01603551434914882,  -0.010749050339697808, 0.028169218060881414};
inline constexpr float kAsinP32[5] = {0.16666672414795305f, 0.07498855072600821f, 0.04500138006991017f,
                                      0.026554542206161328f, 0.038085023561092654f};

// What an ISA's Lanes<T> provides (T: double or float): T, V, M, kAsinP, kAsinDegree, kSmallestNormal, kPi,
// kHalfPi; set1, add, sub, mul, fma, fnma (c - a·b), abs, blend(m, a, b) = m ? b : a, gt, ge, lt; sqrt_fast
// (square root, at least 1-ulp accurate) and sin_root (the square root used for sqrt(1 - ρ²)).
template <class T>
struct Lanes;

// sqrt(x) for x ≥ 0 from a 14-bit reciprocal square root estimate (L::rsqrt14), one Goldschmidt step (28
// bits) and one Newton correction of the root (which doubles the bits again); 0 for x below the smallest
// normal (the estimate treats subnormals as 0), which is below anything the kernels can resolve.
template <class L>
inline typename L::V sqrt_goldschmidt(typename L::V x) {
  using T = typename L::T;
  const auto half = L::set1(T(0.5));
  const auto y = L::rsqrt14(x);
  auto g = L::mul(x, y), h = L::mul(half, y);
  const auto r = L::fnma(g, h, half);
  g = L::fma(g, r, g);
  h = L::fma(h, r, h);
  const auto d = L::fnma(g, g, x);
  g = L::fma(d, h, g);
  return L::zero_unless(L::ge(x, L::set1(L::kSmallestNormal)), g);
}

// Which ρ a call of acos_sin may see: math::AcosRange (src/layers/math/lanes.h).
using math::AcosRange;

// θ = acos ρ and sn = sqrt(1 - ρ²) for ρ ∈ [-1, 1]. For |ρ| ≤ 1/2, acos ρ = π/2 - asin ρ; above,
// acos |ρ| = 2 asin(sqrt((1 - |ρ|)/2)), where 1 - |ρ| is exact, so θ keeps full relative accuracy as ρ → 1
// (where the kernels' derivatives are steepest); acos(-|ρ|) = π - acos |ρ|.
template <class L, AcosRange kRange = AcosRange::kAny>
NTK_ALWAYS_INLINE void acos_sin(typename L::V rho, typename L::V& theta, typename L::V& sn) {
  using T = typename L::T;
  using V = typename L::V;
  const V one = L::set1(T(1)), half = L::set1(T(0.5));
  const V a = kRange == AcosRange::kUpper ? rho : L::abs(rho);
  const V one_minus = L::sub(one, a);
  const V z = L::mul(one_minus, half);
  V w, u;
  typename L::M big{};
  if (kRange == AcosRange::kUpper) {
    w = z, u = L::sqrt_fast(z);
  } else if (kRange == AcosRange::kCentral) {
    w = L::mul(a, a), u = a;
  } else {
    big = L::gt(a, half);
    w = L::blend(big, L::mul(a, a), z);
    u = L::blend(big, a, L::sqrt_fast(z));
  }
  V p = L::set1(L::kAsinP[L::kAsinDegree]);
  for (int k = L::kAsinDegree - 1; k >= 0; --k) p = L::fma(p, w, L::set1(L::kAsinP[k]));
  const V as = L::fma(L::mul(u, w), p, u);  // asin u
  sn = L::sin_root(L::mul(one_minus, L::add(one, a)));
  if (kRange == AcosRange::kUpper) {
    theta = L::add(as, as);
    return;
  }
  const V half_pi_minus = L::sub(L::set1(L::kHalfPi), as);
  const V th = kRange == AcosRange::kCentral ? half_pi_minus : L::blend(big, half_pi_minus, L::add(as, as));
  theta = L::blend(L::lt(rho, L::set1(T(0))), th, L::sub(L::set1(L::kPi), th));  // acos |ρ| -> acos ρ
}

}  // namespace vmath
}  // namespace NTK_ISA
}  // namespace ntk::fast
