// The avx2 vector math over arrays (see fast_math_lanes.h), compiled as the engines are
// (src/kernel/fast_isa.h).
#include <cstring>
#include <string>

#include "kernel/fast_engines.h"
#include "kernel/fast_math_lanes.h"

#define NTK_ISA avx2
#pragma GCC push_options
#pragma GCC target("avx2,fma")
// clang-format off: the lane types before the wrappers that use them
#include "kernel/simd_avx2.h"
#include "kernel/fast_math_isa_body.h"
// clang-format on
#pragma GCC pop_options

namespace ntk::testing {
VmathIsa vmath_avx2() {
  return {"avx2",
          [] { return fast::isa_unavailable(fast::Isa::kAvx2); },
          acos_sin_array<double>,
          acos_sin_array<float>,
          sqrt_array<double>,
          sqrt_array<float>};
}
}  // namespace ntk::testing
