list(APPEND NTK_SOURCES
  src/layers/common.cpp
  src/layers/scaling.cpp
  src/layers/quadrature.cpp
  src/layers/dense.cpp
  src/layers/conv.cpp
  src/layers/pooling.cpp
  src/layers/normalization.cpp
  src/layers/activations.cpp
  src/layers/registry.cpp)
