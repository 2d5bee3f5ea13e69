// LIBSVM, CIFAR-10 binary, images, UCI.
#include <cmath>

#include "io/io_test_util.h"

namespace ntk::io {
namespace {

using testing::expect_error;
using testing::fixture;
using testing::TempDir;
using testing::write_file;

TEST(IoLibsvm, DenseFromSparse) {
  TempDir dir;
  write_file(dir.file("a.libsvm"), "+1 1:0.5 3:-2 # comment\n-1 qid:3 2:4\n\n1 \n");
  LibsvmData d = load_libsvm(dir.file("a.libsvm"));
  EXPECT_EQ(d.x.shape, (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(d.x.data, (std::vector<double>{0.5, 0, -2, 0, 4, 0, 0, 0, 0}));
  EXPECT_EQ(d.labels, (std::vector<double>{1, -1, 1}));
  EXPECT_EQ(load_libsvm(dir.file("a.libsvm"), 5).x.shape, (std::vector<int64_t>{3, 5}));
  expect_error([&] { load_libsvm(dir.file("a.libsvm"), 2); }, ErrorKind::kInvalidInput,
               {"a.libsvm", "line 1", "exceeds num_features 2"});
  // -1/+1 labels become classes 0/1 in a Dataset.
  Dataset ds = load_dataset(dir.file("a.libsvm"));
  EXPECT_EQ(ds.labels, (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(ds.class_names, (std::vector<std::string>{"-1", "1"}));
}

TEST(IoLibsvm, ErrorsNameLine) {
  TempDir dir;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"1 1:2\nx 1:2\n", "line 2: label 'x'"},
      {"1 1:2\n1 0:2\n", "line 2: bad feature index"},
      {"1 1:2 3\n", "line 1: expected index:value"},
      {"1 2:1 1:3\n", "line 1: feature index 1 after 2"},
      {"1 1:abc\n", "line 1: value in '1:abc'"},
      {"1 1:nan\n", "line 1: non-finite"},
      {"", "empty"},
  };
  for (const auto& [text, expected] : cases) {
    write_file(dir.file("b.svm"), text);
    expect_error([&] { load_libsvm(dir.file("b.svm")); }, ErrorKind::kInvalidInput, {"b.svm", expected});
  }
}

std::string cifar_record(int label, int seed) {
  std::string r(1 + 3072, '\0');
  r[0] = static_cast<char>(label);
  for (int i = 0; i < 3072; ++i) r[1 + i] = static_cast<char>((i * 31 + seed) % 256);
  return r;
}

TEST(IoCifar, PlanarToInterleaved) {
  TempDir dir;
  const std::string batch = dir.file("cifar-10-batches-bin");
  std::string all;
  for (int b = 1; b <= 5; ++b)
    write_file(batch + "/data_batch_" + std::to_string(b) + ".bin", cifar_record(b, b));
  write_file(batch + "/test_batch.bin", cifar_record(3, 0) + cifar_record(9, 1));
  Dataset test = load_cifar10_binary_dir(batch, "test");
  EXPECT_EQ(test.x.shape, (std::vector<int64_t>{2, 32, 32, 3}));
  EXPECT_EQ(test.labels, (std::vector<int64_t>{3, 9}));
  EXPECT_EQ(test.class_names[3], "cat");
  // Pixel (y=1, x=2), channel G of record 0: byte 1 + 1024 + 1*32 + 2.
  const int i = 1024 + 34;
  EXPECT_DOUBLE_EQ(test.x.data[(1 * 32 + 2) * 3 + 1], ((i * 31) % 256) / 255.0);
  Dataset train = load_dataset(batch);  // auto: folder with data_batch_1.bin, split train
  EXPECT_EQ(train.labels, (std::vector<int64_t>{1, 2, 3, 4, 5}));
  DatasetOptions opt;
  opt.split = "test";
  EXPECT_EQ(load_dataset(batch, opt).labels, test.labels);
  EXPECT_EQ(load_array(batch + "/test_batch.bin").shape, test.x.shape);

  write_file(batch + "/batches.meta.txt", "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n");
  EXPECT_EQ(load_cifar10_binary_dir(batch, "test").class_names[9], "j");

  write_file(dir.file("short.bin"), cifar_record(1, 0) + cifar_record(2, 0).substr(0, 100));
  expect_error([&] { load_cifar10_binary(dir.file("short.bin")); }, ErrorKind::kInvalidInput,
               {"short.bin", "truncated CIFAR-10 record 1"});
  write_file(dir.file("label.bin"), cifar_record(12, 0));
  expect_error([&] { load_cifar10_binary(dir.file("label.bin")); }, ErrorKind::kInvalidInput, {"label 12"});
  std::filesystem::remove(batch + "/data_batch_4.bin");
  expect_error([&] { load_cifar10_binary_dir(batch, "train"); }, ErrorKind::kIo, {"data_batch_4.bin"});
  expect_error([&] { load_cifar10_binary_dir(batch, "val"); }, ErrorKind::kInvalidInput, {"split 'val'"});
}

void expect_pixels(const Tensor& t, const Tensor& ref_u8) {
  ASSERT_EQ(t.size(), ref_u8.size());
  for (int64_t i = 0; i < t.size(); ++i) ASSERT_DOUBLE_EQ(t.data[i], ref_u8.data[i] / 255.0) << i;
}

TEST(IoImage, DecodesLikePil) {
  // Reference pixels were decoded by PIL (which also uses libjpeg-turbo and libpng).
  Tensor rgb = load_image(fixture("rgb.jpg"));
  EXPECT_EQ(rgb.shape, (std::vector<int64_t>{6, 8, 3}));
  expect_pixels(rgb, load_npy(fixture("rgb_jpg_pixels.npy")));
  Tensor grey = load_image(fixture("grey.jpg"));
  EXPECT_EQ(grey.shape, (std::vector<int64_t>{5, 7, 1}));
  expect_pixels(grey, load_npy(fixture("grey_jpg_pixels.npy")));
  Tensor rgba = load_image(fixture("rgba.png"));
  EXPECT_EQ(rgba.shape, (std::vector<int64_t>{4, 3, 3}));
  Tensor ref = load_npy(fixture("rgba_png_pixels.npy"));
  for (int64_t p = 0; p < 12; ++p) {
    for (int c = 0; c < 3; ++c) ASSERT_DOUBLE_EQ(rgba.data[p * 3 + c], ref.data[p * 4 + c] / 255.0);
  }
  EXPECT_EQ(load_image(fixture("grey.png")).shape, (std::vector<int64_t>{5, 7, 1}));
}

TEST(IoImage, CorruptImages) {
  TempDir dir;
  const std::string jpg = testing::read_bytes(fixture("rgb.jpg"));
  write_file(dir.file("cut.jpg"), jpg.substr(0, jpg.size() / 2));
  expect_error([&] { load_image(dir.file("cut.jpg")); }, ErrorKind::kInvalidInput, {"cut.jpg", "JPEG"});
  const std::string png = testing::read_bytes(fixture("rgba.png"));
  write_file(dir.file("cut.png"), png.substr(0, png.size() - 30));
  expect_error([&] { load_image(dir.file("cut.png")); }, ErrorKind::kInvalidInput, {"cut.png", "PNG"});
  write_file(dir.file("text.png"), "not an image");
  expect_error([&] { load_image(dir.file("text.png")); }, ErrorKind::kInvalidInput,
               {"text.png", "not a JPEG"});
}

TEST(IoImage, FolderLabelsSubsamplingAndErrors) {
  TempDir dir;
  const std::string root = dir.file("imgs");
  const std::string rgb = testing::read_bytes(fixture("rgb.jpg"));
  for (const std::string cls : {"cat", "ant"}) {
    for (int i = 0; i < 5; ++i) write_file(root + "/" + cls + "/" + std::to_string(4 - i) + ".JPG", rgb);
  }
  write_file(root + "/ant/readme.txt", "ignored");
  write_file(root + "/ant/.hidden.jpg", "ignored");
  Dataset ds = load_image_folder(root);
  EXPECT_EQ(ds.class_names, (std::vector<std::string>{"ant", "cat"}));
  EXPECT_EQ(ds.x.shape, (std::vector<int64_t>{10, 6, 8, 3}));
  EXPECT_EQ(ds.labels, (std::vector<int64_t>{0, 0, 0, 0, 0, 1, 1, 1, 1, 1}));
  EXPECT_EQ(load_dataset(root).x.shape, ds.x.shape);  // auto-detected

  ImageFolderOptions opt;
  opt.max_per_class = 2;
  opt.seed = 1;
  Dataset a = load_image_folder(root, opt);
  EXPECT_EQ(a.x.shape[0], 4);
  EXPECT_EQ(a.labels, (std::vector<int64_t>{0, 0, 1, 1}));
  EXPECT_EQ(load_image_folder(root, opt).x.data, a.x.data);  // deterministic

  // A grey image among colour ones is replicated to RGB; a different size is an error naming the file.
  write_file(root + "/cat/9.png", testing::read_bytes(fixture("grey.png")));
  expect_error([&] { load_image_folder(root); }, ErrorKind::kInvalidInput, {"cat/9.png", "5x7", "6x8"});
  std::filesystem::remove(root + "/cat/9.png");
  std::filesystem::create_directories(root + "/empty");
  expect_error([&] { load_image_folder(root); }, ErrorKind::kInvalidInput, {"empty", "no .jpg"});
  expect_error([&] { load_image_folder(dir.file("nothing")); }, ErrorKind::kIo, {"nothing"});
}

TEST(IoImage, GreyReplicatedInColourFolder) {
  TempDir dir;
  const std::string root = dir.file("imgs");
  write_file(root + "/a/1.png", testing::read_bytes(fixture("grey.png")));
  write_file(root + "/b/1.jpg", testing::read_bytes(fixture("grey.jpg")));
  EXPECT_EQ(load_image_folder(root).x.shape, (std::vector<int64_t>{2, 5, 7, 1}));
  write_file(root + "/c/1.png", testing::read_bytes(fixture("rgb_5x7.png")));
  Dataset ds = load_image_folder(root);
  ASSERT_EQ(ds.x.shape, (std::vector<int64_t>{3, 5, 7, 3}));
  const Tensor grey = load_image(fixture("grey.png"));
  for (int64_t p = 0; p < 35; ++p) {
    for (int c = 0; c < 3; ++c) ASSERT_EQ(ds.x.data[p * 3 + c], grey.data[p]);
  }
  const Tensor rgb = load_image(fixture("rgb_5x7.png"));
  for (int64_t i = 0; i < 105; ++i) ASSERT_EQ(ds.x.data[2 * 105 + i], rgb.data[i]);
}

TEST(IoImage, SharedCifar10JpegSubset) {
  const std::string archive = "/work/shared/data/cifar10-train-jpeg.tar.gz";
  if (!std::filesystem::exists(archive)) GTEST_SKIP() << archive << " not available";
  TempDir dir;
  const std::string cmd =
      "tar xzf " + archive + " -C " + dir.path() + " --wildcards 'cifar10/train/*/000[0-2].jpg' 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "cannot extract from " << archive;
  Dataset ds = load_dataset(dir.file("cifar10/train"));
  EXPECT_EQ(ds.x.shape, (std::vector<int64_t>{30, 32, 32, 3}));
  // Alphabetical order happens to be CIFAR-10's official label order.
  EXPECT_EQ(ds.class_names, (std::vector<std::string>{"airplane", "automobile", "bird", "cat", "deer", "dog",
                                                      "frog", "horse", "ship", "truck"}));
  EXPECT_EQ(ds.labels[3], 1);
  DatasetOptions opt;
  opt.max_per_class = 2;
  EXPECT_EQ(load_dataset(dir.file("cifar10/train"), opt).x.shape[0], 20);
}

void write_uci(const std::string& dir) {
  write_file(dir + "/tiny/tiny_R.dat",
             "\tf1\tf2\tclase\n1\t0.5\t-1\t0\n2\t1.5\t2\t1\n3\t-0.5\t0\t2\n4\t0\t0\t1\n");
  write_file(dir + "/tiny/conxuntos.dat", "0 1\n2 3\n");
  write_file(dir + "/tiny/conxuntos_kfold.dat", "1 2 3\n0\n0 2 3\n1\n0 1 3\n2\n0 1 2\n3\n");
}

TEST(IoUci, TinyFixture) {
  TempDir dir;
  write_uci(dir.path());
  UciDataset u = load_uci(dir.file("tiny"));
  EXPECT_EQ(u.name, "tiny");
  EXPECT_EQ(u.data.x.shape, (std::vector<int64_t>{4, 2}));
  EXPECT_EQ(u.data.x.data, (std::vector<double>{0.5, -1, 1.5, 2, -0.5, 0, 0, 0}));
  EXPECT_EQ(u.data.labels, (std::vector<int64_t>{0, 1, 2, 1}));
  EXPECT_EQ(u.train, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(u.validation, (std::vector<int64_t>{2, 3}));
  ASSERT_EQ(u.folds.size(), 4u);
  EXPECT_EQ(u.folds[2].first, (std::vector<int64_t>{0, 1, 3}));
  EXPECT_EQ(u.folds[2].second, (std::vector<int64_t>{2}));
  EXPECT_EQ(load_dataset(dir.file("tiny")).labels, u.data.labels);
  EXPECT_EQ(load_dataset(dir.file("tiny/tiny_R.dat")).x.data, u.data.x.data);

  write_file(dir.file("tiny/conxuntos.dat"), "0 1\n2 9\n");
  expect_error([&] { load_uci(dir.file("tiny")); }, ErrorKind::kInvalidInput,
               {"conxuntos.dat", "line 2", "row index 9 out of range"});
  write_file(dir.file("tiny/conxuntos.dat"), "0 1\n");
  expect_error([&] { load_uci(dir.file("tiny")); }, ErrorKind::kInvalidInput, {"expected 2 lines"});
  write_file(dir.file("tiny/tiny_R.dat"), "\tf1\tclase\n1\t0.5\t0\n2\t1.5\n");
  expect_error([&] { load_uci(dir.file("tiny")); }, ErrorKind::kInvalidInput, {"tiny_R.dat", "line 3"});
}

TEST(IoUci, RealSetFromSharedData) {
  const std::string archive = "/work/shared/data/uci90.tar.gz";
  if (!std::filesystem::exists(archive)) GTEST_SKIP() << archive << " not available";
  TempDir dir;
  const std::string cmd = "tar xzf " + archive + " -C " + dir.path() + " uci90/iris 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "cannot extract iris from " << archive;
  UciDataset u = load_uci(dir.file("uci90/iris"));
  EXPECT_EQ(u.data.x.shape, (std::vector<int64_t>{150, 4}));
  EXPECT_EQ(u.data.class_names.size(), 3u);
  EXPECT_EQ(u.train.size() + u.validation.size(), 150u);
  for (const auto& [train, test] : u.folds) EXPECT_EQ(train.size() + test.size(), 150u);
  // Features were standardised by the collection's authors.
  const Standardizer s = Standardizer::fit(u.data.x);
  for (double m : s.mean) EXPECT_NEAR(m, 0.0, 1e-3);
}

}  // namespace
}  // namespace ntk::io
