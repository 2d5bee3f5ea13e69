list(APPEND NTK_TEST_SOURCES)
list(APPEND NTK_TEST_SOURCES tests/experiments/test_train.cpp tests/experiments/test_equivalence.cpp)
list(APPEND NTK_TEST_SOURCES tests/experiments/test_uci.cpp)
list(APPEND NTK_TEST_SOURCES tests/experiments/test_cifar_bench.cpp)
