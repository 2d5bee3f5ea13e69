// One image file, JPEG (libjpeg) or PNG (libpng), chosen by magic: load_image.
#include "fuzz/fuzz_util.h"
#include "ntk/io.h"

NTK_FUZZ_TARGET(image)(const uint8_t* data, size_t size) {
  const auto& dir = ntk::fuzz::ScratchDir::instance();
  const std::string path = dir.file("x.img");
  ntk::fuzz::write_file(path, data, size);
  ntk::Tensor t;
  if (ntk::fuzz::accepts([&] { t = ntk::io::load_image(path); })) {
    NTK_FUZZ_CHECK(t.rank() == 3 && (t.shape[2] == 1 || t.shape[2] == 3));
    NTK_FUZZ_CHECK(t.size() == t.shape[0] * t.shape[1] * t.shape[2]);
    for (double v : t.data) NTK_FUZZ_CHECK(v >= 0 && v <= 1);
  }
  return 0;
}
