// Kernels against neural-tangents itself: reference values computed by neural-tangents 0.6.5 for 30
// architectures covering every layer, activation and both parameterizations (tests/data/nt_reference/).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "common/test_util.h"
#include "ntk/arch.h"
#include "ntk/io.h"

namespace ntk {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

Matrix as_matrix(const Tensor& t) {
  Matrix m(t.dim(0), t.dim(1));
  std::copy(t.data.begin(), t.data.end(), m.data());
  return m;
}

TEST(NeuralTangentsReference, EveryCaseMatches) {
  const std::string root = std::string(NTK_SOURCE_DIR) + "/tests/data/nt_reference/";
  int checked = 0;
  for (int i = 0; i < 100; ++i) {
    const std::string dir = root + std::to_string(i) + "/";
    if (!std::ifstream(dir + "arch.txt")) break;
    const std::string arch = read_text(dir + "arch.txt");
    const Parameterization p = parse_parameterization(read_text(dir + "parameterization.txt"));
    Tensor x1 = io::load_npy(dir + "x1.npy"), x2 = io::load_npy(dir + "x2.npy");
    Kernels k = compute_kernels(arch, x1, &x2, testing::options(p));
    const bool quadrature = arch.find("tanh") != std::string::npos || arch.find("sigmoid") != std::string::npos ||
                            arch.find("softplus") != std::string::npos || arch.find("elu") != std::string::npos ||
                            arch.find("silu") != std::string::npos;
    // The elu reference itself is only accurate to ~1e-5 (Gauss–Hermite across a kink, degree 2000).
    const double tol = arch.find("elu") != std::string::npos ? 1e-4 : (quadrature ? 1e-8 : 1e-10);
    EXPECT_LT(testing::rel_frobenius(k.nngp, as_matrix(io::load_npy(dir + "nngp.npy"))), tol) << i << ": " << arch;
    EXPECT_LT(testing::rel_frobenius(k.ntk, as_matrix(io::load_npy(dir + "ntk.npy"))), tol) << i << ": " << arch;
    ++checked;
  }
  EXPECT_EQ(checked, 30);
}

}  // namespace
}  // namespace ntk
