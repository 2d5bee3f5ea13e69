// CIFAR-10 binary: part 0 is a batch file (load_cifar10_binary, and as test_batch.bin of a
// cifar-10-batches-bin folder through load_cifar10_binary_dir / load_dataset); an optional part 1 is the
// folder's batches.meta.txt (class names).
#include "fuzz/fuzz_util.h"
#include "ntk/io.h"

NTK_FUZZ_TARGET(cifar)(const uint8_t* data, size_t size) {
  const auto& dir = ntk::fuzz::ScratchDir::instance();
  dir.clear();
  const std::vector<std::string> parts = ntk::fuzz::split_parts(data, size);
  const std::string folder = dir.file("cifar-10-batches-bin");
  std::filesystem::create_directory(folder);
  ntk::fuzz::write_file(folder + "/test_batch.bin", parts[0]);
  if (parts.size() > 1) ntk::fuzz::write_file(folder + "/batches.meta.txt", parts[1]);
  ntk::io::Dataset one;
  if (ntk::fuzz::accepts([&] { one = ntk::io::load_cifar10_binary(folder + "/test_batch.bin"); })) {
    NTK_FUZZ_CHECK(one.x.rank() == 4 && one.x.rows() == static_cast<int64_t>(one.labels.size()));
    NTK_FUZZ_CHECK(one.x.size() == one.x.rows() * 32 * 32 * 3);
  }
  ntk::io::Dataset ds;
  if (ntk::fuzz::accepts([&] { ds = ntk::io::load_cifar10_binary_dir(folder, "test"); })) {
    NTK_FUZZ_CHECK(ds.class_names.size() == 10);
    for (int64_t l : ds.labels) NTK_FUZZ_CHECK(l >= 0 && l < 10);
  }
  ntk::fuzz::accepts([&] { ntk::io::load_cifar10_binary_dir(folder, "train"); });
  ntk::fuzz::accepts([&] { ntk::io::load_dataset(folder); });
  return 0;
}
