// Progress bar with ETA on stderr, drawn only when enabled (front ends enable it when stderr is a terminal).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace ntk {

class Progress {
 public:
  Progress(int64_t total, std::string label, bool enabled);
  ~Progress();
  void advance(int64_t n = 1);  // thread-safe
  void finish();

 private:
  void draw(int64_t done, bool final);
  int64_t total_;
  std::string label_;
  bool enabled_;
  std::atomic<int64_t> done_{0};
  std::mutex mu_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool finished_ = false;
};

// "1h02m", "3m05s", "12s"
std::string format_duration(double seconds);

}  // namespace ntk
