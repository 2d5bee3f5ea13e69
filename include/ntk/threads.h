// BLAS and OpenMP thread control, in one place. The build links OpenBLAS or MKL (cmake/NtkBlas.cmake); their
// thread-count setters are looked up at run time, so this works with either (and is a no-op with neither).
#pragma once

#include "ntk/context.h"

namespace ntk {

// Sets the number of BLAS threads to ctx.num_threads().
void set_blas_threads(const Context& ctx);

// While alive: single-threaded BLAS and OpenMP (no nested parallelism), restored on exit. For code whose
// parallelism is over independent tasks (networks, seeds), so that every number is independent of the
// thread count.
class SerialScope {
 public:
  explicit SerialScope(const Context& ctx);
  ~SerialScope();
  SerialScope(const SerialScope&) = delete;
  SerialScope& operator=(const SerialScope&) = delete;

 private:
  Context ctx_;
  int omp_prev_;
};

// Inside one task of a parallel loop: libraries that parallelise on their own (Eigen's products) run
// serially in this thread, also in a team of one, where they would otherwise start threads of their own.
void run_nested_serially();

}  // namespace ntk
