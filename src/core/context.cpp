#include "ntk/context.h"

#include <thread>

#include "ntk/error.h"

#if defined(NTK_BLAS_MKL)
extern "C" int MKL_CBWR_Set(int);  // mkl_service.h (mkl_cbwr_set)
#endif

namespace ntk {

#if defined(NTK_BLAS_MKL)
namespace {
// MKL's strict conditional numerical reproducibility, set when the library is loaded (before any MKL call):
// without it MKL's gemm splits work differently for different thread counts and rounds differently (as
// OpenBLAS's does for large products), and the equivalence experiment, which sets the BLAS threads from
// --threads, must give the same numbers for every thread count.
// Measured cost on the FC benchmark's 8192 x 3072 SYRK: none (docs/benchmarks.md).
const int kMklReproducible = [] {
  constexpr int kCbwrAuto = 2, kCbwrStrict = 0x10000;  // mkl_types.h: MKL_CBWR_AUTO, MKL_CBWR_STRICT
  return MKL_CBWR_Set(kCbwrAuto | kCbwrStrict);
}();
}  // namespace
#endif

Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::kCpu;
  if (name == "cuda") {
    NTK_THROW(
        "this ntk was built without CUDA support (configure with -DNTK_ENABLE_CUDA=ON); use --device cpu");
  }
  NTK_THROW("unknown device '%s'; valid: cpu, cuda", name.c_str());
}

int Context::num_threads() const {
  if (threads > 0) return threads;
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

}  // namespace ntk
