// The fast engines' compiled form of an architecture: a flat list of FastStep read off the layers' typed
// descriptors (Layer::step()), with the per-engine facts (fan-in, padding, self-variance slots, image sizes).
// ISA-independent: compiled once (fast_dispatch.cpp) and read by every ISA's engines.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ntk/arch.h"
#include "ntk/kernel.h"
#include "ntk/layer_step.h"

namespace ntk::fast {

struct FastStep {
  // kBoundary: a layer that mixes the offset planes (avgpool, a strided or circular convolution): it ends one
  // segment of the plan and starts the next, whose image size (h_out, w_out) may differ.
  enum Kind { kAffine, kConv, kAct, kLayerNorm, kFork, kJoin, kGap, kFlatten, kBoundary };
  Kind kind = kAffine;
  // kAffine (dense), kConv and a convolution's kBoundary: the layer's affine parameters and fan-in
  // (math/affine.h).
  AffineParams affine;
  double fan_in = 1;
  // kConv (stride 1, same or valid, inside a segment): k x k window, low-side padding, same or valid.
  int k = 1, pad_lo = 0;
  bool valid = false;
  // kBoundary: the window (k above), its stride and padding, whether it pools (all tap pairs (a, b), scaled
  // by 1/k⁴) or convolves (equal taps a = b, scaled by 1/k², then the affine map), and the output image size.
  int stride = 1;
  Padding pad = Padding::kSame;
  bool pool = false;
  int64_t h_out = 1, w_out = 1;
  // kAct
  ActParams act;
  // kAct, kLayerNorm: index of the self-variance slot
  int slot = -1;
  // image size at the step's input (kConv, kAct, kLayerNorm on images; kGap/kFlatten)
  int64_t h = 1, w = 1;
  // The StepKind whose self quantities the step reads (math::self_quantities).
  StepKind self_kind() const { return kind == kLayerNorm ? StepKind::kLayerNorm : StepKind::kActivation; }
};

struct FastPlan {
  bool ok = false;
  std::string why;  // reason for falling back (for tests and logs)
  std::vector<FastStep> steps;
  int slots = 0;
  int max_stack = 0;
  ExampleShape in;
  Parameterization param = Parameterization::kNtk;
};

// Compiles the architecture for the fast engines. `images`: the CNTK engine (image input; convolutions,
// avgpool, then one gap or flatten readout; windowed layers other than stride-1 same/valid convolutions are
// segment boundaries, outside residual blocks); otherwise the FC engine (vector input).
FastPlan compile_plan(const Architecture& arch, const ExampleShape& in, Parameterization p, bool images);

// compile_plan for x1, or nullopt with the reason in *why (outside the fast path, or residual blocks nested
// deeper than the engines' fixed stacks of 8).
std::optional<FastPlan> compile_fast_plan(const Architecture& arch, const Tensor& x1, Parameterization p,
                                          bool images, std::string* why);

}  // namespace ntk::fast
