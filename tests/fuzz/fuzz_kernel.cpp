// An architecture and a tiny kernel on it. The bytes up to the first newline are the architecture; after it,
// byte 0 chooses images (bit 0), a separate x2 (bit 1), float32 (bit 2), the standard parameterization
// (bit 3), NNGP only / NTK only (bits 4, 5); bytes 1-5 the sizes (N1, N2 in 1-3; d in 1-6 or H, W in 1-4,
// C in 1-2); the rest are the input values (signed byte / 32; a fixed pattern where bytes run out).
// compute_kernels (the reference engine under libFuzzer; in the replay of ntk_tests whatever engine "auto"
// picks), then the same kernel as a tiled job written to disk, which must be bit-identical (the documented
// contract between the two). Architectures longer than 256 characters or 32 operations are skipped to keep
// every execution in milliseconds.
#include <cstring>
#include <fstream>
#include <iterator>

#include "fuzz/fuzz_util.h"
#include "ntk/arch.h"
#include "ntk/io.h"
#include "ntk/kernel.h"
#include "ntk/tiled_job.h"

namespace {

ntk::Tensor make_input(std::vector<int64_t> shape, const uint8_t*& p, const uint8_t* end) {
  ntk::Tensor t(std::move(shape));
  for (size_t i = 0; i < t.data.size(); ++i) {
    const int v = p < end ? static_cast<int8_t>(*p++) : static_cast<int>((i * 37) % 17) - 8;
    t.data[i] = v / 32.0;
  }
  return t;
}

// Bitwise equality of an in-memory kernel and the one the tiled job wrote (raw bytes: the kernel may hold
// NaN/Inf, which load_npy would reject).
void check_same(const ntk::Matrix& k, const std::string& path, ntk::DType dtype) {
  const ntk::io::NpyHeader h = ntk::io::read_npy_header(path);
  NTK_FUZZ_CHECK(h.shape == (std::vector<int64_t>{k.rows(), k.cols()}));
  NTK_FUZZ_CHECK(h.descr == (dtype == ntk::DType::kFloat32 ? "<f4" : "<f8"));
  std::ifstream f(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  NTK_FUZZ_CHECK(static_cast<int64_t>(bytes.size()) == h.data_offset + k.size() * h.item_size);
  const char* disk = bytes.data() + h.data_offset;
  for (int64_t i = 0; i < k.size(); ++i) {
    const double a = k.data()[i];
    if (dtype == ntk::DType::kFloat32) {
      const float fa = static_cast<float>(a);
      NTK_FUZZ_CHECK(std::memcmp(&fa, disk + 4 * i, 4) == 0);
    } else {
      NTK_FUZZ_CHECK(std::memcmp(&a, disk + 8 * i, 8) == 0);
    }
  }
}

}  // namespace

NTK_FUZZ_TARGET(kernel)(const uint8_t* data, size_t size) {
  const uint8_t* end = data + size;
  const uint8_t* nl = static_cast<const uint8_t*>(std::memchr(data, '\n', size));
  const std::string spec(reinterpret_cast<const char*>(data), nl ? static_cast<size_t>(nl - data) : size);
  if (spec.size() > 256) return 0;
  const uint8_t* p = nl ? nl + 1 : end;
  const auto next = [&]() -> unsigned { return p < end ? *p++ : 0u; };
  const unsigned mode = next();
  const int64_t n1 = 1 + next() % 3, n2 = 1 + next() % 3;
  const bool images = mode & 1;
  std::vector<int64_t> example;
  if (images) {
    const int64_t h = 1 + next() % 4, w = 1 + next() % 4, c = 1 + next() % 2;
    example = {h, w, c};
  } else {
    example = {static_cast<int64_t>(1 + next() % 6)};
    next();
    next();
  }
  ntk::Architecture arch;
  if (!ntk::fuzz::accepts([&] { arch = ntk::Architecture::parse(spec); })) return 0;
  if (arch.ops().size() > 32) return 0;

  std::vector<int64_t> s1 = {n1}, s2 = {n2};
  s1.insert(s1.end(), example.begin(), example.end());
  s2.insert(s2.end(), example.begin(), example.end());
  const ntk::Tensor x1 = make_input(s1, p, end);
  const ntk::Tensor x2 = make_input(s2, p, end);
  const ntk::Tensor* second = (mode & 2) ? &x2 : nullptr;

  ntk::KernelOptions options;
  options.engine =
      "auto";  // the reference engine in the clang build (no fast engines there), both in the replay
  options.ctx.threads = 1;
  options.ctx.dtype = (mode & 4) ? ntk::DType::kFloat32 : ntk::DType::kFloat64;
  options.parameterization = (mode & 8) ? ntk::Parameterization::kStandard : ntk::Parameterization::kNtk;
  options.nngp = !(mode & 32);
  options.ntk = !(mode & 16);
  ntk::Kernels k;
  if (!ntk::fuzz::accepts([&] { k = ntk::compute_kernels(arch, x1, second, options); })) return 0;
  const int64_t rows = n1, cols = second ? n2 : n1;
  if (options.nngp) NTK_FUZZ_CHECK(k.nngp.rows() == rows && k.nngp.cols() == cols);
  if (options.ntk) NTK_FUZZ_CHECK(k.ntk.rows() == rows && k.ntk.cols() == cols);
  if (!options.ntk && !options.nngp) return 0;

  const auto& dir = ntk::fuzz::ScratchDir::instance();
  dir.clear();
  ntk::TiledJobOptions job;
  job.out_path = dir.file("k.npy");
  job.want_ntk = options.ntk;
  ntk::run_tiled_kernel_job(arch, x1, second, options, job);
  check_same(options.ntk ? k.ntk : k.nngp, job.out_path, options.ctx.dtype);
  return 0;
}
