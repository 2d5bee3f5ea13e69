// The kernel engines as registry entries (after ggml's backend registry and xgboost's device dispatch). Each
// entry says, for a case (architecture, inputs, options), whether it can run it and, if not, why; and creates
// the engine. KernelOptions::engine picks one:
//   "auto"      the first entry, in registry order, on options.ctx.device that can run the case (the fast CPU
//               engines before the reference engine, which runs everything on the CPU);
//   a family    "reference", "fast", "cuda": the first member of the family that can run the case;
//   a name      "fast-avx512", "fast-avx2", ...: that entry.
// An engine asked for by family or name that cannot run the case is an error carrying its reason.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ntk/context.h"
#include "ntk/kernel.h"
#include "ntk/kernel_engine.h"

namespace ntk {

struct EngineCase {
  const Architecture& arch;
  const Tensor& x1;
  const Tensor* x2;  // nullptr: x2 = x1
  const KernelOptions& options;
};

struct EngineInfo {
  std::string name;    // "reference", "fast-avx512", "fast-avx2", "cuda"
  std::string family;  // "reference", "fast", "cuda"
  Device device = Device::kCpu;
  std::string description;
  // "" when the engine can run the case, else why not (one line, no trailing period).
  std::function<std::string(const EngineCase&)> why_not;
  // Creates the engine; only called when why_not is "".
  std::function<std::unique_ptr<KernelEngine>(const EngineCase&)> create;
};

class EngineRegistry {
 public:
  static const EngineRegistry& instance();
  void add(EngineInfo info);
  const std::vector<EngineInfo>& all() const { return engines_; }
  const EngineInfo* find(const std::string& name) const;
  // Every name KernelOptions::engine accepts: auto, the families, the entries.
  std::vector<std::string> names() const;

 private:
  std::vector<EngineInfo> engines_;
};

// The entry that runs the case under options.engine (see above); throws ntk::Error naming the option
// `engine` (or `device`) and the reason when none can.
const EngineInfo& select_engine(const EngineCase& c);

// Every registered entry with "" (it can run the case) or the reason it cannot: what `ntk engines` prints.
std::vector<std::pair<std::string, std::string>> engine_support(const EngineCase& c);

// Registration functions of the built-in engines (reference: engine.cpp; fast: fast_dispatch.cpp; cuda:
// with NTK_ENABLE_CUDA).
void register_builtin_engines(EngineRegistry& registry);

}  // namespace ntk
