list(APPEND NTK_SOURCES src/core/error.cpp src/core/tensor.cpp src/core/context.cpp src/core/progress.cpp
  src/core/options.cpp src/platform/blas_tuning.cpp src/platform/threads.cpp)
