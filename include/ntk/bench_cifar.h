// The CIFAR-10 experiment of Arora et al. 2019 on subsets: CNTK-V (flatten readout) and CNTK-GAP (global average
// pooling, first and last layer fixed), inputs standardised per channel, kernel regression on one-hot targets
// −0.1 / 0.9, accuracy against training-set size and depth.
#pragma once

#include <string>
#include <vector>

#include "ntk/context.h"
#include "ntk/options.h"

namespace ntk {

// Defaults here; names, bounds and documentation in cifar_bench_options().
struct CifarBenchOptions {
  std::string data;  // cifar-10-batches-bin folder, or an image-folder root with train/ (and optionally test/)
  std::vector<int64_t> train_sizes = {1000};  // nested subsets of one training sample; kernels use the largest
  int64_t test = 1000;
  std::vector<int> depths = {3, 6, 11, 21};  // number of conv layers
  std::vector<std::string> readouts = {"flatten"};  // "flatten" (CNTK-V) and/or "gap" (CNTK-GAP)
  double diag_reg = 0.0;  // relative to the mean diagonal; jitter is added only if needed
  uint64_t seed = 0;
  Context ctx;
};
// The options of CifarBenchOptions (ntk/options.h): data, train_sizes, test, depths, readouts, diag_reg,
// seed.
const OptionTable<CifarBenchOptions>& cifar_bench_options();

struct CifarRun {
  std::string readout;
  int depth = 0;
  int64_t train = 0, test = 0;
  double accuracy = 0;        // fraction
  double kernel_seconds = 0;  // time of the (train + test) kernel this run's row came from
  std::string arch;
  std::string warning;  // of the kernel-regression solve (jitter added), empty when none
};

// Architectures of the paper in the architecture language.
std::string cntk_architecture(const std::string& readout, int depth);

std::vector<CifarRun> run_cifar_bench(const CifarBenchOptions& options);

}  // namespace ntk
