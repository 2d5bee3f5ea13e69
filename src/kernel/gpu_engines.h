// The GPU engine (registry entry "cuda", family "cuda", device cuda): fully-connected networks as a cuBLAS
// Gram and one fused thread per pair, convolutional networks as offset planes in shared memory (the programs
// of gpu_program.h). The engine is a template over a backend (gpu_engine.h): the CUDA one (gpu_engine.cu,
// built with NTK_ENABLE_CUDA) and a host one (gpu_engine.cpp, always built) that runs the same programs on
// the CPU, block by block, so that the GPU algorithm is tested on every machine.
#pragma once

#include <memory>
#include <string>

#include "ntk/engine_registry.h"
#include "ntk/kernel_engine.h"

namespace ntk::gpu {

// "" when the GPU engine's algorithm covers the case (architecture, inputs, options), else why not; says
// nothing about whether a GPU is present.
std::string unsupported(const EngineCase& c);

// The GPU algorithm on the host backend: nullptr with the reason in *why outside its scope.
std::unique_ptr<KernelEngine> make_host_engine(const EngineCase& c, std::string* why);
// Registers it as "gpu-host" (a check of the GPU algorithm on the CPU; gpu_engine.cpp).
void register_host_engine(EngineRegistry& registry);

#if defined(NTK_ENABLE_CUDA)
// "" when a CUDA device can be used, else why not (no driver, no device; cudaGetErrorString's words).
std::string cuda_unavailable();
// Registers "cuda" (gpu_engine.cu).
void register_cuda_engine(EngineRegistry& registry);
#endif

}  // namespace ntk::gpu
