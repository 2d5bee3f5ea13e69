// Training / test data with targets for `ntk regress` and `ntk select`: CSV or LIBSVM files with a label
// column, or .npy inputs with a separate targets file.
#pragma once

#include <string>
#include <vector>

#include "ntk/kernel.h"
#include "ntk/tensor.h"

namespace ntk::cli {

struct LabeledData {
  std::string path;                      // the inputs file (for messages)
  std::string targets_path;              // where the targets came from (== path for CSV / LIBSVM)
  Tensor x;                              // (N, d)
  Matrix y;                              // (N, outputs); empty when the file had no targets
  std::vector<std::string> class_names;  // CSV labels that were names, mapped to sorted indices
};

struct DataOptions {
  std::string format = "auto";  // auto | csv | libsvm | npy
  int64_t label_column = -1;    // CSV
};

// Loads inputs and targets. `targets` is the .npy/CSV targets file for .npy inputs ("" = none; then y is
// empty). `width` > 0 requires that many features (test data must match the training data; LIBSVM uses it as
// d).
LabeledData load_labeled(const std::string& path, const std::string& targets, const DataOptions& options,
                         int64_t width = 0, const std::string& width_source = "");

// Integer class labels from a one-column y, naming the file in errors.
std::vector<int> class_labels(const LabeledData& d);

// True when every target is an integer >= 0 in a single column (auto task = classification).
bool looks_like_labels(const LabeledData& d);

// FNV-1a 64 of the shape and the values: identifies the inputs a cached kernel was computed on.
std::string tensor_checksum(const Tensor& t);

// Writes a matrix as .npy (by extension) or CSV.
void save_table(const std::string& path, const Matrix& m);

}  // namespace ntk::cli
