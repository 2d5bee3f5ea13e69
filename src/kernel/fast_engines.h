// The fast CPU engines: one per instruction set, each compiled in its own translation units (fast_isa.h) and
// registered as an engine ("fast-avx512", "fast-avx2") by fast_dispatch.cpp, which checks the CPU before any
// of their code runs.
#pragma once

#include <memory>
#include <string>

#include "ntk/engine_registry.h"
#include "ntk/kernel_engine.h"

namespace ntk::fast {

enum class Isa { kAvx512, kAvx2 };
const char* isa_name(Isa isa);  // "avx512", "avx2"

// "" when this build and CPU can run the ISA's engines, else why not.
std::string isa_unavailable(Isa isa);

// A fast engine of the ISA for the case, or nullptr with the reason in *why. The ISA must be available.
std::unique_ptr<KernelEngine> make_engine(Isa isa, const EngineCase& c, std::string* why);

// "" when the inputs' magnitudes suit engines that keep variances within 1e150 (the fast CPU engines, the
// GPU engine), else why not.
std::string input_out_of_range(const EngineCase& c);

// Registers "fast-avx512" and "fast-avx2" (before the reference engine, so that `auto` prefers them).
void register_engines(EngineRegistry& registry);

// The per-ISA factories (fast_fc_<isa>.cpp, fast_cntk_<isa>.cpp): nullptr with the reason when the case is
// outside the engine's scope.
#define NTK_FAST_FACTORIES                                                                                   \
  std::unique_ptr<KernelEngine> make_fc_engine(const Architecture& arch, const Tensor& x1, const Tensor* x2, \
                                               const KernelOptions& options, std::string* why);              \
  std::unique_ptr<KernelEngine> make_cntk_engine(const Architecture& arch, const Tensor& x1,                 \
                                                 const Tensor* x2, const KernelOptions& options,             \
                                                 std::string* why);
namespace avx512 {
NTK_FAST_FACTORIES
}
namespace avx2 {
NTK_FAST_FACTORIES
}
#undef NTK_FAST_FACTORIES

}  // namespace ntk::fast
