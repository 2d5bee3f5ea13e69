list(APPEND NTK_SOURCES src/network/network.cpp)
