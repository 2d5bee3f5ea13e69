// Exact infinite-width kernels: the public entry points of the kernel engine.
//
// Conventions follow neural-tangents (Novak et al. 2020): per-layer w_std / b_std, NTK or standard
// parameterization (μP, the third parameterization of the finite networks, has no kernel), first-layer input
// covariance x.x'/d (per position and channel for images), readouts flatten (mean of the position diagonal)
// and gap (mean over all position pairs). The kernel is per output.
#pragma once

#include <Eigen/Core>
#include <functional>
#include <string>
#include <vector>

#include "ntk/context.h"
#include "ntk/tensor.h"

namespace ntk {

class Architecture;  // ntk/arch.h

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXd;

// kMup (maximal-update parameterization, Yang & Hu 2021) exists for finite networks only: it has no
// kernel limit that describes training (docs/feature-learning.md), so the kernel entry points refuse it
// (check_kernel_parameterization).
enum class Parameterization { kNtk, kStandard, kMup };
Parameterization parse_parameterization(const std::string& name);  // "ntk" | "standard" | "mup"
const char* parameterization_name(Parameterization p);
// Throws (invalid input, one line saying why) when p has no infinite-width kernel: kMup.
void check_kernel_parameterization(Parameterization p);

struct KernelOptions {
  Parameterization parameterization = Parameterization::kNtk;
  bool nngp = true;  // compute the NNGP kernel
  bool ntk = true;   // compute the NTK
  Context ctx;       // threads, device, dtype (float32 computes in float32), progress
  // Which kernel engine runs the case (ntk/engine_registry.h): "auto" (the fastest that can), a family
  // ("reference", "fast", "cuda") or an engine's name ("fast-avx2", ...).
  std::string engine = "auto";
};

struct Kernels {
  Matrix nngp;         // N1 x N2 (empty when not requested)
  Matrix ntk;          // N1 x N2 (empty when not requested)
  std::string engine;  // the engine that computed them
};

// Kernels between the rows of x1 and x2 (x2 == nullptr: x2 = x1, and the symmetric half is computed once).
Kernels compute_kernels(const Architecture& arch, const Tensor& x1, const Tensor* x2,
                        const KernelOptions& options);
Kernels compute_kernels(const std::string& arch_spec, const Tensor& x1, const Tensor* x2,
                        const KernelOptions& options);

// One-pass model selection for fully-connected stacks (Arora et al. 2020): for the network
//   repeat(depth, dense(w_std, b_std), activation), dense(w_std, b_std)
// returns the NNGP and NTK for every depth 1..max_depth and every number of fixed (untrained) bottom dense
// layers 0..depth, from a single run of the layer recursion.
struct DepthKernel {
  int depth = 0;  // number of hidden layers
  int fixed = 0;  // number of bottom dense layers with trainable=false (L')
  Matrix nngp;    // shared by all `fixed` of one depth (fixing layers does not change the NNGP)
  Matrix ntk;
};
std::vector<DepthKernel> fc_kernels_all_depths(const Tensor& x1, const Tensor* x2, int max_depth,
                                               const std::string& activation, double w_std, double b_std,
                                               const Context& ctx);

}  // namespace ntk
