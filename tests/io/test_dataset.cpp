// load_array / load_dataset dispatch and preprocessing.
#include <cmath>

#include "io/io_test_util.h"

namespace ntk::io {
namespace {

using testing::expect_error;
using testing::fixture;
using testing::TempDir;
using testing::write_file;

TEST(IoDataset, LoadArrayDispatch) {
  TempDir dir;
  write_file(dir.file("a.csv"), "1,2\n3,4\n");
  EXPECT_EQ(load_array(dir.file("a.csv")).shape, (std::vector<int64_t>{2, 2}));
  write_file(dir.file("a.tsv"), "1\t2\n");
  EXPECT_EQ(load_array(dir.file("a.tsv")).shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(load_array(fixture("f64_c.npy")).shape, (std::vector<int64_t>{2, 3, 4}));
  // NumPy content under another name is still found by magic.
  write_file(dir.file("renamed.dat"), testing::read_bytes(fixture("f64_c.npy")));
  EXPECT_EQ(load_array(dir.file("renamed.dat")).shape, (std::vector<int64_t>{2, 3, 4}));
  write_file(dir.file("x.weird"), "1");
  expect_error([&] { load_array(dir.file("x.weird")); }, ErrorKind::kInvalidInput, {"x.weird", "unknown"});
  write_file(dir.file("bad.npy"), "1,2");
  expect_error([&] { load_array(dir.file("bad.npy")); }, ErrorKind::kInvalidInput, {"bad.npy", "bad magic"});
  expect_error([&] { load_array(dir.path()); }, ErrorKind::kInvalidInput, {"folder"});
  expect_error([&] { load_array(dir.file("none.npy")); }, ErrorKind::kIo, {"none.npy"});
}

TEST(IoDataset, CsvAndNpyDatasets) {
  TempDir dir;
  write_file(dir.file("d.csv"), "a,b,label\n1,2,3\n3,4,0\n");
  Dataset d = load_dataset(dir.file("d.csv"));
  EXPECT_EQ(d.labels, (std::vector<int64_t>{3, 0}));
  EXPECT_EQ(d.class_names.size(), 4u);
  DatasetOptions opt;
  opt.label_column = 0;
  EXPECT_EQ(load_dataset(dir.file("d.csv"), opt).labels, (std::vector<int64_t>{1, 3}));
  write_file(dir.file("r.csv"), "1,0.5\n2,1\n");
  expect_error([&] { load_dataset(dir.file("r.csv")); }, ErrorKind::kInvalidInput,
               {"r.csv", "not an integer"});

  std::vector<double> x = {1, 2, 3, 4, 5, 6};
  save_npy(dir.file("x.npy"), x.data(), {3, 2});
  std::vector<double> y = {2, 0, 2};
  save_npy(dir.file("y.npy"), y.data(), {3});
  opt = {};
  opt.labels_path = dir.file("y.npy");
  Dataset n = load_dataset(dir.file("x.npy"), opt);
  EXPECT_EQ(n.labels, (std::vector<int64_t>{2, 0, 2}));
  EXPECT_TRUE(load_dataset(dir.file("x.npy")).labels.empty());
  save_npy(dir.file("y2.npy"), y.data(), {2});
  opt.labels_path = dir.file("y2.npy");
  expect_error([&] { load_dataset(dir.file("x.npy"), opt); }, ErrorKind::kInvalidInput,
               {"y2.npy", "2 labels"});
  opt = {};
  opt.format = parse_dataset_format("libsvm");
  write_file(dir.file("s.txt"), "2 1:1\n");
  EXPECT_EQ(load_dataset(dir.file("s.txt"), opt).labels, (std::vector<int64_t>{2}));
  expect_error([] { parse_dataset_format("xls"); }, ErrorKind::kInvalidInput, {"xls", "libsvm"});
}

TEST(IoPreprocess, StandardizerPerFeatureAndPerChannel) {
  Tensor x({4, 2}, {1, 5, 2, 5, 3, 5, 4, 5});
  Standardizer s = Standardizer::fit(x);
  EXPECT_FALSE(s.per_channel);
  EXPECT_DOUBLE_EQ(s.mean[0], 2.5);
  EXPECT_DOUBLE_EQ(s.scale[0], std::sqrt(1.25));
  EXPECT_DOUBLE_EQ(s.scale[1], 1.0);  // constant feature
  Tensor z = s.apply(x);
  EXPECT_DOUBLE_EQ(z.data[0], -1.5 / std::sqrt(1.25));
  EXPECT_DOUBLE_EQ(z.data[1], 0.0);

  Tensor img({2, 1, 2, 2}, {0, 10, 2, 10, 4, 20, 6, 20});  // channel 0: 0,2,4,6; channel 1: 10,10,20,20
  Standardizer c = Standardizer::fit(img);
  EXPECT_TRUE(c.per_channel);
  ASSERT_EQ(c.mean.size(), 2u);
  EXPECT_DOUBLE_EQ(c.mean[0], 3);
  EXPECT_DOUBLE_EQ(c.mean[1], 15);
  EXPECT_DOUBLE_EQ(c.scale[1], 5);
  Tensor zi = c.apply(img);
  EXPECT_DOUBLE_EQ(zi.data[1], -1);
  expect_error([&] { c.apply(x); }, ErrorKind::kInvalidInput, {"channels"});
  expect_error([&] { s.apply(Tensor({2, 3})); }, ErrorKind::kInvalidInput, {"features"});
}

TEST(IoPreprocess, DownsampleAveragePools) {
  Tensor x({1, 2, 4, 1}, {0, 1, 2, 3, 4, 5, 6, 7});
  Tensor y = downsample_images(x, 2);
  EXPECT_EQ(y.shape, (std::vector<int64_t>{1, 1, 2, 1}));
  EXPECT_EQ(y.data, (std::vector<double>{2.5, 4.5}));
  EXPECT_EQ(downsample_images(x, 1).data, x.data);
  expect_error([&] { downsample_images(x, 3); }, ErrorKind::kInvalidInput, {"not divisible"});
  expect_error([&] { downsample_images(Tensor({2, 2}), 2); }, ErrorKind::kInvalidInput, {"(2, 2)"});
}

}  // namespace
}  // namespace ntk::io
