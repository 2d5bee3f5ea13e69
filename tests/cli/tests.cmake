list(APPEND NTK_TEST_SOURCES tests/cli/test_cli.cpp)
