#include "ntk/context.h"

#include <thread>

#include "ntk/error.h"

namespace ntk {

Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::kCpu;
  if (name == "cuda") {
    NTK_THROW("this ntk was built without CUDA support (configure with -DNTK_ENABLE_CUDA=ON); use --device cpu");
  }
  NTK_THROW("unknown device '%s'; valid: cpu, cuda", name.c_str());
}

int Context::num_threads() const {
  if (threads > 0) return threads;
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

}  // namespace ntk
