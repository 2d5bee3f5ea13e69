// The GPU engine's scope (gpu::unsupported) and its host backend: the programs of gpu_program.h run on the
// CPU, block by block with a team of one thread, so that the test suite checks the GPU algorithm against the
// reference engine on machines without a GPU. It is the registry entry "gpu-host" (after the reference
// engine, so `auto` never picks it; as XLA's interpreter platform, a check, not a way to compute kernels
// fast), so every test of the engine axis (tests/kernel/test_engines.cpp) runs the GPU algorithm.
#include <omp.h>

#include <cstdlib>
#include <cstring>

#define NTK_ISA gpuhost
#include "kernel/fast_engines.h"
#include "kernel/gpu_engine.h"
#include "kernel/gpu_engines.h"

namespace ntk::gpu {

std::string unsupported(const EngineCase& c) {
  if (!c.options.nngp && !c.options.ntk) return "nothing to compute";
  const int rank = c.x1.rank();
  if (rank != 2 && rank != 4) return "input is neither (N, d) nor (N, H, W, C)";
  if (c.x2 && c.x2->shape.size() == c.x1.shape.size()) {
    for (size_t k = 1; k < c.x1.shape.size(); ++k)
      if (c.x2->shape[k] != c.x1.shape[k]) return "x1 and x2 have different shapes";
  } else if (c.x2) {
    return "x1 and x2 have different shapes";
  }
  if (std::string why = fast::input_out_of_range(c); !why.empty()) return why;
  std::string why;
  const std::optional<FastPlan> plan =
      fast::compile_fast_plan(c.arch, c.x1, c.options.parameterization, rank == 4, &why);
  if (!plan) return why;
  if (rank == 4) {
    // A plane block keeps Σ, Θ, their next values and the residual stack in shared memory.
    const int64_t values = plane_shared_values(c.x1.shape[1] * c.x1.shape[2], plan->max_stack);
    const int64_t bytes = values * (c.options.ctx.dtype == DType::kFloat32 ? 4 : 8);
    constexpr int64_t kSharedBytes = 227 * 1024;  // a block's shared memory on sm_90
    if (bytes > kSharedBytes)
      return strprintf(
          "a %lldx%lld plane with %d nested residual blocks needs %lld KiB of shared memory per block "
          "(at most 227 KiB)",
          static_cast<long long>(c.x1.shape[1]), static_cast<long long>(c.x1.shape[2]), plan->max_stack,
          static_cast<long long>(bytes / 1024));
  }
  return "";
}

namespace {

// A block on the host: one thread, no barrier, a buffer for its shared memory.
struct HostTeam {
  char* memory;
  int rank() const { return 0; }
  int size() const { return 1; }
  void sync() const {}
  template <class U>
  U* shared() const {
    return reinterpret_cast<U*>(memory);
  }
};

struct HostBackend {
  std::string name() const { return "gpu-host"; }
  void* alloc(size_t bytes) {
    void* p = std::malloc(bytes);
    NTK_THROW_KIND_IF_NOT(ErrorKind::kOutOfMemory, p != nullptr, "gpu-host: out of memory (%zu bytes)",
                          bytes);
    return p;
  }
  void release(void* p) { std::free(p); }
  void upload(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
  void download(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
  int64_t memory_budget() const { return int64_t{256} << 20; }
  template <class K>
  void threads(const K& kernel, int64_t n) {
#pragma omp parallel for schedule(dynamic, 16)
    for (int64_t i = 0; i < n; ++i) kernel(i);
  }
  template <class K>
  void blocks(const K& kernel, int64_t n, size_t shared_bytes) {
#pragma omp parallel
    {
      std::vector<double> memory((shared_bytes + sizeof(double) - 1) / sizeof(double) + 1);
      HostTeam team{reinterpret_cast<char*>(memory.data())};
#pragma omp for schedule(dynamic, 4)
      for (int64_t b = 0; b < n; ++b) kernel(b, team);
    }
  }
  template <class T>
  void gemm_nt(int64_t m, int64_t n, int64_t d, T alpha, const T* a, const T* b, T* c) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        T acc = 0;
        for (int64_t k = 0; k < d; ++k) acc += a[i * d + k] * b[j * d + k];
        c[i * n + j] = alpha * acc;
      }
  }
};

}  // namespace

std::unique_ptr<KernelEngine> make_host_engine(const EngineCase& c, std::string* why) {
  return make_engine<HostBackend>(c, why);
}

void register_host_engine(EngineRegistry& registry) {
  EngineInfo e;
  e.name = "gpu-host";
  e.family = "gpu-host";
  e.device = Device::kCpu;
  e.description =
      "the CUDA engine's programs run on the CPU, one block at a time (a check of the GPU algorithm "
      "against the reference engine; slow)";
  e.why_not = [](const EngineCase& c) { return unsupported(c); };
  e.create = [](const EngineCase& c) {
    std::string why;
    auto engine = make_host_engine(c, &why);
    NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, engine != nullptr, "gpu-host engine: %s", why.c_str());
    return engine;
  };
  registry.add(std::move(e));
}

}  // namespace ntk::gpu
