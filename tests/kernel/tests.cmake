list(APPEND NTK_TEST_SOURCES tests/kernel/test_neural_tangents_reference.cpp)
list(APPEND NTK_TEST_SOURCES tests/kernel/test_tiled_job.cpp)
list(APPEND NTK_TEST_SOURCES tests/kernel/test_fast_paths.cpp)
list(APPEND NTK_TEST_SOURCES tests/kernel/test_fast_math.cpp)
