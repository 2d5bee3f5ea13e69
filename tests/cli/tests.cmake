list(APPEND NTK_TEST_SOURCES tests/cli/test_cli.cpp tests/cli/test_cli_options.cpp tests/cli/test_kill_resume.cpp)
