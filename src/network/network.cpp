#include "ntk/network.h"

#include <omp.h>

#include <cmath>

#include "ntk/error.h"
#include "ntk/parallel.h"

namespace ntk {

Network::Network(Architecture arch, const ExampleShape& input, Parameterization parameterization,
                 uint64_t seed)
    : arch_(std::move(arch)), param_(parameterization) {
  shapes_ = arch_.infer_shapes(input);
  NTK_THROW_IF_NOT(!shapes_.back().spatial,
                   "the network's output is still an image %s: end it with flatten or gap "
                   "and a dense readout",
                   shapes_.back().to_string().c_str());
  // Where each layer sits (for μP): the first and the last layer with parameters are the input layer and
  // the readout; every other one's fan-in grows with the output width of the one before it.
  settings_.assign(arch_.ops().size(), LayerSetting(param_));
  {
    std::vector<size_t> affine;
    for (size_t k = 0; k < arch_.ops().size(); ++k)
      if (arch_.ops()[k].kind == ArchOp::Kind::kLayer && arch_.ops()[k].layer->has_params())
        affine.push_back(k);
    for (size_t i = 0; i < affine.size(); ++i) {
      LayerSetting& s = settings_[affine[i]];
      s.input_layer = i == 0;
      s.readout = i + 1 == affine.size();
      s.width_in = i == 0 ? 0 : shapes_[affine[i - 1] + 1].channels;
    }
  }
  // One generator per layer, seeded from (seed, layer index): adding a layer does not reshuffle the others.
  params_.resize(arch_.ops().size());
  for (size_t k = 0; k < arch_.ops().size(); ++k) {
    const ArchOp& op = arch_.ops()[k];
    if (op.kind != ArchOp::Kind::kLayer || !op.layer->has_params()) continue;
    std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                      static_cast<uint32_t>(k)};
    std::mt19937_64 rng(seq);
    params_[k] = op.layer->init_params(shapes_[k], settings_[k], rng);
  }
}

Network::Network(const std::string& spec, int64_t width, const ExampleShape& input,
                 Parameterization parameterization, uint64_t seed)
    : Network(Architecture::parse(spec, ParseOptions{width}), input, parameterization, seed) {}

Network::Trace Network::forward_trace(const Tensor& x) const {
  ExampleShape in = example_shape_of(x, "input");
  NTK_THROW_IF_NOT(in.spatial == shapes_[0].spatial && in.height == shapes_[0].height &&
                       in.width == shapes_[0].width && in.channels == shapes_[0].channels,
                   "input examples have shape %s but the network was built for %s", in.to_string().c_str(),
                   shapes_[0].to_string().c_str());
  Trace t;
  t.inputs.reserve(arch_.ops().size() + 1);
  t.inputs.push_back(x);
  std::vector<size_t> forks;
  for (size_t k = 0; k < arch_.ops().size(); ++k) {
    const ArchOp& op = arch_.ops()[k];
    const Tensor& cur = t.inputs.back();
    switch (op.kind) {
      case ArchOp::Kind::kFork:
        forks.push_back(k);
        t.inputs.push_back(cur);
        break;
      case ArchOp::Kind::kJoin: {
        Tensor sum = cur;
        const Tensor& skip = t.inputs[forks.back()];
        for (int64_t i = 0; i < sum.size(); ++i) sum.data[i] += skip.data[i];
        forks.pop_back();
        t.inputs.push_back(std::move(sum));
        break;
      }
      case ArchOp::Kind::kLayer:
        t.inputs.push_back(op.layer->forward(cur, params_[k], shapes_[k], settings_[k]));
        break;
    }
  }
  return t;
}

std::vector<Tensor> Network::backward_trace(const Trace& t, const Tensor& grad_out,
                                            std::vector<LayerParams>* grads) const {
  const size_t n_ops = arch_.ops().size();
  std::vector<Tensor> out_grads(n_ops);  // gradient w.r.t. the output of op k
  std::vector<Tensor> skip_grads;        // pending gradients of residual skips, innermost last
  Tensor g = grad_out;
  for (size_t kk = n_ops; kk-- > 0;) {
    const ArchOp& op = arch_.ops()[kk];
    out_grads[kk] = g;
    switch (op.kind) {
      case ArchOp::Kind::kJoin:
        skip_grads.push_back(g);  // y = skip + block: both receive g
        break;
      case ArchOp::Kind::kFork: {
        const Tensor& s = skip_grads.back();
        for (int64_t i = 0; i < g.size(); ++i) g.data[i] += s.data[i];
        skip_grads.pop_back();
        break;
      }
      case ArchOp::Kind::kLayer: {
        LayerParams* pg = (grads && op.layer->has_params()) ? &(*grads)[kk] : nullptr;
        g = op.layer->backward(t.inputs[kk], t.inputs[kk + 1], g, params_[kk], shapes_[kk], settings_[kk],
                               pg);
        break;
      }
    }
  }
  return out_grads;
}

Matrix Network::apply(const Tensor& x) const {
  Trace t = forward_trace(x);
  const Tensor& y = t.inputs.back();
  Matrix out(y.rows(), output_width());
  std::copy(y.data.begin(), y.data.end(), out.data());
  return out;
}

