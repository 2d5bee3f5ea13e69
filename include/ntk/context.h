// Execution context passed down to every computation: threads, device, dtype, seed, progress.
#pragma once

#include <cstdint>
#include <string>

#include "ntk/tensor.h"

namespace ntk {

enum class Device { kCpu, kCuda };
Device parse_device(const std::string& name);  // "cpu" | "cuda"

struct Context {
  int threads = 0;  // 0: all hardware threads (resolved by num_threads())
  Device device = Device::kCpu;
  DType dtype = DType::kFloat64;
  uint64_t seed = 0;
  bool progress = false;  // draw a progress bar on stderr (front ends enable it on a terminal)

  // The thread count every OpenMP region uses.
  int num_threads() const;
};

}  // namespace ntk
