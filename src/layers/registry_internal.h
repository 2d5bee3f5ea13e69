// Registration functions of the built-in layers, one per source file (called by register_builtin_layers).
#pragma once

#include "ntk/arch.h"

namespace ntk::layers {
void register_dense(LayerRegistry& r);
void register_conv(LayerRegistry& r);
void register_pooling(LayerRegistry& r);
void register_normalization(LayerRegistry& r);
void register_activations(LayerRegistry& r);
}  // namespace ntk::layers
