// Carrying exceptions out of OpenMP regions. An exception must not leave a parallel region (the program would
// terminate), so every loop body that can throw runs through one OmpExceptions: the first exception thrown
// by any thread is kept as it is (an ntk::Error keeps its kind, std::bad_alloc stays bad_alloc: a failed
// allocation inside a tile is reported as such, not as bad input) and rethrown after the region; the other
// threads skip their remaining iterations.
//
//   OmpExceptions errors;
//   #pragma omp parallel for
//   for (int64_t i = 0; i < n; ++i)
//     errors.run([&] { work(i); });
//   errors.rethrow();
#pragma once

#include <atomic>
#include <exception>
#include <mutex>

namespace ntk {

class OmpExceptions {
 public:
  // Runs f unless an exception was already caught; catches whatever f throws.
  template <class F>
  void run(F&& f) noexcept {
    if (failed_.load(std::memory_order_relaxed)) return;
    try {
      f();
    } catch (...) {
      capture();
    }
  }
  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  // Rethrows the first exception caught (call after the parallel region).
  void rethrow() {
    if (first_) {
      std::exception_ptr e = first_;
      first_ = nullptr;
      failed_ = false;
      std::rethrow_exception(e);
    }
  }

 private:
  void capture() noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!first_) first_ = std::current_exception();
    failed_ = true;
  }
  std::atomic<bool> failed_{false};
  std::exception_ptr first_;
  std::mutex mutex_;
};

}  // namespace ntk
