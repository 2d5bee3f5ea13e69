// Bindings of the kernel engine: exact kernels tile by tile, all-depth FC kernels, the architecture language.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common.h"
#include "ntk/arch.h"
#include "ntk/error.h"
#include "ntk/kernel.h"
#include "ntk/kernel_engine.h"
#include "ntk/progress.h"
#include "ntk/tiled_job.h"

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

template <typename T>
void mirror_upper(T* m, int64_t n, int threads) {
  if (m != nullptr) mirror_upper_triangle(m, n, n, threads);
}

py::tuple kernels(const std::string& spec, const DArr& x1a, const std::optional<DArr>& x2a, bool want_nngp,
                  bool want_ntk, const std::string& parameterization, const std::string& dtype,
                  const std::string& device, int threads, bool progress, const std::string& memory) {
  Architecture arch = Architecture::parse(spec);
  KernelOptions opt;
  opt.parameterization = parse_parameterization(parameterization);
  opt.nngp = want_nngp;
  opt.ntk = want_ntk;
  opt.ctx = make_context(threads, dtype, device, progress);
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
  // Memory, as the CLI's tiled job counts it, plus the kernels themselves (which live in RAM here): a job
  // that cannot fit is refused before it starts (MemoryError).
  const double budget =
      static_cast<double>(memory.empty() ? physical_memory_bytes() / 10 * 8 : parse_memory_size(memory));
  const double inputs = static_cast<double>((x1.data.size() + x2.data.size()) * sizeof(double));
  const double out = static_cast<double>(n1) * static_cast<double>(n2) * (f32 ? 4.0 : 8.0) *
                     ((want_nngp ? 1 : 0) + (want_ntk ? 1 : 0));
  const double need =
      inputs + out + static_cast<double>(engine->prepared_bytes()) +
      static_cast<double>(opt.ctx.num_threads()) * static_cast<double>(engine->bytes_per_pair());
  NTK_THROW_KIND_IF_NOT(
      ErrorKind::kOutOfMemory, budget <= 0 || need <= budget,
      "this job needs at least %s of memory (the %lld x %lld kernel%s %s) but the budget is %s; use "
      "fewer inputs per call, the CLI's on-disk tiled job (ntk kernel --memory), or a larger memory=",
      format_bytes(static_cast<int64_t>(need)).c_str(), static_cast<long long>(n1),
      static_cast<long long>(n2), want_nngp && want_ntk ? "s" : "",
      format_bytes(static_cast<int64_t>(out)).c_str(), format_bytes(static_cast<int64_t>(budget)).c_str());
  py::object nngp =
      f32 ? new_kernel_array<float>(want_nngp, n1, n2) : new_kernel_array<double>(want_nngp, n1, n2);
  py::object ntk =
      f32 ? new_kernel_array<float>(want_ntk, n1, n2) : new_kernel_array<double>(want_ntk, n1, n2);
  {
    py::gil_scoped_release release;
    engine->prepare();
  }
  check_signals();

  // The tile plan of compute_kernels and of the CLI's tiled job (default_tile(engine); the upper triangle
  // when symmetric), so the numbers are bit-identical to theirs. The GIL is released during each tile and
  // signals are checked between tiles.
  const bool sym = engine->symmetric();
  const std::vector<TileSpec> tiles = plan_tiles(n1, n2, default_tile(*engine), sym);
  int64_t total = 0;
  for (const TileSpec& t : tiles) total += (t.row_end - t.row_begin) * (t.col_end - t.col_begin);
  char* pn =
      f32 ? reinterpret_cast<char*>(data_of<float>(nngp)) : reinterpret_cast<char*>(data_of<double>(nngp));
  char* pt =
      f32 ? reinterpret_cast<char*>(data_of<float>(ntk)) : reinterpret_cast<char*>(data_of<double>(ntk));
  const size_t item = f32 ? sizeof(float) : sizeof(double);
  {
    Progress bar(total, "kernel", progress);
    for (const TileSpec& t : tiles) {
      const size_t off = static_cast<size_t>(t.row_begin * n2 + t.col_begin) * item;
      {
        py::gil_scoped_release release;
        engine->compute_tile(t, pn ? pn + off : nullptr, pt ? pt + off : nullptr, n2);
      }
      bar.advance((t.row_end - t.row_begin) * (t.col_end - t.col_begin));
      check_signals();
    }
    bar.finish();
  }
  if (sym) {
    py::gil_scoped_release release;
    if (f32) {
      mirror_upper(reinterpret_cast<float*>(pn), n1, opt.ctx.num_threads());
      mirror_upper(reinterpret_cast<float*>(pt), n1, opt.ctx.num_threads());
    } else {
      mirror_upper(reinterpret_cast<double*>(pn), n1, opt.ctx.num_threads());
      mirror_upper(reinterpret_cast<double*>(pt), n1, opt.ctx.num_threads());
    }
  }
  return py::make_tuple(nngp, ntk);
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
  m.def("kernels", &kernels, py::arg("arch"), py::arg("x1"), py::arg("x2"), py::arg("nngp"), py::arg("ntk"),
        py::arg("parameterization"), py::arg("dtype"), py::arg("device"), py::arg("threads"),
        py::arg("progress"), py::arg("memory"));
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
