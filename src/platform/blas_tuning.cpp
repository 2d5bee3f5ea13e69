#include "platform/blas_tuning.h"

#include <unistd.h>

#include <cstdlib>

namespace ntk::platform {

const char* recommended_openblas_coretype() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return "SkylakeX";
  if (__builtin_cpu_supports("avx2")) return "Haswell";
#endif
  return nullptr;
}

void ensure_fast_blas(int argc, char** argv) {
  (void)argc;
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr || std::getenv("NTK_NO_BLAS_REEXEC") != nullptr) return;
  const char* core = recommended_openblas_coretype();
  if (core == nullptr) return;
  setenv("OPENBLAS_CORETYPE", core, 1);
  setenv("NTK_NO_BLAS_REEXEC", "1", 1);  // never loop, even if exec fails below
  execv("/proc/self/exe", argv);
  // exec failed: carry on with whatever kernel OpenBLAS chose.
}

}  // namespace ntk::platform
