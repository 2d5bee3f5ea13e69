// The inline vector math of the fast engines (src/kernel/fast_math.h), for every ISA, against libm: acos and
// sqrt(1 - ρ²) over a dense grid of [-1, 1], near ±1 and ±1/2 (where the formulas switch), and sqrt over many
// decades.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernel/fast_math_lanes.h"

namespace ntk {
namespace {

using math::AcosRange;
using testing::VmathIsa;

// The ISA under test (set by the fixture) over whole arrays.
const VmathIsa* isa = nullptr;

template <class T>
void acos_sin_lanes(const std::vector<T>& rho, std::vector<T>& theta, std::vector<T>& sn,
                    AcosRange range = AcosRange::kAny) {
  theta.resize(rho.size());
  sn.resize(rho.size());
  if constexpr (std::is_same<T, double>::value)
    isa->acos_sin_f64(rho.data(), theta.data(), sn.data(), rho.size(), range);
  else
    isa->acos_sin_f32(rho.data(), theta.data(), sn.data(), rho.size(), range);
}
template <class T>
void sqrt_lanes(const std::vector<T>& x, std::vector<T>& y) {
  y.resize(x.size());
  if constexpr (std::is_same<T, double>::value)
    isa->sqrt_f64(x.data(), y.data(), x.size());
  else
    isa->sqrt_f32(x.data(), y.data(), x.size());
}

class FastMath : public ::testing::TestWithParam<VmathIsa> {
 protected:
  void SetUp() override {
    const std::string why = GetParam().unavailable();
    if (!why.empty()) GTEST_SKIP() << GetParam().name << ": " << why;
    isa = &GetParam();
  }
};

// |got - want| in units of the last place of want (in T).
template <class T>
double ulps(T got, long double want) {
  const T w = static_cast<T>(want);
  if (w == 0) return got == 0 ? 0 : std::numeric_limits<double>::infinity();
  const T ulp = std::nextafter(std::abs(w), std::numeric_limits<T>::infinity()) - std::abs(w);
  return static_cast<double>(std::abs(static_cast<long double>(got) - want) / ulp);
}

// Largest errors of θ and sqrt(1 - ρ²) in ulps. sqrt(1 - ρ²) → 0 at ±1: below `tiny` it is compared
// absolutely, on the scale `ulp1` of the ulp of 1.
template <class T>
void worst_errors(const std::vector<T>& rho, const std::vector<T>& theta, const std::vector<T>& sn,
                  long double tiny, long double ulp1, double& worst_theta, double& worst_sn) {
  for (size_t i = 0; i < rho.size(); ++i) {
    const long double r = rho[i];
    worst_theta = std::max(worst_theta, ulps(theta[i], std::acos(r)));
    const long double s = std::sqrt((1.0L - r) * (1.0L + r));
    worst_sn =
        std::max(worst_sn, s < tiny ? static_cast<double>(std::abs(sn[i] - s) / ulp1) : ulps(sn[i], s));
  }
}

template <class T>
std::vector<T> correlation_grid() {
  std::vector<T> r;
  const int n = 200000;
  for (int k = -n; k <= n; ++k) r.push_back(static_cast<T>(static_cast<double>(k) / n));
  for (T base : {T(1), T(-1), T(0.5), T(-0.5)})
    for (int k = 1; k < 60; ++k) {
      const T step = static_cast<T>(std::ldexp(1.0, -k));
      if (std::abs(base - step) <= 1) r.push_back(base - step);
      if (std::abs(base + step) <= 1) r.push_back(base + step);
    }
  for (T base : {T(1), T(0.5)})
    for (T sgn : {T(1), T(-1)}) {
      T v = sgn * base;
      for (int k = 0; k < 64; ++k) {
        r.push_back(v);
        v = std::nextafter(v, T(0));
      }
    }
  while (r.size() % 16) r.push_back(T(0));
  return r;
}

TEST_P(FastMath, AcosAndSinAgreeWithLibmFloat64) {
  const std::vector<double> rho = correlation_grid<double>();
  std::vector<double> theta, sn;
  acos_sin_lanes(rho, theta, sn);
  double worst_theta = 0, worst_sn = 0;
  worst_errors(rho, theta, sn, 1e-8L, 2.2e-16L, worst_theta, worst_sn);
  EXPECT_LE(worst_theta, 2.0);
  EXPECT_LE(worst_sn, 2.0);
  // The end points are exact: acos 1 = 0, acos -1 = π, acos 0 = π/2.
  std::vector<double> ends = {1.0, -1.0, 0.0, -0.0, 1.0, 1.0, 1.0, 1.0}, te, se;
  acos_sin_lanes(ends, te, se);
  EXPECT_EQ(te[0], 0.0);
  EXPECT_EQ(te[1], M_PI);
  EXPECT_EQ(te[2], M_PI / 2);
  EXPECT_EQ(se[0], 0.0);
  EXPECT_EQ(se[2], 1.0);
}

TEST_P(FastMath, AcosAndSinAgreeWithLibmFloat32) {
  const std::vector<float> rho = correlation_grid<float>();
  std::vector<float> theta, sn;
  acos_sin_lanes(rho, theta, sn);
  double worst_theta = 0, worst_sn = 0;
  worst_errors(rho, theta, sn, 1e-4L, 1.2e-7L, worst_theta, worst_sn);
  EXPECT_LE(worst_theta, 2.0);
  EXPECT_LE(worst_sn, 2.0);
}

// The range-specialised variants (for vectors whose every lane is in (1/2, 1] or in [-1/2, 1/2]) give the
// general result bit for bit there: the engines pick them per block, so a pair's value must not depend on
// its neighbours.
template <class T>
void expect_ranges_match() {
  const std::vector<T> grid = correlation_grid<T>();
  std::vector<T> upper, central;
  for (T r : grid) {
    if (r > T(0.5)) upper.push_back(r);
    if (std::abs(r) <= T(0.5)) central.push_back(r);
  }
  for (auto* v : {&upper, &central})
    while (v->size() % 16) v->push_back(v->back());
  for (const auto* v : {&upper, &central}) {
    std::vector<T> theta, sn, theta_any, sn_any;
    acos_sin_lanes(*v, theta, sn, v == &upper ? AcosRange::kUpper : AcosRange::kCentral);
    acos_sin_lanes(*v, theta_any, sn_any);
    for (size_t i = 0; i < v->size(); ++i) {
      ASSERT_EQ(theta[i], theta_any[i]) << "rho = " << (*v)[i];
      ASSERT_EQ(sn[i], sn_any[i]) << "rho = " << (*v)[i];
    }
  }
  EXPECT_GT(upper.size(), 1000u);
  EXPECT_GT(central.size(), 1000u);
}

TEST_P(FastMath, RangeVariantsEqualTheGeneralPath) {
  expect_ranges_match<double>();
  expect_ranges_match<float>();
}

TEST_P(FastMath, SqrtWithinOneUlp) {
  std::vector<double> x;
  std::vector<float> xf;
  for (int e = -300; e <= 300; ++e)
    for (int m = 0; m < 64; ++m) x.push_back(std::ldexp(1.0 + m / 64.0 + 1e-3 * e, e));
  for (int e = -120; e <= 120; ++e)
    for (int m = 0; m < 64; ++m) xf.push_back(std::ldexp(1.0f + m / 64.0f, e));
  const std::vector<double> squares = {0.0, 1.0, 4.0, 0.25, 9.0, 1e-300 * 1e-6, 6.25, 1e300};
  const std::vector<double> roots = {0.0, 1.0, 2.0, 0.5, 3.0, 1e-153, 2.5, 1e150};
  x.insert(x.end(), squares.begin(), squares.end());
  x.push_back(std::numeric_limits<double>::min());
  xf.insert(xf.end(), {0.0f, 1.0f, 4.0f, 2.0f, 0.25f, std::numeric_limits<float>::min()});
  while (x.size() % 8) x.push_back(1.0);
  while (xf.size() % 16) xf.push_back(1.0f);
  std::vector<double> y;
  std::vector<float> yf;
  sqrt_lanes(x, y);
  sqrt_lanes(xf, yf);
  double worst = 0, worst_f = 0;
  for (size_t i = 0; i < x.size(); ++i)
    worst = std::max(
        worst, x[i] == 0 ? (y[i] == 0 ? 0 : 99) : ulps(y[i], std::sqrt(static_cast<long double>(x[i]))));
  for (size_t i = 0; i < xf.size(); ++i)
    worst_f = std::max(worst_f, xf[i] == 0 ? (yf[i] == 0 ? 0 : 99)
                                           : ulps(yf[i], std::sqrt(static_cast<long double>(xf[i]))));
  EXPECT_LE(worst, 1.0);
  EXPECT_LE(worst_f, 1.0);
  // Exact squares come out exact (1e-306 is a square of a double to within its own rounding).
  std::vector<double> ys;
  sqrt_lanes(squares, ys);
  for (size_t i = 0; i < squares.size(); ++i)
    if (i != 5) EXPECT_EQ(ys[i], roots[i]) << squares[i];
}

INSTANTIATE_TEST_SUITE_P(Isa, FastMath, ::testing::Values(testing::vmath_avx512(), testing::vmath_avx2()),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace ntk
