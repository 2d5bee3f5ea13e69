list(APPEND NTK_TEST_SOURCES tests/kernel/test_neural_tangents_reference.cpp)
list(APPEND NTK_TEST_SOURCES tests/kernel/test_tiled_job.cpp)
list(APPEND NTK_TEST_SOURCES tests/kernel/test_multidepth.cpp tests/kernel/test_numerics.cpp)
list(APPEND NTK_TEST_SOURCES tests/kernel/test_engines.cpp)
list(APPEND NTK_TEST_SOURCES tests/kernel/test_fast_math.cpp)
list(APPEND NTK_TEST_SOURCES tests/kernel/fast_math_avx512.cpp tests/kernel/fast_math_avx2.cpp)
set_source_files_properties(tests/kernel/fast_math_avx512.cpp tests/kernel/fast_math_avx2.cpp
                            PROPERTIES COMPILE_OPTIONS "-ffp-contract=off;-O3")
