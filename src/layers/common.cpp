#include "layers/common.h"

#include <cstdio>

namespace ntk::layers {

AffineArgs AffineArgs::from(const LayerArgs& args) {
  AffineArgs a;
  a.width = args.integer_at_least("width", 1);
  a.w_std = args.number_at_least("w_std", 0.0);
  a.b_std = args.number_at_least("b_std", 0.0);
  a.trainable = args.boolean("trainable");
  return a;
}

std::string AffineArgs::describe() const {
  return "width=" + std::to_string(width) + ", w_std=" + fmt_number(w_std) + ", b_std=" + fmt_number(b_std) +
         ", trainable=" + (trainable ? "true" : "false");
}

LayerParams AffineArgs::init(const AffineScaling& s, int64_t fan_in, std::mt19937_64& rng) const {
  LayerParams params;
  Eigen::MatrixXd w(fan_in, width);
  fill_normal(w, s.w_init, rng);
  params.tensors.push_back(std::move(w));
  if (has_bias()) {
    Eigen::MatrixXd b(1, width);
    fill_normal(b, s.b_init, rng);
    params.tensors.push_back(std::move(b));
  }
  return params;
}

std::vector<ArgSpec> affine_arg_specs(const std::string& default_width) {
  using T = ArgSpec::Type;
  return {
      {"width", T::kInteger, default_width, {}, "finite width (output channels); the readout defaults to 1"},
      {"w_std", T::kNumber, "1", {}, "weight standard deviation"},
      {"b_std", T::kNumber, "0", {}, "bias standard deviation (0: no bias)"},
      {"trainable", T::kBool, "true", {}, "false: parameters stay fixed (no contribution to the NTK)"},
  };
}

Padding parse_padding(const std::string& s) {
  if (s == "same") return Padding::kSame;
  if (s == "valid") return Padding::kValid;
  return Padding::kCircular;
}

const char* padding_name(Padding p) {
  switch (p) {
    case Padding::kSame:
      return "same";
    case Padding::kValid:
      return "valid";
    default:
      return "circular";
  }
}

void fill_normal(Eigen::MatrixXd& m, double stddev, std::mt19937_64& rng) {
  std::normal_distribution<double> normal(0.0, 1.0);
  for (Eigen::Index j = 0; j < m.cols(); ++j)
    for (Eigen::Index i = 0; i < m.rows(); ++i) m(i, j) = stddev * normal(rng);
}

std::string fmt_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  // Prefer the shortest representation that round-trips.
  for (int prec = 1; prec <= 17; ++prec) {
    char b[64];
    std::snprintf(b, sizeof b, "%.*g", prec, v);
    if (std::strtod(b, nullptr) == v) return b;
  }
  return buf;
}

}  // namespace ntk::layers
