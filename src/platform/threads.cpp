// See ntk/threads.h.
#include "ntk/threads.h"

#include <dlfcn.h>
#include <omp.h>

namespace ntk {

void set_blas_threads(const Context& ctx) {
  // Looked up at run time: the build links either OpenBLAS or MKL (cmake/NtkBlas.cmake).
  using SetThreads = void (*)(int);
  static SetThreads fn = [] {
    // The BLAS this build links first: with MPI, ScaLAPACK also loads Debian's libblas (OpenBLAS), whose
    // setter would otherwise be found and set the threads of a library that does not run our products.
#if defined(NTK_BLAS_MKL)
    const char* names[] = {"MKL_Set_Num_Threads", "openblas_set_num_threads"};
#else
    const char* names[] = {"openblas_set_num_threads", "MKL_Set_Num_Threads"};
#endif
    void* f = dlsym(RTLD_DEFAULT, names[0]);
    if (!f) f = dlsym(RTLD_DEFAULT, names[1]);
    return reinterpret_cast<SetThreads>(f);
  }();
  if (fn) fn(ctx.num_threads());
}

SerialScope::SerialScope(const Context& ctx) : ctx_(ctx), omp_prev_(omp_get_max_threads()) {
  Context one = ctx;
  one.threads = 1;
  set_blas_threads(one);
  omp_set_num_threads(1);
}

SerialScope::~SerialScope() {
  omp_set_num_threads(omp_prev_);
  set_blas_threads(ctx_);
}

void run_nested_serially() {
  omp_set_num_threads(1);
}

}  // namespace ntk
