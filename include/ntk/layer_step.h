// The typed descriptor of a layer's analytic step: what every kernel engine reads to run the layer (an enum
// and plain numbers; no strings, no re-parsing of Layer::describe()). Each layer returns its own from
// Layer::step(); its closed-form map is written once in src/layers/math/ (affine.h, activations.h,
// layernorm.h), as inline templates over a lane type (lanes.h) that every engine includes.
#pragma once

#include <cstdint>

namespace ntk {

// Padding of a convolution or pooling window (JAX / neural-tangents conventions; see
// src/layers/math/window.h).
enum class Padding : uint8_t { kSame, kValid, kCircular };

enum class StepKind : uint8_t {
  kDense,       // affine over channels (per position for images)
  kConv,        // k x k convolution (window)
  kAvgPool,     // k x k average pooling (window); mixes positions
  kGap,         // global average pooling: mean over all position pairs
  kFlatten,     // flatten: mean of the position diagonal
  kActivation,  // pointwise nonlinearity (act)
  kLayerNorm,   // normalisation over channels
  kIdentity,
};

// Pointwise nonlinearities. The closed forms (listed in activations.h, one header each) are the ones whose
// Gaussian expectations have a formula; the others are computed by quadrature.
enum class ActKind : uint8_t {
  kABRelu,  // a·min(x, 0) + b·max(x, 0): relu, leaky_relu, abrelu, abs
  kErf,     // a·erf(b·x) + c
  kGelu,    // x·Φ(x)
  kSign,    // sign(x)
  kSin,     // a·sin(b·x + c)
  kTanh,
  kSigmoid,
  kSoftplus,
  kSilu,
  kElu,
};

struct ActParams {
  ActKind kind = ActKind::kABRelu;
  double a = 0, b = 1, c = 0;  // the activation's numbers (abrelu: a, b; erf and sin: a, b, c)
};

struct AffineParams {
  double w_std = 1, b_std = 0;  // b_std = 0: no bias parameter
  bool trainable = true;        // false: the layer's parameters add nothing to the NTK
  int64_t width = 0;            // finite width (0: the default of the finite network)
};

struct WindowParams {
  int64_t k = 1, stride = 1;
  Padding pad = Padding::kSame;
};

struct LayerStep {
  StepKind kind = StepKind::kIdentity;
  AffineParams affine;  // kDense, kConv
  WindowParams window;  // kConv, kAvgPool
  ActParams act;        // kActivation
};

// Whether the step's map reads the self-variances of the two inputs (nonlinearities, normalisation).
constexpr bool step_needs_variances(StepKind k) {
  return k == StepKind::kActivation || k == StepKind::kLayerNorm;
}

}  // namespace ntk
