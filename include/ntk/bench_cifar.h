// The CIFAR-10 kernel-regression bench: any architecture or preset (the CNTK-V / CNTK-GAP sweep of Arora et
// al. 2019 by default, Myrtle kernels of Shankar et al. 2020, ...), NTK and/or NNGP, inputs standardised per
// channel or ZCA-whitened (fitted on training images only), optional horizontal-flip augmentation of the
// training set, kernel regression on one-hot targets −0.1 / 0.9 with the ridge chosen by cross-validation on
// the training set, accuracy against training-set size; class-balanced few-shot subsets with repetitions
// beside Arora et al. 2020's published table. Only the train × train (symmetric) and test × train kernel
// blocks are computed.
#pragma once

#include <string>
#include <vector>

#include "ntk/context.h"
#include "ntk/kernel.h"
#include "ntk/options.h"
#include "ntk/tensor.h"

namespace ntk {

// Defaults here; names, bounds and documentation in cifar_bench_options().
struct CifarBenchOptions {
  std::string
      data;  // cifar-10-batches-bin folder, or an image-folder root with train/ (and optionally test/)
  std::string arch;  // architecture or preset; empty: the CNTK sweep over depths x readouts
  std::vector<int64_t> train_sizes = {1000};  // nested subsets of one class-balanced sample per repeat
  std::vector<int64_t> few_shot;  // non-empty: these sizes instead, reported beside Arora et al. 2020
  int64_t repeats = 1;            // independent class-balanced draws per size (seeds seed, seed+1, ...)
  int64_t test = 1000;
  std::vector<int> depths = {3, 6, 11, 21};         // number of conv layers (the sweep without arch)
  std::vector<std::string> readouts = {"flatten"};  // "flatten" (CNTK-V) and/or "gap" (CNTK-GAP)
  std::vector<std::string> kernels = {"ntk"};       // "ntk" and/or "nngp" (one kernel computation gives both)
  std::string preprocess = "standardize";           // "none" | "standardize" | "zca"
  double zca_reg = 0.1;  // relative to the mean eigenvalue of the training covariance
  int64_t zca_fit = 0;   // training images the whitening is fitted on; 0 = those of the run (before flips)
  bool flip = false;     // add the horizontal mirror image of every training image
  std::vector<double> diag_reg = {0, 1e-4, 1e-3, 1e-2, 1e-1, 1};  // ridge candidates, relative to mean diag K
  int64_t ridge_folds = 5;                                        // cross-validation folds choosing the ridge
  uint64_t seed = 0;
  Context ctx;
};
// The options of CifarBenchOptions (ntk/options.h): data, arch, train_sizes, few_shot, repeats, test, depths,
// readouts, kernels, preprocess, zca_reg, zca_fit, flip, diag_reg, ridge_folds, seed.
const OptionTable<CifarBenchOptions>& cifar_bench_options();

struct CifarRun {
  std::string arch;     // as given (or the preset of the sweep, e.g. "cntk_gap(11)")
  std::string spec;     // written out in the layer language
  std::string kernel;   // "ntk" | "nngp"
  std::string readout;  // the sweep's readout ("flatten" | "gap"), empty for --arch
  int depth = 0;        // the sweep's depth, 0 for --arch
  int64_t train = 0;    // training images before flips
  int64_t repeat = 0;
  int64_t test = 0;
  double accuracy = 0;        // fraction
  double diag_reg = 0;        // the chosen ridge (relative)
  double kernel_seconds = 0;  // time of the kernel blocks this run's row came from
  std::string warning;        // of the kernel-regression solve (jitter added), empty when none
};

std::vector<CifarRun> run_cifar_bench(const CifarBenchOptions& options);

// Mean and standard deviation (population, as numpy's std) over the repeats of one (arch, kernel, train
// size).
struct CifarSummary {
  std::string arch, kernel;
  int64_t train = 0, test = 0, repeats = 0;
  double mean = 0, std = 0;  // fractions
  double kernel_seconds = 0;
};
std::vector<CifarSummary> summarize_cifar_runs(const std::vector<CifarRun>& runs);

// Arora et al. 2020 ("Harnessing the Power of Infinitely Wide Deep Nets on Small-data Tasks"), class-balanced
// CIFAR-10 subsets of n = 10 · 2^k images, k = 0..7: published test accuracies (fractions) of the 14-layer
// CNTK and of ResNet-34; false when n is not one of those sizes.
bool arora2020_published(int64_t n, double* cntk, double* resnet34);

// CNTK-V / CNTK-GAP of depth d (the presets cntk_v(d), cntk_gap(d)) in the layer language.
std::string cntk_architecture(const std::string& readout, int depth);

// ---- the pieces, exposed for tests ----

// Horizontal mirror images of (N, H, W, C) images.
Tensor flip_horizontal(const Tensor& x);
// The training set with flips: the N images, then their N mirror images (row N + i mirrors row i).
Tensor with_flips(const Tensor& x);

// Regularised ZCA whitening as in the Myrtle work (Shankar et al. 2020; Lee et al. 2020): every image is
// centred (its own mean over all H·W·C values removed) and scaled to unit norm; M = XᵀX / N on the training
// images; W = V (Λ + ε·mean(Λ))^{-1/2} Vᵀ with ε = reg (directions with λ + ε·mean(Λ) ≈ 0, possible only when
// reg = 0, are dropped). Apply maps each (normalised) image x to x·W.
struct ZcaWhitening {
  Matrix w;  // d x d, symmetric
  static ZcaWhitening fit(const Tensor& train, double reg);
  void apply_inplace(Tensor& x) const;
};
// The per-image centring and unit-norm scaling that ZCA applies first.
void normalize_images_inplace(Tensor& x);

// The kernel blocks the bench uses: train × train (computed as a symmetric kernel) and test × train.
struct CifarKernelBlocks {
  Kernels train_train, test_train;
  double seconds = 0;
};
CifarKernelBlocks cifar_kernel_blocks(const std::string& arch, const Tensor& train, const Tensor& test,
                                      const KernelOptions& options);

// Kernel regression with the ridge chosen by cross-validation: the candidates `diag_reg` (relative to the
// mean of diag K) are compared by the held-out accuracy (then the held-out squared error) of `folds`-fold
// cross-validation on the training set, in closed form from one inverse per candidate; examples with the same
// `group` (an image and its flip) share a fold. Returns the test scores (test × classes) of the chosen ridge.
struct RidgeChoice {
  double diag_reg = 0;
  double cv_accuracy = 0;
  std::string warning;
};
Matrix ridge_cv_predict(const Matrix& k_train, const Matrix& k_test_train, const std::vector<int>& labels,
                        const std::vector<int64_t>& group, int classes, const std::vector<double>& diag_reg,
                        int64_t folds, RidgeChoice* choice);

}  // namespace ntk
