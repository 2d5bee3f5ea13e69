// The memory-mapped .npy writer: NpyMapWriter::open_existing() reopens a partial file to resume a tiled job,
// so it reads whatever a crash or a user left there. Arbitrary bytes as the partial file, reopened with the
// shape and dtype its own header claims (and with a mismatching one); when it opens, a row and a tile are
// stored, committed and read back with load_npy. create() is exercised with the same shape.
#include <cmath>

#include "fuzz/fuzz_util.h"
#include "ntk/io.h"

namespace {

using ntk::DType;
using ntk::io::NpyMapWriter;

constexpr int64_t kMaxElements = 1 << 12;

// Stores row 0 and a 1 x 1 tile, commits, and checks load_npy reads the stored values back.
void write_and_check(NpyMapWriter& w, const std::string& out) {
  const int64_t rows = w.shape().empty() ? 1 : w.shape()[0];
  const int64_t row = w.shape().empty() ? 1 : w.row_size();
  // No row to write when there are no rows: a header (0, 11111112, 24) must not make the harness allocate
  // 2 GB (found by fuzzing). Otherwise the row fits in the file open_existing() checked the size of.
  std::vector<double> values(static_cast<size_t>(rows > 0 ? row : 0));
  for (size_t i = 0; i < values.size(); ++i) values[i] = 0.25 * static_cast<double>(i) - 1.0;
  if (rows > 0) w.write_rows(0, 1, values.data());
  const bool tile = w.shape().size() == 2 && w.shape()[0] > 0 && w.shape()[1] > 0;
  const double corner = 3.5;
  if (tile) w.write_tile(w.shape()[0] - 1, w.shape()[1] - 1, 1, 1, &corner, 1);
  w.flush();
  const std::vector<int64_t> shape = w.shape();
  w.commit();
  ntk::Tensor t;
  // A reopened partial file may hold NaN/Inf elsewhere: load_npy then rejects it, which is fine.
  if (!ntk::fuzz::accepts([&] { t = ntk::io::load_npy(out); })) return;
  NTK_FUZZ_CHECK(t.shape == shape);
  for (int64_t i = 0; rows > 0 && i < row; ++i) {
    const bool is_corner = tile && rows == 1 && i == row - 1;
    NTK_FUZZ_CHECK(t.data[static_cast<size_t>(i)] == (is_corner ? corner : values[static_cast<size_t>(i)]));
  }
  if (tile) NTK_FUZZ_CHECK(t.data.back() == corner);
}

}  // namespace

NTK_FUZZ_TARGET(npy_map)(const uint8_t* data, size_t size) {
  const auto& dir = ntk::fuzz::ScratchDir::instance();
  dir.clear();
  const std::string out = dir.file("k.npy");
  const std::string partial = out + ".partial";
  ntk::fuzz::write_file(partial, data, size);

  ntk::io::NpyHeader h;
  if (!ntk::fuzz::accepts([&] { h = ntk::io::read_npy_header(partial); })) {
    // Still must fail cleanly when asked to resume it.
    ntk::fuzz::accepts([&] { NpyMapWriter::open_existing(out, partial, {2, 2}, DType::kFloat64); });
    return 0;
  }
  const DType dtype = h.descr == "<f4" ? DType::kFloat32 : DType::kFloat64;
  const DType other = dtype == DType::kFloat32 ? DType::kFloat64 : DType::kFloat32;
  ntk::fuzz::accepts([&] { NpyMapWriter::open_existing(out, partial, h.shape, other); });
  std::vector<int64_t> wrong = h.shape;
  wrong.push_back(1);
  ntk::fuzz::accepts([&] { NpyMapWriter::open_existing(out, partial, wrong, dtype); });
  ntk::fuzz::accepts([&] {
    NpyMapWriter w = NpyMapWriter::open_existing(out, partial, h.shape, dtype);
    write_and_check(w, out);
  });

  // A fresh file of the same shape, when small.
  bool small = h.shape.size() <= 4;
  int64_t n = 1;
  for (int64_t d : h.shape) {
    small = small && d >= 0 && d <= kMaxElements && n * (d == 0 ? 1 : d) <= kMaxElements;
    if (small) n *= d == 0 ? 1 : d;
  }
  if (small) {
    dir.clear();
    const bool keep = size > 0 && (data[size - 1] & 1);
    NpyMapWriter w = NpyMapWriter::create(out, h.shape, dtype, keep ? partial : "");
    write_and_check(w, out);
  }
  return 0;
}