Matrix Network::empirical_ntk(const Tensor& x1, const Tensor* x2) const {
  Trace t1 = forward_trace(x1);
  Trace t2 = x2 ? forward_trace(*x2) : Trace();
  const Trace& tb = x2 ? t2 : t1;
  const int64_t n1 = x1.rows(), n2 = x2 ? x2->rows() : x1.rows(), K = output_width();
  Matrix ntk = Matrix::Zero(n1, n2);
  for (int64_t k = 0; k < K; ++k) {
    auto seed = [&](int64_t n) {
      Tensor g({n, K});
      for (int64_t i = 0; i < n; ++i) g.data[i * K + k] = 1.0;
      return g;
    };
    std::vector<Tensor> d1 = backward_trace(t1, seed(n1), nullptr);
    std::vector<Tensor> d2 = x2 ? backward_trace(tb, seed(n2), nullptr) : d1;
    for (size_t op = 0; op < arch_.ops().size(); ++op) {
      const ArchOp& o = arch_.ops()[op];
      if (o.kind != ArchOp::Kind::kLayer || !o.layer->has_params() || !o.layer->trainable()) continue;
      o.layer->add_empirical_ntk(t1.inputs[op], d1[op], tb.inputs[op], d2[op], params_[op], shapes_[op],
                                 settings_[op], ntk);
    }
  }
  ntk /= static_cast<double>(K);
  return ntk;
}

std::vector<LayerParams> Network::gradient(const Tensor& x, const Matrix& grad_out) const {
  Trace t = forward_trace(x);
  NTK_THROW_IF_NOT(grad_out.rows() == x.rows() && grad_out.cols() == output_width(),
                   "gradient: expected output gradients of shape (%lld, %lld), got (%lld, %lld)",
                   (long long)x.rows(), (long long)output_width(), (long long)grad_out.rows(),
                   (long long)grad_out.cols());
  Tensor g({x.rows(), output_width()},
           std::vector<double>(grad_out.data(), grad_out.data() + grad_out.size()));
  std::vector<LayerParams> grads(params_.size());
  for (size_t k = 0; k < params_.size(); ++k)
    for (const auto& p : params_[k].tensors)
      grads[k].tensors.push_back(Eigen::MatrixXd::Zero(p.rows(), p.cols()));
  backward_trace(t, g, &grads);
  for (size_t k = 0; k < params_.size(); ++k) {
    const ArchOp& op = arch_.ops()[k];
    if (op.kind == ArchOp::Kind::kLayer && op.layer->has_params() && !op.layer->trainable())
      for (auto& p : grads[k].tensors) p.setZero();
  }
  return grads;
}

int64_t Network::num_params() const {
  int64_t n = 0;
  for (const auto& lp : params_)
    for (const auto& p : lp.tensors) n += p.size();
  return n;
}

double Network::params_norm() const {
  double s = 0;
  for (const auto& lp : params_)
    for (const auto& p : lp.tensors) s += p.squaredNorm();
  return std::sqrt(s);
}

void Network::add_scaled(const std::vector<LayerParams>& direction, double step) {
  for (size_t k = 0; k < params_.size(); ++k) {
    const ArchOp& op = arch_.ops()[k];
    if (op.kind != ArchOp::Kind::kLayer || !op.layer->has_params() || !op.layer->trainable()) continue;
    for (size_t t = 0; t < params_[k].tensors.size(); ++t)
      params_[k].tensors[t] += step * direction[k].tensors[t];
  }
}

double Network::distance(const std::vector<LayerParams>& a, const std::vector<LayerParams>& b) {
  double s = 0;
  for (size_t k = 0; k < a.size(); ++k)
    for (size_t t = 0; t < a[k].tensors.size(); ++t) s += (a[k].tensors[t] - b[k].tensors[t]).squaredNorm();
  return std::sqrt(s);
}

double Network::dot(const std::vector<LayerParams>& a, const std::vector<LayerParams>& b) {
  double s = 0;
  for (size_t k = 0; k < a.size(); ++k)
    for (size_t t = 0; t < a[k].tensors.size(); ++t)
      s += (a[k].tensors[t].array() * b[k].tensors[t].array()).sum();
  return s;
}

MonteCarloKernels monte_carlo_kernels(const std::string& spec, int64_t width, const Tensor& x1,
                                      const Tensor* x2, int samples, uint64_t seed,
                                      Parameterization parameterization, const Context& ctx,
                                      bool compute_ntk) {
  NTK_THROW_IF_NOT(samples >= 1, "samples must be >= 1, got %d", samples);
  NTK_THROW_IF_NOT(width >= 1, "width must be >= 1, got %lld", (long long)width);
  Architecture arch = Architecture::parse(spec, ParseOptions{width});
  const ExampleShape in = example_shape_of(x1, "x1");
  const int64_t n1 = x1.rows(), n2 = x2 ? x2->rows() : x1.rows();
  std::vector<Matrix> nngp(samples), ntk(samples);
  OmpExceptions errors;
  // Each draw is independent; the sum below runs in a fixed order so results do not depend on threads.
#pragma omp parallel for schedule(dynamic) num_threads(ctx.num_threads())
  for (int s = 0; s < samples; ++s)
    errors.run([&] {
      Network net(arch, in, parameterization, seed + static_cast<uint64_t>(s));
      Matrix f1 = net.apply(x1);
      Matrix f2 = x2 ? net.apply(*x2) : f1;
      nngp[s] = f1 * f2.transpose() / static_cast<double>(net.output_width());
      ntk[s] = compute_ntk ? net.empirical_ntk(x1, x2) : Matrix::Zero(n1, n2);
    });
  errors.rethrow();
  MonteCarloKernels out;
  out.nngp = Matrix::Zero(n1, n2);
  out.ntk = Matrix::Zero(n1, n2);
  for (int s = 0; s < samples; ++s) {
    out.nngp += nngp[s];
    out.ntk += ntk[s];
  }
  out.nngp /= samples;
  out.ntk /= samples;
  return out;
}

}  // namespace ntk
