list(APPEND NTK_TEST_SOURCES
     tests/core/test_tensor.cpp tests/core/test_options.cpp)
