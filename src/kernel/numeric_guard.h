// The numeric guard around every kernel engine (KernelEngine::create): the kernel written is right, or the
// job stops with one line naming the layer that left the dtype's range. Never a silent Inf/NaN.
//
//  - Homogeneous rescaling. When the kernel is positively homogeneous in the input scale (no bias before the
//    first scale-free point, ReLU-family activations, sign, layernorm, linear pooling), K(αx, αy) =
//    α^(2d) K(x, y). Inputs far from unit scale (max |x| outside [2^-16, 2^16]) are multiplied by a power of
//    two 2^-e, which is exact, and every tile by 2^(2de): inputs of 1e150 give the right kernel instead of
//    one computed through overflowed products.
//  - Every tile is checked: entries that are not finite, or that the output scaling pushed out of the dtype's
//    normal range, stop the job. The self pair of the offending input is traced op by op in float64 to name
//    the layer where the values leave the dtype's range, and float32 runs are advised to use float64.
#pragma once

#include <memory>

#include "ntk/arch.h"
#include "ntk/kernel_engine.h"

namespace ntk {

// d such that the network's features scale as α^d when its input is scaled by α > 0 (so the kernel as
// α^(2d)); -1 when the network is not homogeneous (a bias on a scaled input, a non-homogeneous activation
// of a scaled input, residual branches of different degrees).
int homogeneous_degree(const Architecture& arch);

// The engine KernelOptions::engine selects for the case, behind the guard. The tensors must outlive it.
std::unique_ptr<KernelEngine> make_guarded_engine(const Architecture& arch, const Tensor& x1,
                                                  const Tensor* x2, const KernelOptions& options);

}  // namespace ntk
