// Dispatch to the fast kernel engines, and the compiler from an Architecture (its layers' typed descriptors,
// Layer::step()) to their flat step list.
// Compiled for the baseline ISA: the CPU check happens here, before any AVX-512 code runs.
#include <algorithm>
#include <cmath>

#include "kernel/fast_engines.h"
#include "kernel/fast_plan.h"
#include "ntk/error.h"

namespace ntk::fast {

namespace {

// The plane buffers carry a border of about k / 2 on each side, and a segment boundary visits every tap, so
// windows far larger than the image are left to the reference engine (which skips the taps in the padding).
// Empty when the window fits.
std::string window_too_large(int64_t k, const ExampleShape& s) {
  if (k <= 2 * std::max(s.height, s.width) + 1) return "";
  return ": window far larger than the " + std::to_string(s.height) + "x" + std::to_string(s.width) +
         " image";
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
    const LayerStep ls = op.layer->step();
    switch (ls.kind) {
      case StepKind::kDense:
        st.kind = FastStep::kAffine;
        st.affine = ls.affine;
        st.fan_in = static_cast<double>(s.channels);
        gaussian = true;
        break;
      case StepKind::kConv: {
        if (!images || !s.spatial) return fail(op.layer->describe() + ": conv after the readout");
        if (const std::string why = window_too_large(ls.window.k, s); !why.empty())
          return fail(op.layer->describe() + why);
        st.affine = ls.affine;
        st.k = static_cast<int>(ls.window.k);
        st.fan_in = static_cast<double>(ls.window.k * ls.window.k * s.channels);
        gaussian = true;
        // A 1 x 1 window reads no padding: circular is the same as same.
        const bool circular = ls.window.pad == Padding::kCircular && ls.window.k > 1;
        if (ls.window.stride == 1 && !circular) {
          st.kind = FastStep::kConv;
          st.valid = ls.window.pad == Padding::kValid;
          st.pad_lo = st.valid ? 0 : (st.k - 1) / 2;
          break;
        }
        // Strided or circular: plane Δ' of the output combines the input planes s Δ' (+- the image size
        // when the window wraps around).
        if (!stack.empty())
          return fail(op.layer->describe() + ": strided or circular convolution inside a residual block");
        st.kind = FastStep::kBoundary;
        st.stride = static_cast<int>(ls.window.stride);
        st.pad = ls.window.pad;
        st.pool = false;
        st.h_out = shapes[k + 1].height;
        st.w_out = shapes[k + 1].width;
        break;
      }
      case StepKind::kLayerNorm:
        if (!gaussian) return fail("layernorm after a nonlinearity");
        st.kind = FastStep::kLayerNorm;
        st.slot = plan.slots++;
        break;
      case StepKind::kIdentity:
        continue;
      case StepKind::kGap:
      case StepKind::kFlatten: {
        const bool gap = ls.kind == StepKind::kGap;
        if (!s.spatial) {
          if (!gap) continue;  // flatten of a vector is the identity
          return fail("gap of a vector");
        }
        if (!stack.empty()) return fail("readout inside a residual block");
        if (readout_done) return fail("two readouts");
        st.kind = gap ? FastStep::kGap : FastStep::kFlatten;
        if (!gap) gaussian = false;
        readout_done = true;
        break;
      }
      case StepKind::kActivation:
        if (!gaussian) return fail("nonlinearity of a non-Gaussian input");
        st.kind = FastStep::kAct;
        st.act = ls.act;
        st.slot = plan.slots++;
        gaussian = false;
        break;
      case StepKind::kAvgPool:
        // Plane Δ' of the output combines the input planes s Δ' + b - a over the window's taps a, b.
        if (!images || !s.spatial) return fail(op.layer->describe() + " of a vector");
        if (!stack.empty()) return fail(op.layer->describe() + ": windowed pooling inside a residual block");
        if (const std::string why = window_too_large(ls.window.k, s); !why.empty())
          return fail(op.layer->describe() + why);
        st.kind = FastStep::kBoundary;
        st.k = static_cast<int>(ls.window.k);
        st.stride = static_cast<int>(ls.window.stride);
        st.pad = ls.window.pad;
        st.pool = true;
        st.h_out = shapes[k + 1].height;
        st.w_out = shapes[k + 1].width;
        break;
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

const char* isa_name(Isa isa) {
  return isa == Isa::kAvx512 ? "avx512" : "avx2";
}

std::string isa_unavailable(Isa isa) {
#if defined(NTK_FAST_KERNELS) && defined(__x86_64__)
  __builtin_cpu_init();
  if (isa == Isa::kAvx512) {
    const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                    __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                    __builtin_cpu_supports("fma");
    return ok ? "" : "this CPU has no AVX-512 (F, DQ, BW, VL)";
  }
  const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok ? "" : "this CPU has no AVX2 and FMA";
#else
  (void)isa;
  return "this build has no fast CPU kernels (they need x86-64 and SLEEF)";
#endif
}

std::unique_ptr<KernelEngine> make_engine(Isa isa, const EngineCase& c, std::string* why) {
  NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, isa_unavailable(isa).empty(), "fast engine: ISA %s unavailable",
                        isa_name(isa));
  if (!c.options.nngp && !c.options.ntk) {
    if (why) *why = "nothing to compute";
    return nullptr;
  }
#if defined(NTK_FAST_KERNELS)
  const bool avx512 = isa == Isa::kAvx512;
  if (c.x1.rank() == 2)
    return avx512 ? avx512::make_fc_engine(c.arch, c.x1, c.x2, c.options, why)
                  : avx2::make_fc_engine(c.arch, c.x1, c.x2, c.options, why);
  if (c.x1.rank() == 4)
    return avx512 ? avx512::make_cntk_engine(c.arch, c.x1, c.x2, c.options, why)
                  : avx2::make_cntk_engine(c.arch, c.x1, c.x2, c.options, why);
#endif
  if (why) *why = "input is neither (N, d) nor (N, H, W, C)";
  return nullptr;
}

// Inputs beyond this magnitude give variances beyond 1e150, whose products in the correlation leave double's
// range; the fast engines' self-correlation then misses exactly 1 (found by tests/kernel/test_numerics.cpp),
// so such cases go to the reference engine. Homogeneous networks never get here: the numeric guard rescales
// their inputs to unit size first.
constexpr double kLargestFastInput = 1e75;

std::string input_out_of_range(const EngineCase& c) {
  double m = 0;
  for (const Tensor* x : {&c.x1, c.x2})
    if (x)
      for (const double v : x->data) m = std::max(m, std::abs(v));
  if (m <= kLargestFastInput) return "";
  return strprintf("inputs reach |x| = %.3g (this engine keeps variances within 1e150)", m);
}

void register_engines(EngineRegistry& registry) {
  for (Isa isa : {Isa::kAvx512, Isa::kAvx2}) {
    EngineInfo e;
    e.name = std::string("fast-") + isa_name(isa);
    e.family = "fast";
    e.device = Device::kCpu;
    e.description =
        std::string("fused CPU kernels on ") + (isa == Isa::kAvx512 ? "AVX-512" : "AVX2") +
        " vectors: fully-connected (BLAS Gram + one pass over all layers) and convolutional "
        "(offset planes; avgpool, strided and circular convolutions combine them between segments) "
        "networks with closed-form layers and quadrature activations";
    e.why_not = [isa](const EngineCase& c) {
      std::string why = isa_unavailable(isa);
      if (!why.empty()) return why;
      why = input_out_of_range(c);
      if (!why.empty()) return why;
      if (!make_engine(isa, c, &why)) return why.empty() ? std::string("not supported") : why;
      return std::string();
    };
    e.create = [isa](const EngineCase& c) {
      std::string why;
      auto engine = make_engine(isa, c, &why);
      NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, engine != nullptr, "fast engine: %s", why.c_str());
      return engine;
    };
    registry.add(std::move(e));
  }
}

}  // namespace ntk::fast
