set(NTK_CLI_SOURCES
  src/cli/main.cpp
  src/cli/common.cpp
  src/cli/cmd_kernel.cpp)
