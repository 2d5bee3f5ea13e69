// The reference kernel engine (engine.cpp): every layer's own map (Layer::kernel) on the pair state, one pair
// at a time. The ground truth every other engine is tested against.
#pragma once

#include <memory>
#include <vector>

#include "ntk/engine_registry.h"

namespace ntk {

std::unique_ptr<KernelEngine> make_reference_engine(const EngineCase& c);

// Largest |Σ| and |Θ| of a pair state after op `op` (infinity when any value is not finite); op =
// kInputCovariance: the input covariance x·x'/C, before the first op.
constexpr size_t kInputCovariance = static_cast<size_t>(-1);
struct OpMagnitude {
  size_t op = 0;
  double nngp = 0, ntk = 0;
};
// The self pair (row `row` of x, itself) through the architecture in float64, op by op (for diagnostics).
std::vector<OpMagnitude> trace_self_pair(const Architecture& arch, const Tensor& x, int64_t row,
                                         const KernelOptions& options);
void register_reference_engine(EngineRegistry& registry);

}  // namespace ntk
