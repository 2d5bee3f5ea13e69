// See ntk/threads.h.
#include "ntk/threads.h"

#include <dlfcn.h>
#include <omp.h>

namespace ntk {

void set_blas_threads(const Context& ctx) {
  // Looked up at run time: the build links either OpenBLAS or MKL (cmake/NtkBlas.cmake).
  using SetThreads = void (*)(int);
  static SetThreads fn = [] {
    void* f = dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
    if (!f) f = dlsym(RTLD_DEFAULT, "MKL_Set_Num_Threads");
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
