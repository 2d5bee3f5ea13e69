// Dispatch to the fast kernel engines, and the compiler from an Architecture to their flat step list.
// Compiled for the baseline ISA: the CPU check happens here, before any AVX-512 code runs.
#include <map>

#include "kernel/fast_common.h"
#include "kernel/fast_engines.h"

namespace ntk::fast {
namespace {

struct Desc {
  std::string name;
  std::vector<ArchArg> positional;
  std::map<std::string, ArchArg> named;
  double number(const std::string& key, size_t pos, double dflt) const {
    auto it = named.find(key);
    if (it != named.end()) return it->second.is_number ? it->second.number : dflt;
    if (pos < positional.size() && positional[pos].is_number) return positional[pos].number;
    return dflt;
  }
  std::string text(const std::string& key, const std::string& dflt) const {
    auto it = named.find(key);
    return it != named.end() ? it->second.text : dflt;
  }
};

// The layer as its canonical description writes it (every argument, numbers that round-trip).
Desc describe(const Layer& layer) {
  Desc d;
  auto nodes = parse_arch_syntax(layer.describe());
  NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, nodes.size() == 1, "fast engine: cannot read layer '%s'",
                        layer.describe().c_str());
  d.name = nodes[0]->name;
  for (const ArchArg& a : nodes[0]->args) {
    if (a.key.empty())
      d.positional.push_back(a);
    else
      d.named[a.key] = a;
  }
  return d;
}

bool activation_of(const Desc& d, FastStep& st) {
  st.kind = FastStep::kAct;
  const std::string& n = d.name;
  if (n == "relu") {
    st.act = ActKind::kABRelu, st.a = 0, st.b = 1;
  } else if (n == "leaky_relu") {
    st.act = ActKind::kABRelu, st.a = d.number("alpha", 0, 0.01), st.b = 1;
  } else if (n == "abrelu") {
    st.act = ActKind::kABRelu, st.a = d.number("a", 0, 0.0), st.b = d.number("b", 1, 1.0);
  } else if (n == "abs") {
    st.act = ActKind::kABRelu, st.a = -1, st.b = 1;
  } else if (n == "erf") {
    st.act = ActKind::kErf, st.a = d.number("a", 0, 1), st.b = d.number("b", 1, 1),
    st.c = d.number("c", 2, 0);
  } else if (n == "gelu") {
    st.act = ActKind::kGelu;
  } else if (n == "sign") {
    st.act = ActKind::kSign;
  } else if (n == "sin") {
    st.act = ActKind::kSin, st.a = d.number("a", 0, 1), st.b = d.number("b", 1, 1),
    st.c = d.number("c", 2, 0);
  } else {
    return false;
  }
  return true;
}

void affine_of(const Desc& d, FastStep& st) {
  const double w = d.number("w_std", 99, 1.0), b = d.number("b_std", 99, 0.0);
  st.w2 = w * w;
  st.b2 = b * b;
  st.bias_term = b != 0.0 ? 1.0 : 0.0;
  st.trainable = d.text("trainable", "true") != "false";
}

}  // namespace

