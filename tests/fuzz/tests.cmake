# The fuzz targets compiled into ntk_tests (NTK_FUZZ_REPLAY), where test_corpus.cpp replays each corpus: the
# seeds and every input that once crashed. The libFuzzer executables are built by tests/fuzz/fuzz.cmake.
include(tests/fuzz/targets.cmake)
foreach(_t ${NTK_FUZZ_TARGETS})
  list(APPEND NTK_TEST_SOURCES tests/fuzz/fuzz_${_t}.cpp)
  set_source_files_properties(tests/fuzz/fuzz_${_t}.cpp PROPERTIES COMPILE_DEFINITIONS NTK_FUZZ_REPLAY=1)
endforeach()
list(APPEND NTK_TEST_SOURCES tests/fuzz/test_corpus.cpp)
