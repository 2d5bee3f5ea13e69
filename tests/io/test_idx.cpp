#include <zlib.h>

#include "io/io_test_util.h"

namespace ntk::io {
namespace {

using testing::expect_error;
using testing::TempDir;
using testing::write_file;

std::string be32(uint32_t v) {
  return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                     static_cast<char>(v)};
}

std::string idx_header(int type, std::vector<uint32_t> dims) {
  std::string s{0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims) s += be32(d);
  return s;
}

void write_gz(const std::string& path, const std::string& bytes) {
  gzFile gz = gzopen(path.c_str(), "wb");
  gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(gz);
}

// 3 images of 2x2 with pixel values 0, 51, ..., and labels 7, 0, 9.
void write_mnist_like(const std::string& dir, const std::string& prefix, bool gz) {
  std::string images = idx_header(0x08, {3, 2, 2});
  for (int i = 0; i < 12; ++i) images += static_cast<char>(i * 20);
  std::string labels = idx_header(0x08, {3}) + std::string{7, 0, 9};
  if (gz) {
    write_gz(dir + "/" + prefix + "-images-idx3-ubyte.gz", images);
    write_gz(dir + "/" + prefix + "-labels-idx1-ubyte.gz", labels);
  } else {
    write_file(dir + "/" + prefix + "-images-idx3-ubyte", images);
    write_file(dir + "/" + prefix + "-labels-idx1-ubyte", labels);
  }
}

TEST(IoIdx, ImagesAndLabelsPlainAndGzip) {
  TempDir dir;
  write_mnist_like(dir.path(), "train", false);
  write_mnist_like(dir.path(), "t10k", true);
  for (const std::string prefix : {"train", "t10k"}) {
    const std::string images = dir.file(prefix + "-images-idx3-ubyte" + (prefix == "t10k" ? ".gz" : ""));
    Tensor x = load_idx_images(images);
    EXPECT_EQ(x.shape, (std::vector<int64_t>{3, 2, 2, 1}));
    EXPECT_DOUBLE_EQ(x.data[11], 220.0 / 255.0);
    EXPECT_EQ(load_idx(images).shape, (std::vector<int64_t>{3, 2, 2}));
    const std::string labels = find_idx_labels_for(images);
    EXPECT_EQ(labels, dir.file(prefix + "-labels-idx1-ubyte" + (prefix == "t10k" ? ".gz" : "")));
    EXPECT_EQ(load_idx_labels(labels), (std::vector<int64_t>{7, 0, 9}));
    Dataset ds = load_dataset(images);
    EXPECT_EQ(ds.x.shape, x.shape);
    EXPECT_EQ(ds.labels, (std::vector<int64_t>{7, 0, 9}));
    EXPECT_EQ(ds.class_names.size(), 10u);
    EXPECT_EQ(load_array(images).shape, x.shape);
  }
  // Compression is detected by content: a gzip file without .gz extension still loads.
  write_gz(dir.file("renamed-idx"), testing::read_bytes(dir.file("train-images-idx3-ubyte")));
  EXPECT_EQ(load_idx(dir.file("renamed-idx")).shape, (std::vector<int64_t>{3, 2, 2}));
}

// Labels follow load_dataset's one rule (make_class_labels): an int32 label of 2e9 is mapped by rank instead
// of making two billion class names.
TEST(IoIdx, LargeLabelsAreMappedByRank) {
  TempDir dir;
  std::string images = idx_header(0x08, {3, 1, 1}) + std::string{1, 2, 3};
  std::string labels = idx_header(0x0C, {3}) + be32(2000000000) + be32(5) + be32(2000000000);
  write_file(dir.file("big-images-idx3-ubyte"), images);
  write_file(dir.file("big-labels-idx1-ubyte"), labels);
  Dataset ds = load_dataset(dir.file("big-images-idx3-ubyte"));
  EXPECT_EQ(ds.labels, (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(ds.class_names, (std::vector<std::string>{"5", "2000000000"}));
}

TEST(IoIdx, OtherElementTypes) {
  TempDir dir;
  std::string s = idx_header(0x0B, {2}) + std::string{'\xff', '\xfe', 0x01, 0x00};  // int16 -2, 256
  write_file(dir.file("i16"), s);
  EXPECT_EQ(load_idx(dir.file("i16")).data, (std::vector<double>{-2, 256}));
  std::string f = idx_header(0x0D, {1}) + std::string{0x3f, static_cast<char>(0xc0), 0, 0};  // 1.5f
  write_file(dir.file("f32"), f);
  EXPECT_EQ(load_idx(dir.file("f32")).data, (std::vector<double>{1.5}));
  expect_error([&] { load_idx_labels(dir.file("f32")); }, ErrorKind::kInvalidInput, {"f32", "integers"});
}

TEST(IoIdx, Errors) {
  TempDir dir;
  std::string images = idx_header(0x08, {3, 2, 2}) + std::string(11, '\0');
  write_file(dir.file("short-images-idx3-ubyte"), images);
  expect_error([&] { load_idx_images(dir.file("short-images-idx3-ubyte")); }, ErrorKind::kInvalidInput,
               {"short-images-idx3-ubyte", "truncated", "(3, 2, 2)"});
  write_file(dir.file("hdr"), idx_header(0x08, {3, 2, 2}).substr(0, 9));
  expect_error([&] { load_idx(dir.file("hdr")); }, ErrorKind::kInvalidInput, {"hdr", "truncated"});
  write_file(dir.file("magic"), "\x01\x02\x08\x01");
  expect_error([&] { load_idx(dir.file("magic")); }, ErrorKind::kInvalidInput, {"magic", "bad magic"});
  write_file(dir.file("type"), std::string{0, 0, 0x07, 1} + be32(1) + "x");
  expect_error([&] { load_idx(dir.file("type")); }, ErrorKind::kInvalidInput, {"type", "element type 0x07"});
  // A gzip stream cut in half.
  std::string full = idx_header(0x08, {1000});
  for (int i = 0; i < 1000; ++i) full += static_cast<char>(i * 7919 % 251);
  write_gz(dir.file("cut.gz"), full);
  std::string gz = testing::read_bytes(dir.file("cut.gz"));
  write_file(dir.file("cut.gz"), gz.substr(0, gz.size() / 2));
  expect_error([&] { load_idx(dir.file("cut.gz")); }, ErrorKind::kInvalidInput, {"cut.gz"});
  // No labels file next to the images.
  write_file(dir.file("lonely-images-idx3-ubyte"), idx_header(0x08, {1, 1, 1}) + "x");
  expect_error([&] { load_dataset(dir.file("lonely-images-idx3-ubyte")); }, ErrorKind::kIo,
               {"lonely-images-idx3-ubyte", "no labels file"});
}

TEST(IoIdx, DebianFashionMnist) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  const std::string test_images = dir + "/t10k-images-idx3-ubyte.gz";
  if (!std::filesystem::exists(test_images)) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  Dataset test = load_dataset(test_images);
  EXPECT_EQ(test.x.shape, (std::vector<int64_t>{10000, 28, 28, 1}));
  ASSERT_EQ(test.labels.size(), 10000u);
  EXPECT_EQ(test.class_names.size(), 10u);
  double lo = 1, hi = 0;
  for (double v : test.x.data) lo = std::min(lo, v), hi = std::max(hi, v);
  EXPECT_EQ(lo, 0.0);
  EXPECT_EQ(hi, 1.0);
  EXPECT_EQ(test.labels[0], 9);  // first test image of Fashion-MNIST: ankle boot
  EXPECT_EQ(test.labels[1], 2);
  Dataset train = load_dataset(dir + "/train-images-idx3-ubyte.gz");
  EXPECT_EQ(train.x.shape, (std::vector<int64_t>{60000, 28, 28, 1}));
  std::vector<int> counts(10, 0);
  for (int64_t l : train.labels) ++counts.at(static_cast<size_t>(l));
  for (int c : counts) EXPECT_EQ(c, 6000);
  Tensor small = downsample_images(test.x.slice_rows(0, 10), 2);
  EXPECT_EQ(small.shape, (std::vector<int64_t>{10, 14, 14, 1}));
}

}  // namespace
}  // namespace ntk::io
