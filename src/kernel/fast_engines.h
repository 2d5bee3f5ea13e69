// Entry points of the fast kernel engines (src/kernel/fast_*.cpp). KernelEngine::create tries them first and
// falls back to the reference engine when they return nullptr (architecture outside their scope, CPU without
// AVX-512, build without SLEEF) or when KernelOptions::reference is set.
#pragma once

#include <memory>
#include <string>

#include "ntk/kernel_engine.h"

namespace ntk::fast {

// Whether this build and CPU can run the fast engines (AVX-512F/DQ/BW/VL and SLEEF).
bool available();

// A fast engine for the architecture, or nullptr (with the reason in *why when given).
std::unique_ptr<KernelEngine> make_engine(const Architecture& arch, const Tensor& x1, const Tensor* x2,
                                          const KernelOptions& options, std::string* why = nullptr);

// Implemented in fast_fc.cpp / fast_cntk.cpp (only reached when available()).
std::unique_ptr<KernelEngine> make_fc_engine(const Architecture& arch, const Tensor& x1, const Tensor* x2,
                                             const KernelOptions& options, std::string* why);
std::unique_ptr<KernelEngine> make_cntk_engine(const Architecture& arch, const Tensor& x1, const Tensor* x2,
                                               const KernelOptions& options, std::string* why);

}  // namespace ntk::fast
