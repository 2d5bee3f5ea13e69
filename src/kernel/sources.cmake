list(APPEND NTK_SOURCES src/kernel/engine.cpp src/kernel/multidepth.cpp)
