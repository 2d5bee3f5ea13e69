list(APPEND NTK_TEST_SOURCES
     tests/io/test_npy.cpp
     tests/io/test_csv.cpp
     tests/io/test_idx.cpp
     tests/io/test_formats.cpp
     tests/io/test_dataset.cpp)
