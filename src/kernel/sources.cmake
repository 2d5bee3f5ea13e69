list(APPEND NTK_SOURCES src/kernel/engine.cpp src/kernel/numeric_guard.cpp src/kernel/registry.cpp src/kernel/multidepth.cpp
  src/kernel/tile_driver.cpp src/kernel/tiled_job.cpp src/kernel/gpu_engine.cpp)
# Fast engines: one translation unit per engine and instruction set (AVX-512, AVX2), each behind its
# `#pragma GCC target` and chosen at run time (fast_isa.h); SLEEF's vector math.
set(NTK_FAST_SOURCES src/kernel/fast_dispatch.cpp src/kernel/fast_fc_avx512.cpp src/kernel/fast_fc_avx2.cpp
  src/kernel/fast_cntk_avx512.cpp src/kernel/fast_cntk_avx2.cpp)
list(APPEND NTK_SOURCES ${NTK_FAST_SOURCES})
find_path(NTK_SLEEF_INCLUDE_DIR sleef.h)
find_library(NTK_SLEEF_LIBRARY NAMES sleef)
set_source_files_properties(${NTK_FAST_SOURCES} PROPERTIES COMPILE_OPTIONS "-ffp-contract=off;-O3")
if(NTK_SLEEF_INCLUDE_DIR AND NTK_SLEEF_LIBRARY AND CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set_source_files_properties(${NTK_FAST_SOURCES} PROPERTIES COMPILE_DEFINITIONS NTK_FAST_KERNELS=1)
  # Linked into every target defined after this point (the library and its executables).
  link_libraries(${NTK_SLEEF_LIBRARY})
else()
  message(STATUS "SLEEF or x86-64 not found: kernels use the reference engine only")
endif()
