// Bindings of the kernel engine: exact kernels tile by tile, all-depth FC kernels, the architecture language.
#include "ntk/kernel.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common.h"
#include "ntk/arch.h"
#include "ntk/engine_registry.h"
#include "ntk/error.h"
#include "ntk/kernel_engine.h"
#include "ntk/tile_driver.h"

namespace ntk::py_bindings {
namespace {

// ---- exact kernels, tile by tile ----

template <typename T>
py::object new_kernel_array(bool wanted, int64_t n1, int64_t n2) {
  if (!wanted) return py::none();
  return py::array_t<T>({static_cast<py::ssize_t>(n1), static_cast<py::ssize_t>(n2)});
}

template <typename T>
T* data_of(const py::object& a) {
  if (a.is_none()) return nullptr;
  return static_cast<T*>(py::reinterpret_borrow<py::array>(a).mutable_data());
}

// The library's tile driver into NumPy arrays: the plan of compute_kernels and of the CLI's tiled job, so the
// numbers are bit-identical to theirs. The GIL is released while tiles run; between tiles the driver takes
// it back to check for signals (Ctrl-C raises KeyboardInterrupt within a tile) and to call on_progress.
// Returns (nngp or None, ntk or None, the engine's name).
py::tuple kernels(const std::string& spec, const DArr& x1a, const std::optional<DArr>& x2a, bool want_nngp,
                  bool want_ntk, const std::string& parameterization, const std::string& dtype,
                  const std::string& device, int threads, bool progress, const std::string& memory,
                  const std::string& engine_name, const py::object& on_progress) {
  Architecture arch = Architecture::parse(spec);
  KernelOptions opt;
  opt.parameterization = parse_parameterization(parameterization);
  opt.nngp = want_nngp;
  opt.ntk = want_ntk;
  opt.ctx = make_context(threads, dtype, device, progress);
  opt.engine = engine_name;
  Tensor x1 = to_inputs(x1a, "x1");
  Tensor x2;
  if (x2a) x2 = to_inputs(*x2a, "x2");
  const Tensor* x2p = x2a ? &x2 : nullptr;

  std::unique_ptr<KernelEngine> engine;
  {
    py::gil_scoped_release release;
    engine = KernelEngine::create(arch, x1, x2p, opt);
  }
  const int64_t n1 = engine->rows(), n2 = engine->cols();
  const bool f32 = engine->dtype() == DType::kFloat32;
  // The kernels live in RAM here: a job that cannot fit is refused before it starts (MemoryError).
  check_memory(
      memory_need(*engine, x1, x2p, opt.ctx.num_threads(), true, want_nngp, want_ntk),
      memory.empty() ? 0 : parse_memory_size(memory),
      "use fewer inputs per call, the CLI's on-disk tiled job (ntk kernel --out), or a larger memory");
  py::object nngp =
      f32 ? new_kernel_array<float>(want_nngp, n1, n2) : new_kernel_array<double>(want_nngp, n1, n2);
  py::object ntk =
      f32 ? new_kernel_array<float>(want_ntk, n1, n2) : new_kernel_array<double>(want_ntk, n1, n2);
  {
    py::gil_scoped_release release;
    engine->prepare();
  }
  check_signals();
  void* pn = f32 ? static_cast<void*>(data_of<float>(nngp)) : static_cast<void*>(data_of<double>(nngp));
  void* pt = f32 ? static_cast<void*>(data_of<float>(ntk)) : static_cast<void*>(data_of<double>(ntk));
  BufferSink sink(pn, pt, n2, engine->dtype());
  TileHooks hooks;
  hooks.progress = progress && on_progress.is_none();
  hooks.between_tiles = [] {
    py::gil_scoped_acquire acquire;
    check_signals();
  };
  if (!on_progress.is_none())
    hooks.on_progress = [&on_progress](int64_t done, int64_t total) {
      py::gil_scoped_acquire acquire;
      on_progress(done, total);  // an exception raised there stops the computation
    };
  {
    py::gil_scoped_release release;
    run_tiles(*engine, plan_tiles(*engine), sink, hooks, opt.ctx.num_threads());
  }
  return py::make_tuple(nngp, ntk, engine->name());
}

py::list engines_for(const std::string& spec, const DArr& x1a, const std::optional<DArr>& x2a,
                     const std::string& parameterization, const std::string& dtype,
                     const std::string& device) {
  Architecture arch = Architecture::parse(spec);
  KernelOptions opt;
  opt.parameterization = parse_parameterization(parameterization);
  opt.ctx = make_context(0, dtype, device, false);
  Tensor x1 = to_inputs(x1a, "x1");
  Tensor x2;
  if (x2a) x2 = to_inputs(*x2a, "x2");
  py::list out;
  for (const auto& [name, why] : engine_support(EngineCase{arch, x1, x2a ? &x2 : nullptr, opt}))
    out.append(py::make_tuple(name, why));
  return out;
}

py::list kernels_all_depths(const DArr& x1a, const std::optional<DArr>& x2a, int max_depth,
                            const std::string& activation, double w_std, double b_std, int threads) {
  Tensor x1 = to_inputs(x1a, "x1");
  Tensor x2;
  if (x2a) x2 = to_inputs(*x2a, "x2");
  Context ctx = make_context(threads, "float64", "cpu", false);
  std::vector<DepthKernel> ks;
  {
    py::gil_scoped_release release;
    ks = fc_kernels_all_depths(x1, x2a ? &x2 : nullptr, max_depth, activation, w_std, b_std, ctx);
  }
  py::list out;
  for (auto& k : ks)
    out.append(py::make_tuple(k.depth, k.fixed, opt_matrix(std::move(k.nngp)), opt_matrix(std::move(k.ntk))));
  return out;
}

}  // namespace

void init_kernel(py::module_& m) {
  m.def("engines_for", &engines_for, py::arg("arch"), py::arg("x1"), py::arg("x2"),
        py::arg("parameterization"), py::arg("dtype"), py::arg("device"));
  m.def("engine_names", [] { return EngineRegistry::instance().names(); });
  m.def("kernels", &kernels, py::arg("arch"), py::arg("x1"), py::arg("x2"), py::arg("nngp"), py::arg("ntk"),
        py::arg("parameterization"), py::arg("dtype"), py::arg("device"), py::arg("threads"),
        py::arg("progress"), py::arg("memory"), py::arg("engine") = "auto",
        py::arg("on_progress") = py::none());
  m.def("kernels_all_depths", &kernels_all_depths, py::arg("x1"), py::arg("x2"), py::arg("max_depth"),
        py::arg("activation"), py::arg("w_std"), py::arg("b_std"), py::arg("threads"));
  m.def("describe_arch", [](const std::string& spec, int64_t width) {
    return Architecture::parse(spec, ParseOptions{width}).describe();
  });
  m.def("layer_names", [] { return LayerRegistry::instance().names(); });
  m.def("num_threads", [](int threads) {
    Context c;
    c.threads = threads;
    return c.num_threads();
  });
}

}  // namespace ntk::py_bindings
