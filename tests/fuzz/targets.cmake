# The fuzz targets: tests/fuzz/fuzz_<name>.cpp, each with its corpus in tests/fuzz/corpus/<name>/.
set(NTK_FUZZ_TARGETS npy npy_map csv libsvm idx cifar image image_folder uci arch kernel)
