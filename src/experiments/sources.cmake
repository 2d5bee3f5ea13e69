list(APPEND NTK_SOURCES)
list(APPEND NTK_SOURCES src/experiments/uci.cpp)
