// The engine axis of the kernel tests (after xgboost's unified CPU/GPU tests and ggml's test-backend-ops):
// one test body runs on every registered engine, each compared with the reference engine, the ground truth.
//   engines_under_test()  every registry entry but the reference (fast-avx512, fast-avx2, later cuda);
//   engine_unavailable(e) why e cannot run on this machine at all (no AVX-512, no GPU), "" when it can:
//                         tests GTEST_SKIP with that reason, so a run says plainly what it did not cover;
//   for_each_engine(...)  every engine, reference included, that supports a case, with its kernels.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "ntk/arch.h"
#include "ntk/engine_registry.h"
#include "ntk/kernel.h"

namespace ntk::testing {

inline std::vector<std::string> engines_under_test() {
  std::vector<std::string> out;
  for (const EngineInfo& e : EngineRegistry::instance().all())
    if (e.family != "reference") out.push_back(e.name);
  return out;
}

// Asked of a trivial case: what is left is the machine's (or the build's) reason.
inline std::string engine_unavailable(const std::string& name) {
  const EngineInfo* e = EngineRegistry::instance().find(name);
  if (!e) return "no engine " + name + " in this build";
  static const Tensor x({2, 3}, {1, 2, 3, -1, 0.5, 2});
  const Architecture arch = Architecture::parse("dense, relu, dense");
  KernelOptions o;
  o.ctx.device = e->device;
  return e->why_not(EngineCase{arch, x, nullptr, o});
}

// Runs f(engine name, kernels) for every registered engine on options.ctx's device class that can run the
// case (the reference engine first). Returns how many ran.
inline int for_each_engine(const Architecture& arch, const Tensor& x1, const Tensor* x2, KernelOptions o,
                           const std::function<void(const std::string&, const Kernels&)>& f) {
  int ran = 0;
  for (const EngineInfo& e : EngineRegistry::instance().all()) {
    o.engine = e.name;
    o.ctx.device = e.device;
    if (!e.why_not(EngineCase{arch, x1, x2, o}).empty()) continue;
    SCOPED_TRACE("engine " + e.name);
    f(e.name, compute_kernels(arch, x1, x2, o));
    ++ran;
  }
  return ran;
}

}  // namespace ntk::testing
