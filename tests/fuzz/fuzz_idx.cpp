// IDX (MNIST) files, plain or gzip: load_idx, load_idx_images, load_idx_labels, and load_dataset on an
// images file whose labels file (the same bytes) is found by name.
#include "fuzz/fuzz_util.h"
#include "ntk/io.h"

NTK_FUZZ_TARGET(idx)(const uint8_t* data, size_t size) {
  const auto& dir = ntk::fuzz::ScratchDir::instance();
  const std::string images = dir.file("t-images-idx3-ubyte");
  const std::string labels = dir.file("t-labels-idx1-ubyte");
  ntk::fuzz::write_file(images, data, size);
  ntk::fuzz::write_file(labels, data, size);
  ntk::Tensor t;
  if (ntk::fuzz::accepts([&] { t = ntk::io::load_idx(images); }))
    NTK_FUZZ_CHECK(t.size() == ntk::shape_product(t.shape));
  ntk::Tensor im;
  if (ntk::fuzz::accepts([&] { im = ntk::io::load_idx_images(images); }))
    NTK_FUZZ_CHECK(im.rank() == 4 && im.size() == ntk::shape_product(im.shape));
  ntk::fuzz::accepts([&] { ntk::io::load_idx_labels(labels); });
  ntk::fuzz::accepts([&] { ntk::io::load_array(images); });
  ntk::io::Dataset ds;
  if (ntk::fuzz::accepts([&] { ds = ntk::io::load_dataset(images); })) {
    NTK_FUZZ_CHECK(static_cast<int64_t>(ds.labels.size()) == ds.x.rows());
    for (int64_t l : ds.labels) NTK_FUZZ_CHECK(l >= 0 && l < static_cast<int64_t>(ds.class_names.size()));
  }
  return 0;
}
