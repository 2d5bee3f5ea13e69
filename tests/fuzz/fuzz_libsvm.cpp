// LIBSVM / SVMlight text: load_libsvm (d from the data, and a fixed num_features) and load_dataset's labels.
#include "fuzz/fuzz_util.h"
#include "ntk/io.h"

NTK_FUZZ_TARGET(libsvm)(const uint8_t* data, size_t size) {
  const auto& dir = ntk::fuzz::ScratchDir::instance();
  const std::string path = dir.file("x.libsvm");
  ntk::fuzz::write_file(path, data, size);
  for (int64_t features : {0, 7}) {
    ntk::io::LibsvmData d;
    if (ntk::fuzz::accepts([&] { d = ntk::io::load_libsvm(path, features); })) {
      NTK_FUZZ_CHECK(d.x.rank() == 2 && d.x.rows() == static_cast<int64_t>(d.labels.size()));
      if (features > 0) NTK_FUZZ_CHECK(d.x.shape[1] == features);
      NTK_FUZZ_CHECK(ntk::first_non_finite(d.x.data.data(), d.x.size()) == d.x.size());
    }
  }
  ntk::io::Dataset ds;
  if (ntk::fuzz::accepts([&] { ds = ntk::io::load_dataset(path); })) {
    NTK_FUZZ_CHECK(static_cast<int64_t>(ds.labels.size()) == ds.x.rows());
    for (int64_t l : ds.labels) NTK_FUZZ_CHECK(l >= 0 && l < static_cast<int64_t>(ds.class_names.size()));
  }
  return 0;
}
