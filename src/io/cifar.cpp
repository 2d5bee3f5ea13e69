// CIFAR-10 binary version: records of 1 label byte + 3072 pixel bytes (R plane, G plane, B plane, 32x32
// each).
#include "io/io_internal.h"

namespace ntk::io {
namespace {

constexpr int64_t kSide = 32;
constexpr int64_t kPlane = kSide * kSide;
constexpr int64_t kRecord = 1 + 3 * kPlane;

const std::vector<std::string>& default_class_names() {
  static const std::vector<std::string> names = {"airplane", "automobile", "bird",  "cat",  "deer",
                                                 "dog",      "frog",       "horse", "ship", "truck"};
  return names;
}

void append_file(const std::string& path, std::vector<double>* pixels, std::vector<int64_t>* labels) {
  detail::InputFile in(path);
  std::vector<unsigned char> rec(kRecord);
  for (int64_t r = 0;; ++r) {
    const size_t got = in.read_some(rec.data(), rec.size());
    if (got == 0) {
      if (r == 0) NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "file is empty (no CIFAR-10 records)");
      break;
    }
    if (got != static_cast<size_t>(kRecord)) {
      NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "truncated CIFAR-10 record %lld: %zu of %lld bytes",
                  static_cast<long long>(r), got, static_cast<long long>(kRecord));
    }
    if (rec[0] > 9) {
      NTK_IO_FAIL(ErrorKind::kInvalidInput, path,
                  "record %lld: label %d out of range 0-9 (not a CIFAR-10 binary file?)",
                  static_cast<long long>(r), rec[0]);
    }
    labels->push_back(rec[0]);
    // Planar RGB -> interleaved (H, W, C).
    const size_t base = pixels->size();
    pixels->resize(base + 3 * kPlane);
    double* out = pixels->data() + base;
    for (int64_t i = 0; i < kPlane; ++i) {
      for (int64_t c = 0; c < 3; ++c) out[i * 3 + c] = rec[1 + c * kPlane + i] * (1.0 / 255.0);
    }
  }
}

Dataset make_dataset(std::vector<double> pixels, std::vector<int64_t> labels,
                     std::vector<std::string> names) {
  Dataset d;
  const int64_t n = static_cast<int64_t>(labels.size());
  d.x = Tensor({n, kSide, kSide, 3}, std::move(pixels));
  d.labels = std::move(labels);
  d.class_names = std::move(names);
  return d;
}

}  // namespace

Dataset load_cifar10_binary(const std::string& path) {
  std::vector<double> pixels;
  std::vector<int64_t> labels;
  append_file(path, &pixels, &labels);
  return make_dataset(std::move(pixels), std::move(labels), default_class_names());
}

Dataset load_cifar10_binary_dir(const std::string& dir, const std::string& split) {
  NTK_THROW_IF_NOT(split == "train" || split == "test", "%s: unknown CIFAR-10 split '%s'; valid: train, test",
                   dir.c_str(), split.c_str());
  if (!detail::is_directory(dir)) NTK_IO_FAIL(ErrorKind::kIo, dir, "not a folder");
  std::vector<std::string> files;
  if (split == "train") {
    for (int b = 1; b <= 5; ++b) files.push_back(detail::join_path(dir, strprintf("data_batch_%d.bin", b)));
  } else {
    files.push_back(detail::join_path(dir, "test_batch.bin"));
  }
  for (const std::string& f : files) {
    if (!detail::is_regular_file(f)) {
      NTK_IO_FAIL(ErrorKind::kIo, dir, "missing %s (expected a cifar-10-batches-bin folder)",
                  detail::base_name(f).c_str());
    }
  }
  std::vector<double> pixels;
  std::vector<int64_t> labels;
  for (const std::string& f : files) append_file(f, &pixels, &labels);

  std::vector<std::string> names = default_class_names();
  const std::string meta = detail::join_path(dir, "batches.meta.txt");
  if (detail::is_regular_file(meta)) {
    std::vector<std::string> from_file;
    const std::string text = detail::read_file(meta);
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) nl = text.size();
      std::string line = text.substr(pos, nl - pos);
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
      if (!line.empty()) from_file.push_back(line);
      pos = nl + 1;
    }
    if (from_file.size() == 10) names = from_file;
  }
  return make_dataset(std::move(pixels), std::move(labels), std::move(names));
}

}  // namespace ntk::io
