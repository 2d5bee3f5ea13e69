// The kernel engine works on tiles of (x1, x2) pairs: prepare() computes what each input needs alone (its
// self-covariance trajectory through the layers), then compute_tile() fills any block of rows x columns of
// the N1 x N2 kernels independently of every other block. Threads, memory-mapped outputs, resumable jobs,
// GPUs and (later) MPI ranks all divide work by tiles.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ntk/arch.h"
#include "ntk/kernel.h"

namespace ntk {

struct TileSpec {
  int64_t row_begin = 0, row_end = 0, col_begin = 0, col_end = 0;
};

class KernelEngine {
 public:
  virtual ~KernelEngine() = default;
  // The engine that KernelOptions::engine selects for the case (ntk/engine_registry.h), after checking that
  // the inputs are finite. x2 == nullptr means x2 = x1. The tensors must outlive the engine.
  static std::unique_ptr<KernelEngine> create(const Architecture& arch, const Tensor& x1, const Tensor* x2,
                                              const KernelOptions& options);
  // The registry name of the engine ("reference", "fast-avx2", ...).
  virtual std::string name() const = 0;
  virtual int64_t rows() const = 0;
  virtual int64_t cols() const = 0;
  virtual bool symmetric() const = 0;
  // Per-input work (self trajectories); called once before tiles.
  virtual void prepare() = 0;
  // Fills the tile into row-major buffers with leading dimension ld (nullptr to skip a kernel). Values are
  // written in the engine's dtype (float for float32, double for float64): `nngp`/`ntk` point to that type.
  virtual void compute_tile(const TileSpec& tile, void* nngp, void* ntk, int64_t ld) const = 0;
  // Approximate bytes of working memory per thread and for prepare() (for --memory checks).
  virtual int64_t bytes_per_pair() const = 0;
  virtual int64_t prepared_bytes() const = 0;
  virtual DType dtype() const = 0;
  // Tile edge that suits this engine (0: the default, kDefaultTile). Pairs of a fully-connected kernel cost
  // tens of nanoseconds, so 256 x 256 tiles would spend their time in small GEMMs and per-tile bookkeeping; a
  // CNTK pair costs microseconds to milliseconds.
  virtual int64_t preferred_tile() const { return 0; }
};

}  // namespace ntk
