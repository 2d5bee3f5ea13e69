#include "ntk/progress.h"

#include <cstdio>

namespace ntk {

Progress::Progress(int64_t total, std::string label, bool enabled)
    : total_(total), label_(std::move(label)), enabled_(enabled && total > 0) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

Progress::~Progress() { finish(); }

std::string format_duration(double s) {
  char buf[32];
  long t = static_cast<long>(s + 0.5);
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else if (t >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

void Progress::advance(int64_t n) {
  const int64_t done = done_.fetch_add(n) + n;
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);
  if (!lock.owns_lock()) return;
  if (now - last_draw_ < std::chrono::milliseconds(200) && done < total_) return;
  last_draw_ = now;
  draw(done, false);
}

void Progress::draw(int64_t done, bool final) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double frac = total_ > 0 ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
  const int width = 30;
  const int filled = static_cast<int>(frac * width);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(width, '.');
  std::string eta = final ? "done in " + format_duration(elapsed)
                          : (done > 0 ? "ETA " + format_duration(elapsed * (1 - frac) / frac) : "ETA --");
  std::fprintf(stderr, "\r%s [%s] %3d%% %lld/%lld %s   ", label_.c_str(), bar.c_str(), static_cast<int>(frac * 100),
               static_cast<long long>(done), static_cast<long long>(total_), eta.c_str());
  if (final) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (enabled_) draw(done_.load(), true);
}

}  // namespace ntk
