set(NTK_CLI_SOURCES
  src/cli/main.cpp
  src/cli/common.cpp
  src/cli/cmd_kernel.cpp)
list(APPEND NTK_CLI_SOURCES src/cli/cmd_equivalence.cpp)
list(APPEND NTK_CLI_SOURCES src/cli/cmd_bench.cpp src/cli/cmd_bench_uci.cpp src/cli/cmd_regress.cpp src/cli/cmd_select.cpp
     src/cli/labeled_data.cpp)
list(APPEND NTK_CLI_SOURCES src/cli/cmd_bench_kernels.cpp)
list(APPEND NTK_CLI_SOURCES src/cli/cmd_bench_cifar10.cpp)
