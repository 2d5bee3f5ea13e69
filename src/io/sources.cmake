list(APPEND NTK_SOURCES
     src/io/common.cpp
     src/io/npy.cpp
     src/io/npy_map.cpp
     src/io/kernel_file.cpp
     src/io/csv.cpp
     src/io/idx.cpp
     src/io/libsvm.cpp
     src/io/cifar.cpp
     src/io/image.cpp
     src/io/uci.cpp
     src/io/dataset.cpp)
