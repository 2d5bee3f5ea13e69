// How the fast engines are compiled for several instruction sets.
//
// The engines (fast_fc_engine.h, fast_cntk_engine.h) are templates over a lane type Simd<T>; the layers' math
// (src/layers/math/) is templates over a lane type too. Each ISA compiles them in a translation unit of its
// own (fast_fc_avx512.cpp, fast_fc_avx2.cpp, fast_cntk_avx512.cpp, fast_cntk_avx2.cpp), which
//   1. includes fast_prelude.h first: every standard and baseline ntk header the engines need, so that no
//      template defined there is compiled under the ISA's target (a std::vector member instantiated under
//      AVX-512 could otherwise be the copy the linker keeps for the whole program);
//   2. defines NTK_ISA (avx512 or avx2): the engines, the lane types and the layers' math then live in the
//      inline namespaces ntk::fast::NTK_ISA and ntk::math::NTK_ISA, so no instantiation of one ISA merges
//      with another's or with the reference engine's (ntk::math::generic);
//   3. opens `#pragma GCC target` for the ISA, includes simd_<isa>.h and the engine header, and defines the
//      engine's factory ntk::fast::<isa>::make_*_engine (fast_engines.h).
// fast_dispatch.cpp (baseline ISA) checks the CPU and registers one engine per ISA that this build has.
#pragma once
