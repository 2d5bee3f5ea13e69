// .npy reader: load_npy and read_npy_header on arbitrary bytes (plain or gzip-compressed).
#include "fuzz/fuzz_util.h"
#include "ntk/io.h"

NTK_FUZZ_TARGET(npy)(const uint8_t* data, size_t size) {
  const auto& dir = ntk::fuzz::ScratchDir::instance();
  const std::string path = dir.file("x.npy");
  ntk::fuzz::write_file(path, data, size);
  ntk::io::NpyHeader header;
  const bool header_ok = ntk::fuzz::accepts([&] { header = ntk::io::read_npy_header(path); });
  ntk::Tensor t;
  if (ntk::fuzz::accepts([&] { t = ntk::io::load_npy(path); })) {
    // A loaded array has the header's shape, as many values as the shape says, and no NaN/Inf.
    NTK_FUZZ_CHECK(header_ok);
    NTK_FUZZ_CHECK(t.shape == header.shape);
    NTK_FUZZ_CHECK(t.size() == ntk::shape_product(t.shape));
    NTK_FUZZ_CHECK(ntk::first_non_finite(t.data.data(), t.size()) == t.size());
  }
  // The dispatcher the CLI uses, on the same bytes.
  ntk::fuzz::accepts([&] { ntk::io::load_array(path); });
  return 0;
}
