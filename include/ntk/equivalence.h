// The NTK equivalence experiment (`ntk equivalence`): trains finite networks of growing width with gradient
// descent and measures how far they are from their infinite-width limit (Jacot et al. 2018, Lee et al. 2019):
//
//   kernel_init_dev     = ||Θ̂₀ − Θ||_F / ||Θ||_F on the training inputs (Θ̂₀ empirical at initialisation, Θ
//   exact) kernel_train_change = max over checkpoints t of ||Θ̂_t − Θ̂₀||_F / ||Θ̂₀||_F param_change        =
//   ||θ_T − θ₀|| / ||θ₀|| pred_gap            = ||f_NN(X*) − f_NTK(X*)|| / ||f_NTK(X*)|| on the test inputs
//   at the end of training,
//                         f_NTK the exact-NTK predictor after the same number of steps with the same step
//                         size
//   pred_gap_lin        = the same against the linearised network (empirical NTK at initialisation, network's
//   f0)
//
// each per width as mean and spread over seeds, and the least-squares slope of log(mean) against log(width)
// (theory: −1/2 for kernel_init_dev; every deviation → 0 as the width grows). docs/equivalence.md has the
// defaults, the measured numbers and the plot.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ntk/context.h"
#include "ntk/io.h"
#include "ntk/kernel.h"
#include "ntk/options.h"
#include "ntk/train.h"

namespace ntk {

// The default data set: Debian's dataset-fashion-mnist (labels found next to it automatically).
constexpr const char* kDefaultEquivalenceData =
    "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
// The default architecture: a ReLU network with three hidden layers (widths come from EquivalenceOptions).
constexpr const char* kDefaultEquivalenceArch =
    "repeat(3, dense(w_std=1.4142, b_std=0.1), relu), dense(w_std=1.4142, b_std=0.1)";

// ---------------------------------------------------------------------------------------------------------------
// Data

struct EquivalenceData {
  Tensor x_train, x_test;                      // (N, d) or (N, H, W, C), preprocessed
  Matrix y_train, y_test;                      // (N, K) targets
  std::vector<int> labels_train, labels_test;  // class index of each row (for accuracy)
  std::vector<std::string> class_names;        // of the kept classes, in label order
  int num_classes = 0;
  bool scalar_targets = false;  // two classes as one output ±1 (accuracy by sign)
  std::string description;      // one line for reports
};

// Defaults here; names, bounds and documentation in equivalence_data_options().
struct EquivalenceDataOptions {
  std::string path = kDefaultEquivalenceData;
  io::DatasetOptions dataset;    // format, labels file, ...
  std::vector<int64_t> classes;  // labels to keep, in this order; empty: the first num_classes labels
  int num_classes = 2;
  int64_t n_train = 128;   // balanced over the kept classes
  int64_t n_test = 128;    // disjoint from the training rows
  int64_t downsample = 2;  // average pooling factor for images (1: none)
  // "example": every example centred and scaled to unit variance over its own features (default; robust to
  // pixels that are constant in the training rows); "feature": io::Standardizer per feature, fitted on the
  // training rows; "none".
  std::string standardize = "example";
  bool one_hot = false;  // two classes: false gives one output with targets ±1
  uint64_t seed = 0;     // which rows are drawn
};
// The options of EquivalenceDataOptions (ntk/options.h), named as `ntk equivalence` and ntk.equivalence name
// them: data (path), format, labels (dataset.labels_path), classes, num_classes, n_train, n_test, downsample,
// standardize, one_hot, data_seed (seed).
const OptionTable<EquivalenceDataOptions>& equivalence_data_options();

// Loads `path` with io::load_dataset and prepares it (class selection, balanced seeded subsets, downsampling,
// standardisation, targets). Centered one-hot targets: (K−1)/K for the class, −1/K elsewhere.
EquivalenceData load_equivalence_data(const EquivalenceDataOptions& options);
// The same from a data set already in memory.
EquivalenceData make_equivalence_data(const io::Dataset& dataset, const EquivalenceDataOptions& options,
                                      const std::string& name = "data");

// ---------------------------------------------------------------------------------------------------------------
// Experiment

// Defaults here; names, bounds and documentation in equivalence_options().
struct EquivalenceOptions {
  std::string arch = kDefaultEquivalenceArch;  // written without widths
  std::vector<int64_t> widths = {64, 128, 256, 512, 1024, 2048};
  int seeds = 3;
  uint64_t seed = 0;  // network s of every width is drawn with seed + s
  // kernel_init_dev needs no training, so it is averaged over max(seeds, kernel_seeds) initialisations (seeds
  // seed, seed + 1, ...; the trained networks are the first `seeds` of them): the NTK's overall scale
  // fluctuates with a heavy tail at finite width, and a few draws would make its slope noisy.
  int kernel_seeds = 16;
  Parameterization parameterization = Parameterization::kNtk;
  F0Mode f0 = F0Mode::kTwin;
  // steps (default 60), learning_rate (0: lr_fraction · 2/λ_max of each network's Θ̂₀), SGD, momentum.
  TrainOptions train = [] {
    TrainOptions t;
    t.steps = 60;
    return t;
  }();
  // Without a given step: η = lr_fraction · 2/λ_max with λ_max of each network's Θ̂₀ alone ("empirical",
  // neural-tangents' max_learning_rate) or the larger of λ_max(Θ̂₀) and λ_max(Θ) ("both", default), so that
  // the exact-NTK dynamics the network is compared with are stable too (at width 64 λ_max(Θ̂₀) is often 30%
  // low).
  std::string lr_kernel = "both";
  double time = 0.0;           // > 0: train for this gradient-flow time, steps = round(time / η) per network
  int kernel_checkpoints = 4;  // Θ̂_t measured at k·steps/checkpoints, k = 1..checkpoints
  int trace_points = 4;        // test points whose outputs are traced during training (for the plot)
  int trace_steps = 40;        // number of trace times (evenly spaced, 0 and the last step included)
  Context ctx;                 // threads (OpenMP and BLAS), progress bar
};
// The options of EquivalenceOptions (ntk/options.h): arch, widths, seeds, kernel_seeds, seed,
// parameterization, f0, steps, learning_rate, lr_fraction, batch_size, momentum (train.*), lr_kernel, time,
// checkpoints (kernel_checkpoints), trace_points, trace_steps. train.seed is not among them: the front ends
// set it to seed.
const OptionTable<EquivalenceOptions>& equivalence_options();

// One trained network.
struct EquivalenceRun {
  int64_t width = 0;
  uint64_t seed = 0;
  int64_t steps = 0;
  double learning_rate = 0.0;
  double lambda_max = 0.0;        // of Θ̂₀(X, X)
  double lambda_max_exact = 0.0;  // of Θ(X, X)
  double flow_time = 0.0;         // η · steps (or its SGD / momentum equivalent)
  double seconds = 0.0;
  std::map<std::string, double> metrics;  // every name of equivalence_metric_names()
  std::vector<int64_t> trace_at;          // steps of the traced outputs
  Matrix trace_nn, trace_ntk;             // (trace times, trace points): output 0 of f_NN and f_NTK
};

struct EquivalenceStat {
  double mean = 0.0, std = 0.0, min = 0.0, max = 0.0;
};

struct EquivalenceResult {
  EquivalenceOptions options;
  std::string data_description;
  int64_t n_train = 0, n_test = 0, outputs = 0;
  std::vector<int64_t> widths;
  std::vector<std::vector<EquivalenceRun>> runs;              // [width][seed]
  std::vector<std::vector<double>> kernel_init_devs;          // [width][draw]: all initialisations
  std::map<std::string, std::vector<EquivalenceStat>> stats;  // metric -> per width
  std::map<std::string, double> slopes;                       // deviation metric -> slope vs log width
  double kernel_seconds = 0.0;                                // analytic kernels
  double seconds = 0.0;                                       // whole experiment

