list(APPEND NTK_TEST_SOURCES tests/arch/test_arch.cpp)
