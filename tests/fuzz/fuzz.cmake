# libFuzzer executables fuzz_<name> (-DNTK_BUILD_FUZZERS=ON, clang only; scripts/fuzz.sh builds them into
# build-fuzz). Everything in this build, the library included, is compiled with coverage instrumentation and
# AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer comes with ASan), so any memory error, UB or
# leak in a loader stops the fuzzer with the input that caused it.
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "NTK_BUILD_FUZZERS needs clang and libFuzzer (apt-get install clang libclang-rt-14-dev "
                      "libomp-14-dev); configure with CC=clang CXX=clang++")
endif()
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
                    -gline-tables-only)
add_link_options(-fsanitize=address,undefined)
# The fast engines' translation units are written for GCC (`#pragma GCC target` per ISA), which clang does not
# honour: this build leaves them out and every kernel runs on the reference engine (the one the kernel target
# fuzzes; the fast engines are compared with it by the engine-axis tests).
list(FILTER NTK_SOURCES EXCLUDE REGEX "^src/kernel/fast_(fc|cntk)_(avx2|avx512)\\.cpp$")
# Only what the targets reach (readers, the architecture language, the kernel engine): a shorter build for CI.
list(FILTER NTK_SOURCES INCLUDE REGEX "^src/(core|platform|arch|layers|kernel|io)/")
set_source_files_properties(src/kernel/fast_dispatch.cpp PROPERTIES COMPILE_DEFINITIONS "")

include(tests/fuzz/targets.cmake)
add_custom_target(ntk_fuzzers)
foreach(_t ${NTK_FUZZ_TARGETS})
  add_executable(fuzz_${_t} tests/fuzz/fuzz_${_t}.cpp)
  target_include_directories(fuzz_${_t} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR}/tests)
  target_link_libraries(fuzz_${_t} PRIVATE ntk)
  target_link_options(fuzz_${_t} PRIVATE -fsanitize=fuzzer)
  add_dependencies(ntk_fuzzers fuzz_${_t})
endforeach()
