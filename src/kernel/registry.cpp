// The engine registry and the choice of an engine for a case (ntk/engine_registry.h).
#include <algorithm>

#include "kernel/fast_engines.h"
#include "kernel/gpu_engines.h"
#include "kernel/reference_engine.h"
#include "ntk/engine_registry.h"
#include "ntk/error.h"

namespace ntk {
namespace {

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

[[noreturn]] void no_cuda() {
  NTK_THROW(
      "engine: this build has no CUDA engine (configure with -DNTK_ENABLE_CUDA=ON on a machine with the CUDA "
      "toolkit); use device=cpu");
}

}  // namespace

const EngineRegistry& EngineRegistry::instance() {
  static const EngineRegistry registry = [] {
    EngineRegistry r;
    register_builtin_engines(r);
    return r;
  }();
  return registry;
}

void EngineRegistry::add(EngineInfo info) {
  NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, find(info.name) == nullptr, "engine %s registered twice",
                        info.name.c_str());
  engines_.push_back(std::move(info));
}

const EngineInfo* EngineRegistry::find(const std::string& name) const {
  for (const EngineInfo& e : engines_)
    if (e.name == name) return &e;
  return nullptr;
}

std::vector<std::string> EngineRegistry::names() const {
  std::vector<std::string> out = {"auto"};
  for (const EngineInfo& e : engines_)
    if (std::find(out.begin(), out.end(), e.family) == out.end()) out.push_back(e.family);
  for (const EngineInfo& e : engines_)
    if (std::find(out.begin(), out.end(), e.name) == out.end()) out.push_back(e.name);
  return out;
}

void register_builtin_engines(EngineRegistry& registry) {
  fast::register_engines(registry);  // before the reference engine: `auto` tries entries in order
  register_reference_engine(registry);
  gpu::register_host_engine(registry);  // after the reference engine: `auto` never picks it
#if defined(NTK_ENABLE_CUDA)
  gpu::register_cuda_engine(registry);
#endif
}

const EngineInfo& select_engine(const EngineCase& c) {
  const EngineRegistry& registry = EngineRegistry::instance();
  const std::string& wanted = c.options.engine;
  const Device device = c.options.ctx.device;
  std::vector<const EngineInfo*> candidates;
  if (wanted == "auto" || wanted.empty()) {
    for (const EngineInfo& e : registry.all())
      if (e.device == device) candidates.push_back(&e);
    if (candidates.empty() && device == Device::kCuda) no_cuda();
  } else if (const EngineInfo* e = registry.find(wanted)) {
    candidates.push_back(e);
  } else {
    for (const EngineInfo& f : registry.all())
      if (f.family == wanted) candidates.push_back(&f);
    if (candidates.empty()) {
      if (wanted == "cuda") no_cuda();
      NTK_THROW("engine: unknown engine '%s'; known: %s", wanted.c_str(),
                join(registry.names(), ", ").c_str());
    }
  }
  std::vector<std::string> reasons;
  for (const EngineInfo* e : candidates) {
    if (e->device != device)
      NTK_THROW("engine: %s runs on the %s but device is %s", e->name.c_str(),
                e->device == Device::kCpu ? "CPU" : "GPU", device == Device::kCpu ? "cpu" : "cuda");
    const std::string why = e->why_not(c);
    if (why.empty()) return *e;
    reasons.push_back(candidates.size() > 1 ? e->name + ": " + why : why);
  }
  NTK_THROW("engine: %s cannot run this case: %s", wanted.c_str(), join(reasons, "; ").c_str());
}

std::vector<std::pair<std::string, std::string>> engine_support(const EngineCase& c) {
  check_kernel_parameterization(c.options.parameterization);  // no engine computes a muP kernel
  std::vector<std::pair<std::string, std::string>> out;
  for (const EngineInfo& e : EngineRegistry::instance().all()) {
    std::string why;
    try {
      why = e.why_not(c);
    } catch (const std::exception& ex) {
      why = ex.what();
    }
    out.emplace_back(e.name, why);
  }
  return out;
}

}  // namespace ntk
