list(APPEND NTK_SOURCES src/solvers/linalg.cpp src/solvers/cg.cpp src/solvers/flow.cpp src/solvers/classify.cpp
     src/solvers/svm.cpp src/solvers/select.cpp src/solvers/options.cpp)
