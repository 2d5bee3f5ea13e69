// The per-layer initialisation and learning-rate scalings of the three parameterizations of the finite
// networks (ntk/layer.h, affine_scaling): dense and conv read theirs from here and nowhere else.
#include <cmath>

#include "ntk/error.h"
#include "ntk/layer.h"

namespace ntk {

AffineScaling affine_scaling(const LayerSetting& setting, double fan_in, double width_in, double width_out,
                             double w_std, double b_std) {
  NTK_THROW_IF_NOT(fan_in > 0 && width_in > 0 && width_out > 0,
                   "affine_scaling: fan_in %g, width_in %g and width_out %g must be > 0", fan_in, width_in,
                   width_out);
  AffineScaling s;
  const double ntk_w = w_std / std::sqrt(fan_in);
  switch (setting.parameterization) {
    case Parameterization::kStandard:
      s.w_mult = 1.0;
      s.w_init = ntk_w;
      s.b_mult = 1.0;
      s.b_init = b_std;
      return s;
    case Parameterization::kNtk:
      s.w_mult = ntk_w;
      s.w_init = 1.0;
      s.b_mult = b_std;
      s.b_init = 1.0;
      return s;
    case Parameterization::kMup:
      break;
  }
  // μP: the ntk layer with a width factor n moved from the stored weights into the multiplier.
  s.w_mult = ntk_w;
  s.w_init = 1.0;
  s.b_mult = b_std;
  s.b_init = 1.0;
  if (setting.input_layer && setting.readout) return s;  // no dimension grows with the width
  if (setting.readout) {
    // Output weights: effective variance w²/(fan_in·width_in) ∝ 1/fan_in², learning rate η·w²/fan_in.
    s.w_init = 1.0 / std::sqrt(width_in);
    return s;
  }
  const double n = setting.input_layer ? width_out : width_in;
  s.w_mult = ntk_w * std::sqrt(n);
  s.w_init = 1.0 / std::sqrt(n);
  s.b_mult = b_std * std::sqrt(width_out);
  s.b_init = 1.0 / std::sqrt(width_out);
  return s;
}

}  // namespace ntk
