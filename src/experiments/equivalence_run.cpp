// The equivalence experiment's run: exact kernels, every network trained in parallel, each compared with the
// exact-NTK and linearised predictors, and the statistics over seeds (see ntk/equivalence.h).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>

#include "ntk/arch.h"
#include "ntk/equivalence.h"
#include "ntk/threads.h"
#include "ntk/error.h"
#include "ntk/network.h"
#include "ntk/progress.h"
#include "ntk/solvers.h"

namespace ntk {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Matrix submatrix_rows(const Matrix& m, const std::vector<int64_t>& rows) {
  Matrix out(static_cast<int64_t>(rows.size()), m.cols());
  for (size_t i = 0; i < rows.size(); ++i) out.row(i) = m.row(rows[i]);
  return out;
}

double rel_diff(const Matrix& a, const Matrix& b) {
  const double nb = b.norm();
  return nb > 0 ? (a - b).norm() / nb : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Options

const OptionTable<EquivalenceOptions>& equivalence_options() {
  static const OptionTable<EquivalenceOptions> table = [] {
    using E = EquivalenceOptions;
    OptionTable<E> t;
    t.add("arch", &E::arch, "architecture without widths (docs/architecture.md)");
    t.add("widths", &E::widths, "hidden widths (channels for conv layers)").not_empty().at_least(1);
    t.add("seeds", &E::seeds, "networks per width (seeds seed, seed+1, ...)").at_least(1);
    t.add("kernel_seeds", &E::kernel_seeds,
          "initialisations averaged for kernel_init_dev (untrained; the trained seeds are among them)")
        .at_least(0);
    t.add("seed", &E::seed, "seed of the first network of every width");
    t.add_choice(
        "parameterization", &E::parameterization,
        std::vector<std::pair<std::string, Parameterization>>{{"ntk", Parameterization::kNtk},
                                                              {"standard", Parameterization::kStandard},
                                                              {"mup", Parameterization::kMup}},
        "ntk | standard | mup (maximal update: compared with the ntk parameterization's exact NTK, "
        "its limit at initialisation; docs/feature-learning.md)");
    t.add_choice(
        "f0", &E::f0,
        std::vector<std::pair<std::string, F0Mode>>{{"twin", F0Mode::kTwin}, {"keep", F0Mode::kKeep}},
        "twin: zero initial outputs by a sign-flipped twin network | keep: the network's own");
    t.include(train_options(), &E::train,
              {"steps", "learning_rate", "lr_fraction", "batch_size", "momentum"});
    t.spec("learning_rate").doc = "step size η (0: lr_fraction · 2/λ_max of each network's empirical NTK)";
    t.add("lr_kernel", &E::lr_kernel,
          "λ_max for the automatic step: both = max of the network's Θ̂₀ and the exact Θ (keeps the compared "
          "NTK dynamics stable) | empirical = Θ̂₀ only")
        .one_of({"both", "empirical"});
    t.add("time", &E::time, "> 0: train for this gradient-flow time η·steps instead of a number of steps")
        .at_least(0);
    t.add("checkpoints", &E::kernel_checkpoints,
          "empirical-NTK measurements during training (kernel_train_change)")
        .at_least(1);
    t.add("trace_points", &E::trace_points,
          "test points whose outputs are traced during training (for the plot)")
        .at_least(0);
    t.add("trace_steps", &E::trace_steps,
          "times at which the traced outputs are recorded (evenly spaced, first and last step included)")
        .at_least(2);
    return t;
  }();
  return table;
}

// ---------------------------------------------------------------------------------------------------------------
// Architecture helpers

Tensor shape_inputs_for(const Architecture& arch, const Tensor& x) {
  if (x.rank() == 4) {
    bool images_ok = false;
    try {
      std::vector<ExampleShape> shapes = arch.infer_shapes(example_shape_of(x, "inputs"));
      images_ok = !shapes.back().spatial;
    } catch (const Error&) {
      images_ok = false;
    }
    if (images_ok) return x;
    Tensor flat({x.rows(), x.row_size()}, x.data);
    // Report a mismatch now, naming the architecture, rather than later inside a network.
    arch.infer_shapes(example_shape_of(flat, "inputs"));
    return flat;
  }
  arch.infer_shapes(example_shape_of(x, "inputs"));
  return x;
}

std::string with_outputs(const std::string& preset_spec, int64_t outputs) {
  if (outputs <= 1) return preset_spec;
  const std::string spec = expand_arch_presets(preset_spec);  // a preset's readout is inside its expansion
  auto nodes = parse_arch_syntax(spec);
  std::shared_ptr<ArchNode> last;
  for (const auto& n : nodes)
    if (n->name == "dense") last = n;
  NTK_THROW_IF_NOT(last != nullptr, "arch: %lld outputs need a top-level dense readout (e.g. '..., dense')",
                   (long long)outputs);
  for (const auto& a : last->args)
    if (a.key == "width" || (a.key.empty() && &a == &last->args.front())) return spec;  // width written
  const size_t at = static_cast<size_t>(last->column - 1) + 5;                          // just after "dense"
  if (last->has_parens) {
    const size_t paren = spec.find('(', at);
    const bool empty_args = last->args.empty();
    return spec.substr(0, paren + 1) + strprintf("width=%lld", (long long)outputs) +
           (empty_args ? "" : ", ") + spec.substr(paren + 1);
  }
  return spec.substr(0, at) + strprintf("(width=%lld)", (long long)outputs) + spec.substr(at);
}

// ---------------------------------------------------------------------------------------------------------------
// Statistics

const std::vector<std::string>& equivalence_metric_names() {
  static const std::vector<std::string> names = {
      "kernel_init_dev", "kernel_train_change", "param_change", "pred_gap",       "pred_gap_lin",
      "nn_train_loss",   "nn_test_mse",         "nn_test_acc",  "ntk_train_loss", "ntk_test_mse",
      "ntk_test_acc",    "lin_test_mse",        "lin_test_acc"};
  return names;
}

const std::vector<std::string>& equivalence_deviation_names() {
  static const std::vector<std::string> names = {"kernel_init_dev", "kernel_train_change", "param_change",
                                                 "pred_gap", "pred_gap_lin"};
  return names;
}

double log_log_slope(const std::vector<double>& x, const std::vector<double>& y) {
  std::vector<double> lx, ly;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i)
    if (x[i] > 0 && y[i] > 0 && std::isfinite(y[i]))
      lx.push_back(std::log(x[i])), ly.push_back(std::log(y[i]));
  if (lx.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  const double n = static_cast<double>(lx.size());
  const double mx = std::accumulate(lx.begin(), lx.end(), 0.0) / n;
  const double my = std::accumulate(ly.begin(), ly.end(), 0.0) / n;
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < lx.size(); ++i)
    sxy += (lx[i] - mx) * (ly[i] - my), sxx += (lx[i] - mx) * (lx[i] - mx);
  return sxx > 0 ? sxy / sxx : std::numeric_limits<double>::quiet_NaN();
}

std::vector<double> EquivalenceResult::means(const std::string& metric) const {
  std::vector<double> out;
  auto it = stats.find(metric);
  NTK_THROW_IF_NOT(it != stats.end(), "unknown metric '%s'", metric.c_str());
  for (const auto& s : it->second) out.push_back(s.mean);
  return out;
}

namespace {

EquivalenceStat stat_of(const std::vector<double>& v) {
  EquivalenceStat s;
  if (v.empty()) return s;
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / v.size();
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  double ss = 0;
  for (double x : v) ss += (x - s.mean) * (x - s.mean);
  s.std = v.size() > 1 ? std::sqrt(ss / (v.size() - 1)) : 0.0;  // sample standard deviation
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// The experiment

namespace {

std::vector<int> classify(const Matrix& f, bool scalar) {
  if (scalar) {
    std::vector<int> out(f.rows());
    for (int64_t i = 0; i < f.rows(); ++i) out[i] = f(i, 0) > 0 ? 1 : 0;
    return out;
  }
  return argmax_rows(f);
}

// Evenly spaced integers 0..steps (count of them, both ends included, deduplicated).
std::vector<int64_t> spaced(int64_t steps, int count, bool include_zero) {
  std::set<int64_t> s;
  if (count < 1) return {};
  if (include_zero) {
    for (int j = 0; j < count; ++j)
      s.insert(count == 1 ? steps : static_cast<int64_t>(std::llround(double(j) * steps / (count - 1))));
  } else {
    for (int j = 1; j <= count; ++j) s.insert(static_cast<int64_t>(std::llround(double(j) * steps / count)));
  }
  return std::vector<int64_t>(s.begin(), s.end());
}

}  // namespace

EquivalenceResult run_equivalence(const EquivalenceData& data, const EquivalenceOptions& options,
                                  const std::function<void(const std::string&)>& log) {
  const auto t_start = std::chrono::steady_clock::now();
  equivalence_options().validate(options);
  NTK_THROW_IF_NOT(options.time > 0 || options.train.steps >= 1, "steps must be >= 1 (or time > 0), got %lld",
                   (long long)options.train.steps);
  NTK_THROW_IF_NOT(data.x_train.rows() > 0 && data.x_test.rows() > 0, "empty training or test set");
  NTK_THROW_IF_NOT(data.y_train.rows() == data.x_train.rows() && data.y_test.rows() == data.x_test.rows() &&
                       data.y_train.cols() == data.y_test.cols() && data.y_train.cols() >= 1,
                   "targets do not match the inputs");
  // Everything below runs with single-threaded BLAS and no nested OpenMP (restored on exit): the parallelism
  // is over networks (see the task loop), which makes every number independent of the thread count.
  SerialScope serial(options.ctx);

  const int64_t K = data.y_train.cols();
  const std::string spec = with_outputs(options.arch, K);
  const Architecture base = Architecture::parse(spec);
  const Tensor x_train = shape_inputs_for(base, data.x_train);
  const Tensor x_test = shape_inputs_for(base, data.x_test);
  const ExampleShape in = example_shape_of(x_train, "training inputs");
  {
    const ExampleShape out = base.infer_shapes(in).back();
    NTK_THROW_IF_NOT(
        !out.spatial && out.channels == K,
        "the architecture has %lld outputs per example, the targets %lld: end it with dense(width=%lld)",
        (long long)out.channels, (long long)K, (long long)K);
  }
  const bool scalar = K == 1;

  EquivalenceResult res;
  res.options = options;
  res.data_description = data.description;
  res.n_train = x_train.rows();
  res.n_test = x_test.rows();
  res.outputs = K;
  res.widths = options.widths;

  // The exact NTK on train x train and test x train.
  const auto t_kernel = std::chrono::steady_clock::now();
  KernelOptions ko;
  // μP has no kernel of its own: its empirical NTK at initialisation has the ntk parameterization's limit
  // (ntk/layer.h, affine_scaling), which is what its networks are compared with; the deviations that stay
  // as the width grows measure how far feature learning takes them from it (docs/feature-learning.md).
  ko.parameterization =
      options.parameterization == Parameterization::kMup ? Parameterization::kNtk : options.parameterization;
  ko.nngp = false;
  ko.ntk = true;
  ko.ctx = options.ctx;
  ko.ctx.progress = false;
  ko.ctx.dtype = DType::kFloat64;
  // The reference engine: the kernels here are small (N + M rows), and the experiment measures against the
  // definition itself rather than an optimised path.
  ko.engine = "reference";
  const Matrix theta_tt = compute_kernels(base, x_train, nullptr, ko).ntk;
  const Matrix theta_st = compute_kernels(base, x_test, &x_train, ko).ntk;
  res.kernel_seconds = seconds_since(t_kernel);
  const double lambda_exact = largest_eigenvalue(theta_tt);

  const int64_t n_trace = std::min<int64_t>(std::max(options.trace_points, 0), x_test.rows());
  // Traced test points: the first ones of each class in turn, so that the plot shows every class.
  std::vector<int64_t> trace_rows;
  {
    const int classes = std::max(1, data.num_classes);
    std::vector<std::vector<int64_t>> of_class(classes);
    for (int64_t i = 0; i < x_test.rows(); ++i) {
      const int c = i < static_cast<int64_t>(data.labels_test.size()) ? data.labels_test[i] : 0;
      of_class[c >= 0 && c < classes ? c : 0].push_back(i);
    }
    for (size_t k = 0; static_cast<int64_t>(trace_rows.size()) < n_trace; ++k)
      for (int c = 0; c < classes && static_cast<int64_t>(trace_rows.size()) < n_trace; ++c)
        if (k < of_class[c].size()) trace_rows.push_back(of_class[c][k]);
  }
  const Tensor x_trace = x_test.select_rows(trace_rows);
  const Matrix theta_trace = submatrix_rows(theta_st, trace_rows);

  // Progress in units proportional to the cost of a step (~ width * (width + input size)).
  std::vector<int64_t> weight, init_weight;
  int64_t total = 0;
  const int extra_draws = std::max(0, options.kernel_seeds - options.seeds);
  {
    const double wmax = static_cast<double>(*std::max_element(options.widths.begin(), options.widths.end()));
    const double cmax = wmax * (wmax + in.size());
    for (int64_t w : options.widths) {
      const double share = static_cast<double>(w) * (w + in.size()) / cmax;
      const int64_t steps = options.time > 0 ? 100 : options.train.steps;
      weight.push_back(std::max<int64_t>(1, std::llround(10.0 * share * (steps + 10))));
      init_weight.push_back(std::max<int64_t>(1, std::llround(10.0 * share)));
      total += weight.back() * options.seeds + init_weight.back() * extra_draws;
    }
  }
  Progress progress(total, "equivalence", options.ctx.progress);

  RegOptions reg;
  // Every network (and every extra initialisation) is one task. Tasks run in parallel with one BLAS thread
  // each, so each result is computed by the same single-threaded sequence of operations whatever the thread
  // count: the results do not depend on --threads. Largest widths first keeps the threads busy to the end.
  std::vector<Architecture> archs;
  for (int64_t w : options.widths) archs.push_back(Architecture::parse(spec, ParseOptions{w}));
  const int draws = std::max(options.seeds, options.kernel_seeds);
  res.runs.assign(options.widths.size(), std::vector<EquivalenceRun>(options.seeds));
  res.kernel_init_devs.assign(options.widths.size(), std::vector<double>(draws, 0.0));
  struct Task {
    size_t wi;
    int s;
  };
  std::vector<Task> tasks;
  std::vector<size_t> by_width(options.widths.size());
  std::iota(by_width.begin(), by_width.end(), 0);
  std::stable_sort(by_width.begin(), by_width.end(),
                   [&](size_t a, size_t b) { return options.widths[a] > options.widths[b]; });
  for (size_t wi : by_width)
    for (int s = 0; s < draws; ++s) tasks.push_back({wi, s});
  std::stable_partition(tasks.begin(), tasks.end(), [&](const Task& t) { return t.s < options.seeds; });

  auto run_one = [&](size_t wi, int s) {
    const auto t_run = std::chrono::steady_clock::now();
    const int64_t width = options.widths[wi];
    const Architecture& arch_w = archs[wi];
    EquivalenceRun run;
    run.width = width;
    run.seed = options.seed + static_cast<uint64_t>(s);
    Model model(arch_w, in, options.parameterization, run.seed, options.f0);

    // Initialisation: outputs, empirical NTK (both twin halves are equal here, so one suffices).
    const bool twin = options.f0 == F0Mode::kTwin;
    const Matrix f0_train = twin ? Matrix::Zero(x_train.rows(), K) : model.apply(x_train);
    const Matrix f0_test = twin ? Matrix::Zero(x_test.rows(), K) : model.apply(x_test);
    const Matrix k0 = model.network(0).empirical_ntk(x_train);
    const Matrix k0_st = model.network(0).empirical_ntk(x_test, &x_train);
    run.metrics["kernel_init_dev"] = rel_diff(k0, theta_tt);
    run.lambda_max = largest_eigenvalue(k0);
    NTK_THROW_IF_NOT(run.lambda_max > 0, "the empirical NTK at width %lld has largest eigenvalue %g",
                     (long long)width, run.lambda_max);
    run.lambda_max_exact = lambda_exact;
    const double lambda_for_lr =
        options.lr_kernel == "both" ? std::max(run.lambda_max, lambda_exact) : run.lambda_max;
    run.learning_rate = options.train.learning_rate > 0 ? options.train.learning_rate
                                                        : options.train.lr_fraction * 2.0 / lambda_for_lr;
    run.steps = options.time > 0 ? std::max<int64_t>(1, std::llround(options.time / run.learning_rate))
                                 : options.train.steps;
    TrainOptions to = options.train;
    to.learning_rate = run.learning_rate;
    to.steps = run.steps;
    to.record_loss = false;
    to.seed = options.train.seed + static_cast<uint64_t>(s);
    run.flow_time = equivalent_flow_time(to, run.learning_rate, x_train.rows());
    const bool exact_steps = (to.batch_size == 0 || to.batch_size >= x_train.rows()) && to.momentum == 0;

    const std::vector<int64_t> ckpts = spaced(run.steps, options.kernel_checkpoints, false);
    run.trace_at =
        n_trace > 0 ? spaced(run.steps, std::max(2, options.trace_steps), true) : std::vector<int64_t>{};
    run.trace_nn = Matrix::Zero(run.trace_at.size(), n_trace);
    const ModelParams theta0 = model.params();
    double kchange = 0.0;
    size_t next_ckpt = 0, next_trace = 0;
    int64_t advanced = 0;
    auto on_step = [&](int64_t k, const Model& m) {
      if (next_trace < run.trace_at.size() && run.trace_at[next_trace] == k) {
        run.trace_nn.row(next_trace) = m.apply(x_trace).col(0).transpose();
        ++next_trace;
      }
      if (next_ckpt < ckpts.size() && ckpts[next_ckpt] == k) {
        kchange = std::max(kchange, rel_diff(m.empirical_ntk(x_train), k0));
        ++next_ckpt;
      }
      const int64_t target = weight[wi] * k / std::max<int64_t>(run.steps, 1);
      if (target > advanced) progress.advance(target - advanced), advanced = target;
    };
    train(model, x_train, data.y_train, to, on_step);
    run.metrics["kernel_train_change"] = kchange;
    run.metrics["param_change"] = Model::distance(model.params(), theta0) / Model::norm(theta0);

    const Matrix nn_train = model.apply(x_train), nn_test = model.apply(x_test);
    const Matrix* f0tr = twin ? nullptr : &f0_train;
    const Matrix* f0te = twin ? nullptr : &f0_test;
    GradientFlow ntk_flow(theta_tt, run.learning_rate, reg), lin_flow(k0, run.learning_rate, reg);
    Matrix ntk_train, ntk_test, lin_test;
    if (exact_steps) {
      ntk_train = ntk_flow.predict_train_steps(run.steps, data.y_train, f0tr);
      ntk_test = ntk_flow.predict_test_steps(run.steps, theta_st, data.y_train, f0tr, f0te);
      lin_test = lin_flow.predict_test_steps(run.steps, k0_st, data.y_train, f0tr, f0te);
    } else {
      ntk_train = ntk_flow.predict_train(run.flow_time, data.y_train, f0tr);
      ntk_test = ntk_flow.predict_test(run.flow_time, theta_st, data.y_train, f0tr, f0te);
      lin_test = lin_flow.predict_test(run.flow_time, k0_st, data.y_train, f0tr, f0te);
    }
    run.trace_ntk = Matrix::Zero(run.trace_at.size(), n_trace);
    if (n_trace > 0) {
      const Matrix f0_trace = submatrix_rows(f0_test, trace_rows);
      for (size_t j = 0; j < run.trace_at.size(); ++j) {
        const int64_t k = run.trace_at[j];
        Matrix f =
            exact_steps
                ? ntk_flow.predict_test_steps(k, theta_trace, data.y_train, f0tr, twin ? nullptr : &f0_trace)
                : ntk_flow.predict_test(run.flow_time * k / std::max<int64_t>(run.steps, 1), theta_trace,
                                        data.y_train, f0tr, twin ? nullptr : &f0_trace);
        run.trace_ntk.row(j) = f.col(0).transpose();
      }
    }
    run.metrics["pred_gap"] = rel_diff(nn_test, ntk_test);
    run.metrics["pred_gap_lin"] = rel_diff(nn_test, lin_test);
    run.metrics["nn_train_loss"] = mean_squared_error(nn_train, data.y_train);
    run.metrics["nn_test_mse"] = mean_squared_error(nn_test, data.y_test);
    run.metrics["nn_test_acc"] = accuracy(classify(nn_test, scalar), data.labels_test);
    run.metrics["ntk_train_loss"] = mean_squared_error(ntk_train, data.y_train);
    run.metrics["ntk_test_mse"] = mean_squared_error(ntk_test, data.y_test);
    run.metrics["ntk_test_acc"] = accuracy(classify(ntk_test, scalar), data.labels_test);
    run.metrics["lin_test_mse"] = mean_squared_error(lin_test, data.y_test);
    run.metrics["lin_test_acc"] = accuracy(classify(lin_test, scalar), data.labels_test);
    if (weight[wi] > advanced) progress.advance(weight[wi] - advanced);
    run.seconds = seconds_since(t_run);
    return run;
  };

  const int threads = std::max(1, std::min<int>(options.ctx.num_threads(), static_cast<int>(tasks.size())));
  bool failed = false;
  std::string message;
  ErrorKind kind = ErrorKind::kInternal;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (size_t ti = 0; ti < tasks.size(); ++ti) {
    bool skip;
#pragma omp atomic read
    skip = failed;
    if (skip) continue;
    const Task t = tasks[ti];
    run_nested_serially();
    try {
      if (t.s < options.seeds) {
        EquivalenceRun run = run_one(t.wi, t.s);
        res.kernel_init_devs[t.wi][t.s] = run.metrics.at("kernel_init_dev");
        if (log) {
          const std::string line = strprintf(
              "width %lld seed %llu: %lld steps, lr %.4g, kernel_init_dev %.4f, kernel_train_change %.4f, "
              "pred_gap %.4f, nn_train_loss %.4f (%.1fs)",
              (long long)run.width, (unsigned long long)run.seed, (long long)run.steps, run.learning_rate,
              run.metrics.at("kernel_init_dev"), run.metrics.at("kernel_train_change"),
              run.metrics.at("pred_gap"), run.metrics.at("nn_train_loss"), run.seconds);
#pragma omp critical(ntk_equivalence_log)
          log(line);
        }
        res.runs[t.wi][t.s] = std::move(run);
      } else {
        // A further initialisation for kernel_init_dev (no training).
        Network net(archs[t.wi], in, options.parameterization, options.seed + static_cast<uint64_t>(t.s));
        res.kernel_init_devs[t.wi][t.s] = rel_diff(net.empirical_ntk(x_train), theta_tt);
        progress.advance(init_weight[t.wi]);
      }
    } catch (const Error& e) {
#pragma omp critical(ntk_equivalence_error)
      if (!failed) {
        message = e.message();
        kind = e.kind();
#pragma omp atomic write
        failed = true;
      }
    } catch (const std::exception& e) {
#pragma omp critical(ntk_equivalence_error)
      if (!failed) {
        message = e.what();
        kind = e.what() == std::string("std::bad_alloc") ? ErrorKind::kOutOfMemory : ErrorKind::kInternal;
#pragma omp atomic write
        failed = true;
      }
    }
  }
  NTK_THROW_KIND_IF_NOT(kind, !failed, "%s", message.c_str());
  progress.finish();

  for (const auto& name : equivalence_metric_names()) {
    std::vector<EquivalenceStat> per_width;
    for (size_t wi = 0; wi < res.runs.size(); ++wi) {
      std::vector<double> v;
      for (const auto& r : res.runs[wi]) v.push_back(r.metrics.at(name));
      if (name == "kernel_init_dev") v = res.kernel_init_devs[wi];
      per_width.push_back(stat_of(v));
    }
    res.stats[name] = per_width;
  }
  std::vector<double> wx(res.widths.begin(), res.widths.end());
  for (const auto& name : equivalence_deviation_names())
    res.slopes[name] = log_log_slope(wx, res.means(name));
  res.seconds = seconds_since(t_start);
  return res;
}

}  // namespace ntk
