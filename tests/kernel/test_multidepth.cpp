// The all-depths FC recursion (fc_kernels_all_depths) reads its activation exactly as an architecture string
// does: for every registered activation, with every argument given by keyword at a non-default value, its
// kernels equal compute_kernels on the written-out architecture. (It once read positional arguments only, so
// `erf(b=2)` was computed as `erf(2)`, a 175 % error at depth 2.)
#include <gtest/gtest.h>

#include <string>

#include "layers/activations.h"
#include "ntk/arch.h"
#include "ntk/error.h"
#include "ntk/kernel.h"

namespace ntk {
namespace {

// `name(arg1=v1, ...)`, each number argument moved off its default by 0.35·(position + 1).
std::string with_keyword_args(const LayerInfo& info) {
  std::string s = info.name;
  std::string args;
  for (size_t i = 0; i < info.args.size(); ++i) {
    const ArgSpec& a = info.args[i];
    if (a.type != ArgSpec::Type::kNumber) continue;
    const double v = std::stod(a.default_value.empty() ? "0" : a.default_value) + 0.35 * double(i + 1);
    args += strprintf("%s%s=%.17g", args.empty() ? "" : ", ", a.name.c_str(), v);
  }
  return args.empty() ? s : s + "(" + args + ")";
}

std::string fc_arch(int depth, int fixed, const std::string& act, double w, double b) {
  std::string s;
  for (int l = 1; l <= depth; ++l)
    s += strprintf("dense(w_std=%.17g, b_std=%.17g%s), %s, ", w, b, l <= fixed ? ", trainable=false" : "",
                   act.c_str());
  return s + strprintf("dense(w_std=%.17g, b_std=%.17g)", w, b);
}

TEST(AllDepths, EveryActivationWithKeywordArgumentsEqualsItsArchitecture) {
  Tensor x({7, 4});
  for (int64_t i = 0; i < int64_t(x.data.size()); ++i) x.data[i] = 0.9 * std::sin(1.7 * double(i) + 0.3);
  const double w = 1.2, b = 0.3;
  Context ctx;
  ctx.threads = 2;
  KernelOptions opt;
  opt.ctx = ctx;
  opt.engine = "reference";
  int walked = 0;
  for (const LayerInfo& info : LayerRegistry::instance().all()) {
    if (info.kind != "activation") continue;
    const std::string act = with_keyword_args(info);
    SCOPED_TRACE(act);
    ++walked;
    // Closed forms: the same arithmetic in a different order. Quadrature activations: both sides integrate to
    // their documented 1e-8, and the order follows the variances, which differ in the last bits.
    const Activation a(Architecture::parse(act).ops()[0].layer->step().act);
    const double tol = a.closed_form() ? 1e-12 : 1e-9;
    const std::vector<DepthKernel> all = fc_kernels_all_depths(x, nullptr, 2, act, w, b, ctx);
    for (const DepthKernel& k : all) {
      const std::string arch = fc_arch(k.depth, k.fixed, act, w, b);
      const Kernels sep = compute_kernels(arch, x, nullptr, opt);
      const double scale = sep.ntk.cwiseAbs().maxCoeff();
      EXPECT_LE((k.ntk - sep.ntk).cwiseAbs().maxCoeff(), tol * scale) << arch;
      EXPECT_LE((k.nngp - sep.nngp).cwiseAbs().maxCoeff(), tol * scale) << arch;
    }
  }
  EXPECT_GE(walked, 10);
}

TEST(AllDepths, RefusesWhatIsNotAnActivation) {
  Tensor x({3, 2}, std::vector<double>{1, 0, 0, 1, 1, 1});
  Context ctx;
  EXPECT_THROW(fc_kernels_all_depths(x, nullptr, 2, "dense", 1, 0, ctx), Error);
  EXPECT_THROW(fc_kernels_all_depths(x, nullptr, 2, "erf(q=1)", 1, 0, ctx), Error);
}

}  // namespace
}  // namespace ntk
