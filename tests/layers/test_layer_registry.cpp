// A walk of the layer registry: every layer and activation the architecture language knows is probed in a
// small network of its kind (fully connected for vector layers, convolutional for image layers). Every layer
// (closed forms and the quadrature activations alike) must be in the scope of every fast engine this machine
// can run, and the engines must agree with the reference engine on it. Adding a layer without its fast-engine
// step fails here.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "common/engine_axis.h"
#include "common/test_util.h"
#include "ntk/arch.h"
#include "ntk/engine_registry.h"
#include "ntk/kernel.h"

namespace ntk {
namespace {

// Layers that the fast engines do not run yet, each with the case it fails on. The list may only
// shrink: a layer listed here that a fast engine has started to run fails the test (take it off the list).
const std::set<std::string> kNotYetFast = {};

// The layer as written in a probe: required arguments (a window size) get 2, everything else its default.
std::string layer_item(const LayerInfo& info) {
  std::string args;
  for (const ArgSpec& a : info.args)
    if (a.default_value.empty()) args += (args.empty() ? "" : ", ") + std::string("2");
  return args.empty() ? info.name : info.name + "(" + args + ")";
}

struct Probe {
  std::string arch;
  bool images = false;
};

Probe probe_for(const LayerInfo& info, const LayerStep& step) {
  const std::string item = layer_item(info);
  const std::string fc_in = "dense(w_std=1.3, b_std=0.2)", conv_in = "conv(3, w_std=1.3, b_std=0.2)";
  switch (step.kind) {
    case StepKind::kActivation:
      return {fc_in + ", " + item + ", dense(w_std=0.9, b_std=0.1)", false};
    case StepKind::kDense:
      return {item + ", relu, dense", false};
    case StepKind::kLayerNorm:
    case StepKind::kIdentity:
      return {fc_in + ", " + item + ", relu, dense", false};
    case StepKind::kConv:
      return {item + ", relu, " + conv_in + ", relu, gap, dense", true};
    case StepKind::kAvgPool:
      return {conv_in + ", relu, " + item + ", flatten, dense", true};
    case StepKind::kGap:
    case StepKind::kFlatten:
      return {conv_in + ", relu, " + item + ", dense", true};
  }
  return {};
}

TEST(LayerRegistry, EveryLayerRunsOnEveryFastEngine) {
  const Tensor vectors = testing::random_tensor({9, 5}, 11),
               images = testing::random_tensor({5, 5, 6, 2}, 12);
  std::vector<std::string> engines;
  for (const std::string& e : testing::engines_under_test()) {
    const std::string why = testing::engine_unavailable(e);
    if (why.empty())
      engines.push_back(e);
    else
      std::printf("[ SKIPPED  ] %s: %s\n", e.c_str(), why.c_str());
  }
  if (engines.empty()) GTEST_SKIP() << "no fast engine runs on this machine";
  int walked = 0;
  for (const LayerInfo& info : LayerRegistry::instance().all()) {
    const Architecture single = Architecture::parse(layer_item(info));
    ASSERT_EQ(single.ops().size(), 1u) << info.name;
    const LayerStep step = single.ops()[0].layer->step();
    const Probe probe = probe_for(info, step);
    ASSERT_FALSE(probe.arch.empty()) << info.name << ": no probe for its step kind";
    SCOPED_TRACE(info.name + " in " + probe.arch);
    ++walked;
    const Architecture arch = Architecture::parse(probe.arch);
    const Tensor& x = probe.images ? images : vectors;
    for (const std::string& e : engines) {
      KernelOptions o;
      o.ctx.threads = 2;
      o.engine = e;
      const std::string why = EngineRegistry::instance().find(e)->why_not(EngineCase{arch, x, nullptr, o});
      if (kNotYetFast.count(info.name)) {
        EXPECT_NE(why, "") << e << " now runs " << info.name << ": take it off kNotYetFast";
        continue;
      }
      ASSERT_EQ(why, "") << e << " has no step for the layer " << info.name;
      const Kernels fast = compute_kernels(arch, x, nullptr, o);
      o.engine = "reference";
      const Kernels ref = compute_kernels(arch, x, nullptr, o);
      const double scale = ref.ntk.cwiseAbs().maxCoeff();
      EXPECT_LE((fast.ntk - ref.ntk).cwiseAbs().maxCoeff(), 1e-10 * scale) << e;
      EXPECT_LE((fast.nngp - ref.nngp).cwiseAbs().maxCoeff(), 1e-10 * scale) << e;
    }
  }
  EXPECT_GE(walked, 18);
}

}  // namespace
}  // namespace ntk
