// The avx512 vector math over arrays (see fast_math_lanes.h), compiled as the engines are
// (src/kernel/fast_isa.h).
#include <cstring>
#include <string>

#include "kernel/fast_engines.h"
#include "kernel/fast_math_lanes.h"

#define NTK_ISA avx512
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")
#include "kernel/simd_avx512.h"

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
#pragma GCC pop_options

namespace ntk::testing {
VmathIsa vmath_avx512() {
  return {"avx512",
          [] { return fast::isa_unavailable(fast::Isa::kAvx512); },
          acos_sin_array<double>,
          acos_sin_array<float>,
          sqrt_array<double>,
          sqrt_array<float>};
}
}  // namespace ntk::testing
