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

const char* blas_vendor() {
#if defined(NTK_BLAS_MKL)
  return "MKL";
#else
  return "OpenBLAS";
#endif
}

void ensure_fast_blas(int argc, char** argv) {
  (void)argc;
#if defined(NTK_BLAS_MKL)
  (void)argv;
  return;  // MKL picks its kernels from the CPU itself
#endif
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr || std::getenv("NTK_NO_BLAS_REEXEC") != nullptr) return;
  const char* core = recommended_openblas_coretype();
  if (core == nullptr) return;
  setenv("OPENBLAS_CORETYPE", core, 1);
  setenv("NTK_NO_BLAS_REEXEC", "1", 1);  // never loop, even if exec fails below
  // Exec the resolved path (not /proc/self/exe) so that ps and top still show the program's own name.
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return;
  self[n] = '\0';
  execv(self, argv);
  // exec failed: carry on with whatever kernel OpenBLAS chose.
}

}  // namespace ntk::platform
