list(APPEND NTK_SOURCES src/arch/parser.cpp src/arch/architecture.cpp)
