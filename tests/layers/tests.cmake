list(APPEND NTK_TEST_SOURCES
  tests/layers/test_activations.cpp
  tests/layers/test_layers.cpp
  tests/layers/test_mup.cpp
  tests/layers/test_layer_registry.cpp
  tests/layers/test_kernels_vs_networks.cpp)
