// The fast engines' inline vector math (src/kernel/fast_math.h) of every ISA, over whole arrays, for the
// tests (each ISA's wrappers are compiled in its own translation unit: fast_math_<isa>.cpp).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "layers/math/lanes.h"

namespace ntk::testing {

struct VmathIsa {
  const char* name;
  std::string (*unavailable)();  // "" when this CPU runs it
  // θ = acos ρ and sqrt(1 - ρ²) for n values (any n), with the given range specialisation.
  void (*acos_sin_f64)(const double* rho, double* theta, double* sn, size_t n, math::AcosRange range);
  void (*acos_sin_f32)(const float* rho, float* theta, float* sn, size_t n, math::AcosRange range);
  void (*sqrt_f64)(const double* x, double* y, size_t n);
  void (*sqrt_f32)(const float* x, float* y, size_t n);
};

VmathIsa vmath_avx512();
VmathIsa vmath_avx2();

}  // namespace ntk::testing
