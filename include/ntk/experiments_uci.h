// The UCI benchmark of Arora et al. 2020 ("Harnessing the Power of Infinitely Wide Deep Nets on Small-data
// Tasks") on the Fernández-Delgado et al. 2014 collection: fully-connected ReLU NTK, a C-SVM on the
// precomputed kernel, (depth, L', C) chosen on the conxuntos.dat train/validation split, accuracy = mean over
// the four folds of conxuntos_kfold.dat. All (depth, L') kernels come from one run of the layer recursion.
#pragma once

#include <string>
#include <vector>

#include "ntk/context.h"
#include "ntk/io.h"
#include "ntk/options.h"
#include "ntk/solvers.h"

namespace ntk::experiments {

// Defaults here; names, bounds and documentation in uci_options().
struct UciOptions {
  // Hidden layers: depth d means repeat(d, dense, relu), dense; L' = 0..d bottom dense layers fixed.
  // Depth 0 is the linear kernel (one dense layer). Arora et al.'s "depth 1..5" counts dense layers, i.e.
  // hidden depths 0..4 here; the default grid follows the reading, hidden depths 1..5.
  int min_depth = 1;
  int max_depth = 5;
  std::vector<double> cs = {1e-2, 1e-1, 1e0, 1e1, 1e2, 1e3, 1e4};
  std::string activation = "relu";
  double w_std = 1.0;
  double b_std = 0.0;
  // Multiply every kernel by the input width d, i.e. first-layer covariance x·x' instead of neural-tangents'
  // x·x'/d: with w_std = 1, b_std = 0 this is exactly the kernel of Arora et al.'s code, whose scale sets
  // what the C grid means.
  bool arora_scale = true;
  SvmOptions svm;  // C is taken from `cs`
  Context ctx;
};
// The options of UciOptions (ntk/options.h): min_depth, max_depth, cs, activation, w_std, b_std, arora_scale.
const OptionTable<UciOptions>& uci_options();

struct UciResult {
  std::string name;
  int64_t examples = 0;
  int64_t features = 0;
  int classes = 0;
  int depth = 0;  // selected
  int fixed = 0;
  double c = 0.0;
  double validation_accuracy = 0.0;
  std::vector<double> fold_accuracy;  // the four conxuntos_kfold.dat folds
  double accuracy = 0.0;              // mean of fold_accuracy
  double kernel_seconds = 0.0;
  double seconds = 0.0;  // whole data set
  Selection selection;   // every grid point's validation accuracy
};

// Sorted names of the data sets under `dir` (subfolders holding <name>/<name>_R.dat). Throws naming `dir`
// when it is not a folder or holds none.
std::vector<std::string> list_uci_datasets(const std::string& dir);

// The NTK of every (depth, L') in the grid over all rows of x (N×N each; nngp left empty), from one pass of
// fc_kernels_all_depths (in row blocks, to bound its temporaries).
std::vector<DepthKernel> fc_grid_kernels(const Tensor& x, const UciOptions& options);

// Runs the protocol on one data set. Throws (naming the file) on a data set with a single class or a split
// whose training part holds a single class.
UciResult run_uci_ntk(const io::UciDataset& data, const std::string& source, const UciOptions& options);

// Comparison of classifiers over data sets (Fernández-Delgado et al. 2014; Arora et al. 2020 Table 1), on the
// data sets every classifier has a result for:
//   average        mean accuracy;
//   friedman_rank  mean rank per data set (1 = best; ties share the average rank);
//   p90 / p95      share of data sets where the classifier reaches >= 90% / 95% of the best accuracy among
//   the
//                  compared classifiers on that data set.
struct ClassifierSummary {
  std::string name;
  int datasets = 0;
  double average = 0.0;
  double friedman_rank = 0.0;
  double p90 = 0.0;
  double p95 = 0.0;
};
// accuracy[c][s]: classifier c on data set s; NaN marks a missing result (the data set is left out for all).
std::vector<ClassifierSummary> compare_classifiers(const std::vector<std::string>& names,
                                                   const std::vector<std::vector<double>>& accuracy);

}  // namespace ntk::experiments
