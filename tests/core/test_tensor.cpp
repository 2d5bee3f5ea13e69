// first_non_finite: the vectorised, threaded scan behind every input check (io::check_finite and the kernel
// engines' check of x1/x2).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "ntk/tensor.h"

namespace ntk {
namespace {

TEST(FirstNonFinite, FindsTheFirstBadValueWhateverTheBlockAndThreads) {
  const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  // Sizes around the scan's 4096-element blocks and its threading threshold (16 blocks).
  for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{4095}, int64_t{4096}, int64_t{4097}, int64_t{70001}}) {
    std::vector<double> x(static_cast<size_t>(n), 1.5);
    for (int threads : {1, 2, 3}) EXPECT_EQ(first_non_finite(x.data(), n, threads), n) << n;
    if (n == 0) continue;
    for (int64_t pos : {int64_t{0}, n / 2, n - 1}) {
      for (double bad : {inf, -inf, nan, -nan}) {
        std::vector<double> y = x;
        y[static_cast<size_t>(pos)] = bad;
        if (pos + 5000 < n) y[static_cast<size_t>(pos + 5000)] = nan;  // a later one, in another block
        for (int threads : {1, 2, 3})
          EXPECT_EQ(first_non_finite(y.data(), n, threads), pos) << n << " " << bad;
      }
    }
  }
}

TEST(FirstNonFinite, HugeAndTinyFiniteValuesPass) {
  const std::vector<double> x = {std::numeric_limits<double>::max(),
                                 -std::numeric_limits<double>::max(),
                                 std::numeric_limits<double>::denorm_min(),
                                 -0.0,
                                 0.0,
                                 std::numeric_limits<double>::min()};
  EXPECT_EQ(first_non_finite(x.data(), static_cast<int64_t>(x.size())), static_cast<int64_t>(x.size()));
}

}  // namespace
}  // namespace ntk
