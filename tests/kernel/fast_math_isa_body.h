// The array wrappers of the fast vector math for one ISA: included by fast_math_<isa>.cpp inside its target
// region, after it defines NTK_ISA and includes simd_<isa>.h (as the engine translation units do), so that
// every ISA is tested through the same code.
#pragma once

#include <cstring>

namespace ntk::testing {
namespace {

using math::AcosRange;

template <class T>
void acos_sin_array(const T* rho, T* theta, T* sn, size_t n, AcosRange range) {
  using L = fast::NTK_ISA::vmath::Lanes<T>;
  using V = typename L::V;
  constexpr size_t w = sizeof(V) / sizeof(T);
  for (size_t i = 0; i < n; i += w) {
    T in[w], t[w], s[w];
    for (size_t l = 0; l < w; ++l) in[l] = i + l < n ? rho[i + l] : rho[i];  // pad with a value of the range
    V r, tv, sv;
    std::memcpy(&r, in, sizeof r);
    if (range == AcosRange::kUpper)
      fast::NTK_ISA::vmath::acos_sin<L, AcosRange::kUpper>(r, tv, sv);
    else if (range == AcosRange::kCentral)
      fast::NTK_ISA::vmath::acos_sin<L, AcosRange::kCentral>(r, tv, sv);
    else
      fast::NTK_ISA::vmath::acos_sin<L>(r, tv, sv);
    std::memcpy(t, &tv, sizeof tv);
    std::memcpy(s, &sv, sizeof sv);
    for (size_t l = 0; l < w && i + l < n; ++l) theta[i + l] = t[l], sn[i + l] = s[l];
  }
}

template <class T>
void sqrt_array(const T* x, T* y, size_t n) {
  using L = fast::NTK_ISA::vmath::Lanes<T>;
  using V = typename L::V;
  constexpr size_t w = sizeof(V) / sizeof(T);
  for (size_t i = 0; i < n; i += w) {
    T in[w], out[w];
    for (size_t l = 0; l < w; ++l) in[l] = i + l < n ? x[i + l] : T(1);
    V v;
    std::memcpy(&v, in, sizeof v);
    v = L::sqrt_fast(v);
    std::memcpy(out, &v, sizeof v);
    for (size_t l = 0; l < w && i + l < n; ++l) y[i + l] = out[l];
  }
}

}  // namespace
}  // namespace ntk::testing
