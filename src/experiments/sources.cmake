list(APPEND NTK_SOURCES)
list(APPEND NTK_SOURCES src/experiments/train.cpp src/experiments/equivalence_data.cpp
     src/experiments/equivalence_run.cpp src/experiments/equivalence_report.cpp
     src/experiments/equivalence_plot.cpp)
list(APPEND NTK_SOURCES src/experiments/uci.cpp)
list(APPEND NTK_SOURCES src/experiments/cifar.cpp)
