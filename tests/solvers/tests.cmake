list(APPEND NTK_TEST_SOURCES tests/solvers/test_linalg_flow.cpp tests/solvers/test_gp.cpp
     tests/solvers/test_svm_select.cpp tests/solvers/test_select_engine.cpp tests/solvers/test_cg.cpp)
