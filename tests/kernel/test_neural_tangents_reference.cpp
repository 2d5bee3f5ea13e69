// Kernels against neural-tangents itself: reference values computed by neural-tangents 0.6.5 for 30
// architectures covering every layer, activation and both parameterizations, and the architecture presets
// (tests/data/nt_reference/; the presets are built there from their published definitions).
#include <gtest/gtest.h>

#include <cctype>
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

// Whether the architecture has the layer `name` (as a whole word: "elu" is not in "relu" or "gelu").
bool has_layer(const std::string& arch, const std::string& name) {
  for (size_t at = arch.find(name); at != std::string::npos; at = arch.find(name, at + 1)) {
    const bool starts =
        at == 0 || !(std::isalnum(static_cast<unsigned char>(arch[at - 1])) || arch[at - 1] == '_');
    const size_t end = at + name.size();
    const bool ends =
        end == arch.size() || !(std::isalnum(static_cast<unsigned char>(arch[end])) || arch[end] == '_');
    if (starts && ends) return true;
  }
  return false;
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
    const bool quadrature = has_layer(arch, "tanh") || has_layer(arch, "sigmoid") ||
                            has_layer(arch, "softplus") || has_layer(arch, "elu") || has_layer(arch, "silu");
    // The elu reference itself is only accurate to ~1e-5 (Gauss–Hermite across a kink, degree 2000).
    const double tol = has_layer(arch, "elu") ? 1e-4 : (quadrature ? 1e-8 : 1e-10);
    EXPECT_LT(testing::rel_frobenius(k.nngp, as_matrix(io::load_npy(dir + "nngp.npy"))), tol) << i << ": " << arch;
    EXPECT_LT(testing::rel_frobenius(k.ntk, as_matrix(io::load_npy(dir + "ntk.npy"))), tol) << i << ": " << arch;
    ++checked;
  }
  EXPECT_EQ(checked, 35);  // 30..34: the presets myrtle5/7/10 (32x32 images), cntk_v, cntk_gap
}

}  // namespace
}  // namespace ntk