  std::vector<double> means(const std::string& metric) const;
  // The report as JSON text (keys documented in docs/equivalence.md).
  std::string to_json() const;
  // The table printed by the CLI.
  std::string table() const;
};

// Names of the per-run metrics, in table order, and which of them are deviations (get a slope).
const std::vector<std::string>& equivalence_metric_names();
const std::vector<std::string>& equivalence_deviation_names();

// Least-squares slope of log(y) against log(x) over the points with y > 0 (NaN with fewer than two).
double log_log_slope(const std::vector<double>& x, const std::vector<double>& y);

// Inputs shaped for the architecture: images are kept when the network accepts them and ends in a vector
// (flatten/gap present), else flattened to (N, H·W·C).
Tensor shape_inputs_for(const Architecture& arch, const Tensor& x);

// The architecture with K outputs: the last top-level dense layer without an explicit width gets width=K.
std::string with_outputs(const std::string& arch, int64_t outputs);

// Runs the experiment. `log` (optional) receives one line per finished network.
EquivalenceResult run_equivalence(const EquivalenceData& data, const EquivalenceOptions& options,
                                  const std::function<void(const std::string&)>& log = {});

// Writes the plot as SVG: deviations against width (log-log) and f_NN(t) beside f_NTK(t) for the traced test
// points. Throws on any other extension; a .png is refused with the Python route that draws it from the JSON
// report (python3 -m ntk.plot equivalence report.json figure.png).
void write_equivalence_plot(const EquivalenceResult& result, const std::string& path);

}  // namespace ntk
