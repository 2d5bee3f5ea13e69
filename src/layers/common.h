// Pieces shared by the layer implementations: the affine-layer arguments, padding arithmetic, random draws.
#pragma once

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "layers/math/window.h"
#include "ntk/arch.h"
#include "ntk/error.h"
#include "ntk/layer.h"

namespace ntk::layers {

// Arguments shared by dense and conv.
struct AffineArgs {
  int64_t width = 0;
  double w_std = 1.0;
  double b_std = 0.0;  // 0: no bias parameter
  bool trainable = true;
  static AffineArgs from(const LayerArgs& args);
  std::string describe() const;  // "width=.., w_std=.., b_std=.., trainable=.."
  bool has_bias() const { return b_std != 0.0; }
  AffineParams params() const { return AffineParams{w_std, b_std, trainable, width}; }
  // The layer's multipliers and initial standard deviations under `setting` (ntk::affine_scaling), for
  // fan_in inputs per output and channels_in input channels.
  AffineScaling scaling(const LayerSetting& setting, int64_t fan_in, int64_t channels_in) const {
    const int64_t width_in = setting.width_in > 0 ? setting.width_in : channels_in;
    return affine_scaling(setting, static_cast<double>(fan_in), static_cast<double>(width_in),
                          static_cast<double>(width), w_std, b_std);
  }
  // Draws W (fan_in x width) and, when there is a bias, b (1 x width) with the scaling's initial stds.
  LayerParams init(const AffineScaling& s, int64_t fan_in, std::mt19937_64& rng) const;
};
std::vector<ArgSpec> affine_arg_specs(const std::string& default_width);

Padding parse_padding(const std::string& s);
const char* padding_name(Padding p);

// Window arithmetic (math/window.h), under the names the layers use.
using math::common_taps;
using math::kernel_tap_range;
using math::tap_multiplicity;
using math::tap_range;
using math::Window1d;
using math::window_1d;
using math::window_index;

// Visits every (output position, filter tap, input position) of a k x k window with stride s over an image of
// in.height x in.width: f(out, tap, in) with positions row-major (p = row * W + col) and tap = dy * k + dx.
// Taps falling into zero padding are skipped (tap_range); circular padding wraps. Shared by the finite conv
// and avgpool.
template <typename F>
void for_each_window_tap(const ExampleShape& in, int64_t k, int64_t s, Padding pad, F&& f) {
  const Window1d wh = window_1d(in.height, k, s, pad), ww = window_1d(in.width, k, s, pad);
  for (int64_t i = 0; i < wh.out; ++i)
    for (int64_t j = 0; j < ww.out; ++j) {
      const math::TapRange th = tap_range(i, k, s, wh.pad_lo, in.height, pad);
      const math::TapRange tw = tap_range(j, k, s, ww.pad_lo, in.width, pad);
      for (int64_t dy = th.lo; dy < th.hi; ++dy) {
        const int64_t r = window_index(i, dy, s, wh.pad_lo, in.height, pad);
        for (int64_t dx = tw.lo; dx < tw.hi; ++dx) {
          const int64_t c = window_index(j, dx, s, ww.pad_lo, in.width, pad);
          f(i * ww.out + j, dy * k + dx, r * in.width + c);
        }
      }
    }
}

// Fills m with i.i.d. N(0, std^2).
void fill_normal(Eigen::MatrixXd& m, double stddev, std::mt19937_64& rng);

// Format a double compactly and exactly enough to re-parse ("1.5", "0.1", "1e-05").
std::string fmt_number(double v);

}  // namespace ntk::layers
