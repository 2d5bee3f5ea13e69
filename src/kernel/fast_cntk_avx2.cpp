// The convolutional fast engine compiled for avx2 (see fast_isa.h).
#include "kernel/fast_prelude.h"

#define NTK_ISA avx2
// GCC 12 false positives: the intrinsics' undefined pass-through operands (masked loads, and min/max once
// unrolled).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC push_options
#pragma GCC target("avx2,fma")
// clang-format off: the lane types before the engine that uses them
#include "kernel/simd_avx2.h"
#include "kernel/fast_cntk_engine.h"
// clang-format on
#pragma GCC pop_options
