// One-pass kernels of fully-connected stacks for every depth and every number of fixed bottom layers (Arora
// et al. 2020). For repeat(L, dense, φ), dense the recursion over l = 1..L keeps one Θ per number f of fixed
// bottom dense layers; reading out after every hidden layer gives all (depth, f) kernels at the cost of the
// deepest one.
#include <omp.h>

#include "layers/activations.h"
#include "layers/math/affine.h"
#include "ntk/arch.h"
#include "ntk/error.h"
#include "ntk/kernel.h"

namespace ntk {

std::vector<DepthKernel> fc_kernels_all_depths(const Tensor& x1, const Tensor* x2_in, int max_depth,
                                               const std::string& activation, double w_std, double b_std,
                                               const Context& ctx) {
  NTK_THROW_IF_NOT(max_depth >= 1, "max_depth must be >= 1, got %d", max_depth);
  NTK_THROW_IF_NOT(x1.rank() == 2, "fc kernels need (N, d) inputs, got %s", x1.shape_string().c_str());
  const Tensor& x2 = x2_in ? *x2_in : x1;
  NTK_THROW_IF_NOT(x2.rank() == 2 && x2.dim(1) == x1.dim(1), "x1 has %lld features but x2 has %lld",
                   (long long)x1.dim(1), (long long)(x2.rank() == 2 ? x2.dim(1) : -1));
  // Resolve the activation through the architecture language, so that the same names, keyword arguments and
  // errors apply as in an architecture string; its typed step carries the numbers (no re-parsing here).
  Architecture probe = Architecture::parse(activation);
  NTK_THROW_IF_NOT(probe.ops().size() == 1 && probe.ops()[0].layer->step().kind == StepKind::kActivation,
                   "activation: '%s' is not an activation", activation.c_str());
  const Activation act(probe.ops()[0].layer->step().act);
  using Lanes = math::ScalarLanes<double>;
  const math::AffineConsts<double> trained = math::affine_consts<double>(AffineParams{w_std, b_std}, 1.0);
  math::AffineConsts<double> fixed = trained;
  fixed.trainable = false;

  const int64_t n1 = x1.rows(), n2 = x2.rows(), d = x1.dim(1);
  const int L = max_depth;
  const double w2 = w_std * w_std, b2 = b_std * b_std;  // the readout layer's map

  // Self variances per layer: var[i][l] = Σ(x_i, x_i) after dense layer l (pre-activation), l = 1..L.
  auto self_vars = [&](const Tensor& x) {
    std::vector<std::vector<double>> v(x.rows(), std::vector<double>(L + 1));
    for (int64_t i = 0; i < x.rows(); ++i) {
      double s = 0;
      for (int64_t k = 0; k < d; ++k) s += x.row(i)[k] * x.row(i)[k];
      s /= static_cast<double>(d);
      for (int l = 1; l <= L; ++l) {
        double pre = w2 * s + b2;
        v[i][l] = pre;
        double ff, dd;
        act.expectations(pre, pre, pre, ff, dd);
        s = ff;
      }
    }
    return v;
  };
  auto v1 = self_vars(x1);
  auto v2 = x2_in ? self_vars(x2) : v1;

  std::vector<DepthKernel> out;
  for (int h = 1; h <= L; ++h)
    for (int f = 0; f <= h; ++f) {
      DepthKernel k;
      k.depth = h;
      k.fixed = f;
      k.nngp.resize(n1, n2);
      k.ntk.resize(n1, n2);
      out.push_back(std::move(k));
    }
  auto index_of = [](int h, int f) { return (h - 1) * (h + 2) / 2 + f; };  // sum_{h'<h} (h'+1) + f

#pragma omp parallel for schedule(dynamic, 16) num_threads(ctx.num_threads())
  for (int64_t ij = 0; ij < n1 * n2; ++ij) {
    const int64_t i = ij / n2, j = ij % n2;
    double s = 0;
    for (int64_t k = 0; k < d; ++k) s += x1.row(i)[k] * x2.row(j)[k];
    s /= static_cast<double>(d);
    std::vector<double> theta(L + 1, 0.0);  // theta[f]: NTK with f fixed bottom dense layers
    for (int l = 1; l <= L; ++l) {
      // Dense layer l: trained for f < l, fixed (its parameters add nothing to Θ) for the f bottom layers.
      double pre = s;
      for (int f = 0; f <= L; ++f) {
        pre = s;
        math::affine_map<Lanes>(l > f ? trained : fixed, true, pre, theta[f], true);
      }
      double ff, dd;
      act.expectations(v1[i][l], v2[j][l], pre, ff, dd);
      for (int f = 0; f <= L; ++f) theta[f] *= dd;
      s = ff;
      // Readout after l hidden layers: a trainable dense layer.
      const double out_nngp = w2 * s + b2;
      for (int f = 0; f <= l; ++f) {
        DepthKernel& k = out[index_of(l, f)];
        k.nngp(i, j) = out_nngp;
        k.ntk(i, j) = out_nngp + w2 * theta[f];
      }
    }
  }
  return out;
}

}  // namespace ntk
