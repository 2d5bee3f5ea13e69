// The convolutional fast engine compiled for avx512 (see fast_isa.h).
#include "kernel/fast_prelude.h"

#define NTK_ISA avx512
// GCC 12 false positives: the intrinsics' undefined pass-through operands (masked loads, and min/max once
// unrolled).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")
// clang-format off: the lane types before the engine that uses them
#include "kernel/simd_avx512.h"
#include "kernel/fast_cntk_engine.h"
// clang-format on
#pragma GCC pop_options
