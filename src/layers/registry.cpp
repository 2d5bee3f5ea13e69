#include "layers/registry_internal.h"

namespace ntk {

void register_builtin_layers(LayerRegistry& registry) {
  layers::register_dense(registry);
  layers::register_conv(registry);
  layers::register_pooling(registry);
  layers::register_normalization(registry);
  layers::register_activations(registry);
}

}  // namespace ntk
