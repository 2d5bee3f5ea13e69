// The arithmetic floor of a CNTK-GAP kernel entry on this CPU's AVX2 + FMA lanes: the rates at which one
// core's vector units run the operations the plane engine's formulation needs (independent operations, no
// dependency chains, no memory traffic), and the entry time that follows if both cores kept the busiest
// unit saturated. docs/benchmarks.md derives the operation counts; this program measures the rates.
//
//   build/ntk_bench_floor [depth ...]      (default: 11 21)
//
// Per position pair and layer (conv 3 x 3 then ReLU, Σ and Θ), for ρ in (1/2, 1] (where deep ReLU
// networks run), counted from src/kernel/fast_math.h, src/layers/math/act_abrelu.h and affine.h:
//   multiply / FMA class: 16 + D (D = 11, the float64 asin polynomial's degree; 4 in float32)
//   add / min / max class: 16
//   square roots: 2
// An entry of CNTK-GAP-L on 32 x 32 images has (32 · 32)² = 1,048,576 position pairs through L layers.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

volatile double g_one = 1.0;  // read at run time, so that no loop below can be folded

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Vector instructions per second on one core: the best of 7 runs of n rounds of 8 independent operations.
template <class Body>
double rate(Body body, long n) {
  double best = 0;
  for (int rep = 0; rep < 7; ++rep) {
    const double t0 = now();
    volatile double sink = body(n);
    (void)sink;
    best = std::max(best, 8.0 * static_cast<double>(n) / (now() - t0));
  }
  return best;
}

#define NTK_UNIT_LOOPS(SUFFIX, V, SET1, FMA, ADD, SQRT, FIRST)                                               \
  __attribute__((target("avx2,fma"), noinline)) double fma_##SUFFIX(long n) {                                \
    V a[8];                                                                                                  \
    for (int i = 0; i < 8; ++i) a[i] = SET1(1.0 + i * 1e-3);                                                 \
    const V x = SET1(g_one * 0.999999), y = SET1(g_one * 1e-7);                                              \
    for (long k = 0; k < n; ++k) _Pragma("GCC unroll 8") for (int i = 0; i < 8; ++i) a[i] = FMA(a[i], x, y); \
    for (int i = 1; i < 8; ++i) a[0] = ADD(a[0], a[i]);                                                      \
    return FIRST(a[0]);                                                                                      \
  }                                                                                                          \
  __attribute__((target("avx2,fma"), noinline)) double add_##SUFFIX(long n) {                                \
    V a[8];                                                                                                  \
    for (int i = 0; i < 8; ++i) a[i] = SET1(1.0 + i * 1e-3);                                                 \
    const V y = SET1(g_one * 1e-3);                                                                          \
    for (long k = 0; k < n; ++k) _Pragma("GCC unroll 8") for (int i = 0; i < 8; ++i) a[i] = ADD(a[i], y);    \
    for (int i = 1; i < 8; ++i) a[0] = ADD(a[0], a[i]);                                                      \
    return FIRST(a[0]);                                                                                      \
  }                                                                                                          \
  /* 8 independent chains x <- sqrt(x) + 1: a root's latency (~20 cycles) over 8 chains is below the */      \
  /* divider's issue interval, so this measures the throughput. */                                           \
  __attribute__((target("avx2,fma"), noinline)) double sqrt_##SUFFIX(long n) {                               \
    V a[8];                                                                                                  \
    for (int i = 0; i < 8; ++i) a[i] = SET1(g_one * (1.5 + i * 1e-3));                                       \
    const V one = SET1(g_one);                                                                               \
    for (long k = 0; k < n; ++k)                                                                             \
      _Pragma("GCC unroll 8") for (int i = 0; i < 8; ++i) a[i] = ADD(SQRT(a[i]), one);                       \
    for (int i = 1; i < 8; ++i) a[0] = ADD(a[0], a[i]);                                                      \
    return FIRST(a[0]);                                                                                      \
  }

__attribute__((target("avx2,fma"))) double first_pd(__m256d v) {
  return _mm256_cvtsd_f64(v);
}
__attribute__((target("avx2,fma"))) double first_ps(__m256 v) {
  return _mm256_cvtss_f32(v);
}
#define SET1_PD(x) _mm256_set1_pd(x)
#define SET1_PS(x) _mm256_set1_ps(static_cast<float>(x))
NTK_UNIT_LOOPS(pd, __m256d, SET1_PD, _mm256_fmadd_pd, _mm256_add_pd, _mm256_sqrt_pd, first_pd)
NTK_UNIT_LOOPS(ps, __m256, SET1_PS, _mm256_fmadd_ps, _mm256_add_ps, _mm256_sqrt_ps, first_ps)

}  // namespace

int main(int argc, char** argv) {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    std::fprintf(stderr, "ntk_bench_floor: this CPU has no AVX2 + FMA\n");
    return 2;
  }
  std::vector<int> depths;
  for (int a = 1; a < argc; ++a) depths.push_back(std::atoi(argv[a]));
  if (depths.empty()) depths = {11, 21};
  const int cores = omp_get_num_procs();
  const long n = 20'000'000;
  const double r[2][3] = {{rate(fma_ps, n), rate(add_ps, n), rate(sqrt_ps, n / 4)},
                          {rate(fma_pd, n), rate(add_pd, n), rate(sqrt_pd, n / 4)}};
  const char* names[2] = {"float32", "float64"};
  const int lanes[2] = {8, 4}, degree[2] = {4, 11};
  std::printf("one core, vector instructions per second (8 independent chains, best of 7):\n");
  for (int d = 0; d < 2; ++d)
    std::printf("  %s (%d lanes): FMA %.3g/s  add %.3g/s  sqrt %.3g/s\n", names[d], lanes[d], r[d][0],
                r[d][1], r[d][2]);
  const double pairs = 1024.0 * 1024.0;
  std::printf("\nfloor of one CNTK-GAP entry on 32 x 32 inputs, %d cores, conv 3x3 + ReLU per layer:\n",
              cores);
  std::printf("%-8s %-8s %12s %12s %12s %12s  busiest\n", "depth", "dtype", "fma s", "add s", "sqrt s",
              "floor s");
  for (int depth : depths)
    for (int d = 0; d < 2; ++d) {
      const double vectors = pairs * depth / lanes[d] / cores;
      const double t_fma = vectors * (16 + degree[d]) / r[d][0], t_add = vectors * 16 / r[d][1],
                   t_sqrt = vectors * 2 / r[d][2];
      const double floor = std::max({t_fma, t_add, t_sqrt});
      const char* unit = floor == t_fma ? "fma" : floor == t_add ? "add" : "sqrt";
      std::printf("%-8d %-8s %12.3e %12.3e %12.3e %12.3e  %s\n", depth, names[d], t_fma, t_add, t_sqrt, floor,
                  unit);
    }
  return 0;
}
