// The reference kernel engine (engine.cpp): every layer's own map (Layer::kernel) on the pair state, one pair
// at a time. The ground truth every other engine is tested against.
#pragma once

#include <memory>

#include "ntk/engine_registry.h"

namespace ntk {

std::unique_ptr<KernelEngine> make_reference_engine(const EngineCase& c);
void register_reference_engine(EngineRegistry& registry);

}  // namespace ntk
