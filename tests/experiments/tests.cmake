list(APPEND NTK_TEST_SOURCES)
list(APPEND NTK_TEST_SOURCES tests/experiments/test_uci.cpp)
