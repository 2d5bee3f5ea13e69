list(APPEND NTK_SOURCES src/kernel/engine.cpp src/kernel/multidepth.cpp src/kernel/tiled_job.cpp)
# Fast engines (fast_*.cpp): AVX-512 code behind `#pragma GCC target`, chosen at run time; SLEEF's vector math.
list(APPEND NTK_SOURCES src/kernel/fast_dispatch.cpp src/kernel/fast_fc.cpp src/kernel/fast_cntk.cpp)
find_path(NTK_SLEEF_INCLUDE_DIR sleef.h)
find_library(NTK_SLEEF_LIBRARY NAMES sleef)
set_source_files_properties(src/kernel/fast_dispatch.cpp src/kernel/fast_fc.cpp src/kernel/fast_cntk.cpp
                            PROPERTIES COMPILE_OPTIONS "-ffp-contract=off;-O3")
if(NTK_SLEEF_INCLUDE_DIR AND NTK_SLEEF_LIBRARY AND CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set_source_files_properties(src/kernel/fast_dispatch.cpp src/kernel/fast_fc.cpp src/kernel/fast_cntk.cpp
                              PROPERTIES COMPILE_DEFINITIONS NTK_FAST_KERNELS=1)
  # Linked into every target defined after this point (the library and its executables).
  link_libraries(${NTK_SLEEF_LIBRARY})
else()
  message(STATUS "SLEEF or x86-64 not found: kernels use the reference engine only")
endif()