FastPlan compile_plan(const Architecture& arch, const ExampleShape& in, Parameterization p, bool images) {
  FastPlan plan;
  plan.in = in;
  plan.param = p;
  auto fail = [&](const std::string& why) {
    plan.ok = false;
    plan.why = why;
    plan.steps.clear();
    return plan;
  };
  if (in.spatial != images) return fail(images ? "input is not an image" : "input is an image");
  std::vector<ExampleShape> shapes;
  try {
    shapes = arch.infer_shapes(in);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  if (shapes.back().spatial) return fail("output is an image");
  std::vector<bool> stack;
  bool gaussian = true, readout_done = !images;
  const auto& ops = arch.ops();
  for (size_t k = 0; k < ops.size(); ++k) {
    const ArchOp& op = ops[k];
    const ExampleShape& s = shapes[k];
    FastStep st;
    st.h = s.height;
    st.w = s.width;
    if (op.kind == ArchOp::Kind::kFork) {
      stack.push_back(gaussian);
      plan.max_stack = std::max(plan.max_stack, static_cast<int>(stack.size()));
      st.kind = FastStep::kFork;
      plan.steps.push_back(st);
      continue;
    }
    if (op.kind == ArchOp::Kind::kJoin) {
      if (stack.empty()) return fail("unbalanced residual");
      gaussian = gaussian && stack.back();
      stack.pop_back();
      st.kind = FastStep::kJoin;
      plan.steps.push_back(st);
      continue;
    }
    const Desc d = describe(*op.layer);
    if (d.name == "dense") {
      st.kind = FastStep::kAffine;
      affine_of(d, st);
      st.n_in = static_cast<double>(s.channels);
      gaussian = true;
    } else if (d.name == "conv") {
      if (!images || !s.spatial) return fail("conv outside the image segment");
      const double kk = d.number("k", 0, 0), stride = d.number("stride", 1, 1);
      const std::string pad = d.text("pad", "same");
      if (stride != 1) return fail("strided conv");
      if (pad != "same" && pad != "valid") return fail("conv padding " + pad);
      st.kind = FastStep::kConv;
      affine_of(d, st);
      st.k = static_cast<int>(kk);
      st.valid = pad == "valid";
      st.pad_lo = st.valid ? 0 : (st.k - 1) / 2;
      st.n_in = kk * kk * static_cast<double>(s.channels);
      gaussian = true;
    } else if (d.name == "layernorm") {
      if (!gaussian) return fail("layernorm after a nonlinearity");
      st.kind = FastStep::kLayerNorm;
      st.slot = plan.slots++;
    } else if (d.name == "identity") {
      continue;
    } else if (d.name == "gap" || d.name == "flatten") {
      if (!s.spatial) {
        if (d.name == "flatten") continue;  // flatten of a vector is the identity
        return fail("gap of a vector");
      }
      if (!stack.empty()) return fail("readout inside a residual block");
      if (readout_done) return fail("two readouts");
      st.kind = d.name == "gap" ? FastStep::kGap : FastStep::kFlatten;
      if (d.name == "flatten") gaussian = false;
      readout_done = true;
    } else if (activation_of(d, st)) {
      if (!gaussian) return fail("nonlinearity of a non-Gaussian input");
      st.slot = plan.slots++;
      gaussian = false;
    } else {
      return fail("layer " + d.name + " is not in the fast path");
    }
    plan.steps.push_back(st);
  }
  if (!readout_done) return fail("no readout");
  plan.ok = true;
  return plan;
}

std::optional<FastPlan> compile_fast_plan(const Architecture& arch, const Tensor& x1, Parameterization p,
                                          bool images, std::string* why) {
  FastPlan plan = compile_plan(arch, example_shape_of(x1, "x1"), p, images);
  if (plan.ok && plan.max_stack <= 8) return plan;
  if (why) *why = plan.ok ? "residual blocks nested deeper than 8" : plan.why;
  return std::nullopt;
}

bool available() {
#if defined(NTK_FAST_KERNELS) && defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

std::unique_ptr<KernelEngine> make_engine(const Architecture& arch, const Tensor& x1, const Tensor* x2,
                                          const KernelOptions& options, std::string* why) {
  if (!available()) {
    if (why) *why = "this build or CPU has no AVX-512 fast kernels";
    return nullptr;
  }
#if defined(NTK_FAST_KERNELS)
  if (x1.rank() == 2) return make_fc_engine(arch, x1, x2, options, why);
  if (x1.rank() == 4) return make_cntk_engine(arch, x1, x2, options, why);
#endif
  if (why) *why = "input is neither (N, d) nor (N, H, W, C)";
  return nullptr;
}

}  // namespace ntk::fast
