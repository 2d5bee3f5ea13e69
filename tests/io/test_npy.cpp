#include <sys/stat.h>
#include <zlib.h>

#include <cmath>
#include <cstring>

#include "io/io_test_util.h"

namespace ntk::io {
namespace {

using testing::expect_error;
using testing::fixture;
using testing::TempDir;
using testing::write_file;

// The fixtures hold arange(24).reshape(2, 3, 4) * 0.5 - 3 in various dtypes and layouts (see tests/data/io).
void expect_arange(const Tensor& t) {
  ASSERT_EQ(t.shape, (std::vector<int64_t>{2, 3, 4}));
  for (int64_t i = 0; i < 24; ++i) EXPECT_DOUBLE_EQ(t.data[i], i * 0.5 - 3) << i;
}

TEST(IoNpy, ReadsFloatLayoutsAndVersions) {
  expect_arange(load_npy(fixture("f64_c.npy")));
  expect_arange(load_npy(fixture("f32_c.npy")));
  expect_arange(load_npy(fixture("f64_fortran.npy")));  // transposed into C order
  expect_arange(load_npy(fixture("f64_be.npy")));       // big-endian swapped
  expect_arange(load_npy(fixture("f16.npy")));
  expect_arange(load_npy(fixture("v2.npy")));  // format 2.0 header
}

TEST(IoNpy, ReadsIntegerAndBoolDtypes) {
  Tensor i8 = load_npy(fixture("i8.npy"));
  ASSERT_EQ(i8.shape, (std::vector<int64_t>{10}));
  EXPECT_EQ(i8.data[0], -5);
  EXPECT_EQ(i8.data[9], 4);
  Tensor u8 = load_npy(fixture("u8.npy"));
  EXPECT_EQ(u8.data.back(), 255);
  Tensor i64 = load_npy(fixture("i64.npy"));
  ASSERT_EQ(i64.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(i64.data[5], -5000000035.0);
  Tensor u16 = load_npy(fixture("u16.npy"));
  EXPECT_EQ(u16.data[5], 5000);
  Tensor b = load_npy(fixture("bool.npy"));
  EXPECT_EQ(b.data, (std::vector<double>{1, 0, 1}));
  Tensor s = load_npy(fixture("scalar.npy"));
  EXPECT_TRUE(s.shape.empty());
  EXPECT_EQ(s.data, std::vector<double>{2.5});
  Tensor e = load_npy(fixture("empty.npy"));
  EXPECT_EQ(e.shape, (std::vector<int64_t>{0, 3}));
}

TEST(IoNpy, ReadsGzipCompressedNpy) {
  TempDir dir;
  const std::string raw = testing::read_bytes(fixture("f64_c.npy"));
  const std::string path = dir.file("a.npy.gz");
  gzFile gz = gzopen(path.c_str(), "wb");
  gzwrite(gz, raw.data(), static_cast<unsigned>(raw.size()));
  gzclose(gz);
  expect_arange(load_npy(path));
  expect_arange(load_array(path));
}

TEST(IoNpy, RejectsUnsupportedDtypes) {
  expect_error([] { load_npy(fixture("complex.npy")); }, ErrorKind::kInvalidInput, {"complex.npy", "<c16"});
  expect_error([] { load_npy(fixture("structured.npy")); }, ErrorKind::kInvalidInput,
               {"structured.npy", "structured"});
}

TEST(IoNpy, RejectsNanWithIndex) {
  expect_error([] { load_npy(fixture("nan.npy")); }, ErrorKind::kInvalidInput, {"nan.npy", "nan", "(1, 1)"});
}

TEST(IoNpy, MissingFileIsIoError) {
  expect_error([] { load_npy("/nonexistent/x.npy"); }, ErrorKind::kIo,
               {"/nonexistent/x.npy", "No such file"});
  TempDir dir;
  expect_error([&] { load_npy(dir.path()); }, ErrorKind::kIo, {"is a directory"});
}

TEST(IoNpy, GarbageAndTruncatedFiles) {
  TempDir dir;
  const std::string good = testing::read_bytes(fixture("f64_c.npy"));
  write_file(dir.file("garbage.npy"), "hello world, not numpy");
  expect_error([&] { load_npy(dir.file("garbage.npy")); }, ErrorKind::kInvalidInput,
               {"garbage.npy", "bad magic"});
  write_file(dir.file("empty.npy"), "");
  expect_error([&] { load_npy(dir.file("empty.npy")); }, ErrorKind::kInvalidInput,
               {"empty.npy", "bad magic"});
  write_file(dir.file("short_header.npy"), good.substr(0, 40));
  expect_error([&] { load_npy(dir.file("short_header.npy")); }, ErrorKind::kInvalidInput,
               {"short_header.npy", "truncated"});
  write_file(dir.file("short_data.npy"), good.substr(0, good.size() - 9));
  expect_error([&] { load_npy(dir.file("short_data.npy")); }, ErrorKind::kInvalidInput,
               {"short_data.npy", "truncated", "(2, 3, 4)"});
  std::string bad = good;
  const size_t pos = bad.find("'shape'");
  bad[pos + 10] = 'x';  // inside the tuple
  write_file(dir.file("bad_header.npy"), bad);
  expect_error([&] { load_npy(dir.file("bad_header.npy")); }, ErrorKind::kInvalidInput,
               {"bad_header.npy", "bad .npy header"});
  std::string ver = good;
  ver[6] = 9;
  write_file(dir.file("version.npy"), ver);
  expect_error([&] { load_npy(dir.file("version.npy")); }, ErrorKind::kInvalidInput, {"version 9"});
}

TEST(IoNpy, SaveRoundTripsBothDtypes) {
  TempDir dir;
  std::vector<double> d = {1.5, -2.25, 1e-300, 3.0, 4.0, 5.0};
  save_npy(dir.file("d.npy"), d.data(), {2, 3});
  Tensor t = load_npy(dir.file("d.npy"));
  EXPECT_EQ(t.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t.data, d);
  std::vector<float> f = {0.1f, 0.2f, 0.3f};
  save_npy(dir.file("f.npy"), f.data(), {3});
  Tensor tf = load_npy(dir.file("f.npy"));
  EXPECT_EQ(read_npy_header(dir.file("f.npy")).descr, "<f4");
  EXPECT_EQ(tf.shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(tf.data[0], static_cast<double>(0.1f));
  save_npy(dir.file("t.npy"), Tensor({2, 2}, {1, 2, 3, 4}), DType::kFloat32);
  EXPECT_EQ(load_npy(dir.file("t.npy")).data, (std::vector<double>{1, 2, 3, 4}));
  // Header layout as NumPy writes it: data 64-byte aligned, dict ends with a newline.
  const std::string bytes = testing::read_bytes(dir.file("d.npy"));
  EXPECT_EQ(bytes.size(), 128u + 48u);
  EXPECT_EQ(bytes[127], '\n');
  EXPECT_NE(bytes.find("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"), std::string::npos);
  EXPECT_NE(testing::read_bytes(dir.file("f.npy")).find("'shape': (3,)"), std::string::npos);
  // Only the final file is left behind.
  EXPECT_EQ(testing::list_dir(dir.path()), (std::vector<std::string>{"d.npy", "f.npy", "t.npy"}));
}

TEST(IoNpy, SaveToUnwritablePlaceFailsCleanly) {
  std::vector<double> d = {1};
  expect_error([&] { save_npy("/nonexistent/dir/x.npy", d.data(), {1}); }, ErrorKind::kIo,
               {"/nonexistent/dir/x.npy"});
}

TEST(IoAtomicFile, UncommittedTempIsRemovedAndTargetKept) {
  TempDir dir;
  const std::string path = dir.file("out.txt");
  write_file(path, "old");
  {
    AtomicFile f(path);
    f.write("new content");
    EXPECT_EQ(f.temp_path(), temp_path_for(path));
    EXPECT_TRUE(std::filesystem::exists(f.temp_path()));
    // Not committed: simulates an exception mid-write.
  }
  EXPECT_EQ(testing::read_bytes(path), "old");
  EXPECT_EQ(testing::list_dir(dir.path()), std::vector<std::string>{"out.txt"});
  {
    AtomicFile f(path);
    f.write("new");
    f.commit();
  }
  EXPECT_EQ(testing::read_bytes(path), "new");
  EXPECT_EQ(testing::list_dir(dir.path()), std::vector<std::string>{"out.txt"});
}

TEST(IoAtomicFile, ShortWriteOnFullDiskIsAnError) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  // /dev/full accepts open and fails every write with ENOSPC; AtomicFile writes to "<path>.tmp-<pid>", so use
  // a symlink named like the temp file.
  TempDir dir;
  const std::string path = dir.file("k.npy");
  std::filesystem::create_symlink("/dev/full", temp_path_for(path));
  std::vector<double> big(1 << 16, 1.0);
  expect_error([&] { save_npy(path, big.data(), {static_cast<int64_t>(big.size())}); }, ErrorKind::kIo,
               {"k.npy", "write failed"});
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(IoNpyMapWriter, WritesTilesAndCommits) {
  TempDir dir;
  const std::string path = dir.file("K.npy");
  for (DType dtype : {DType::kFloat64, DType::kFloat32}) {
    {
      NpyMapWriter w = NpyMapWriter::create(path, {3, 4}, dtype);
      EXPECT_EQ(w.row_size(), 4);
      EXPECT_TRUE(std::filesystem::exists(temp_path_for(path)));
      std::vector<double> row0 = {0, 1, 2, 3};
      w.write_rows(0, 1, row0.data());
      std::vector<double> tile = {12, 13, 99, 22, 23, 99};  // 2x2 tile with ld 3
      w.write_tile(1, 2, 2, 2, tile.data(), 3);
      std::vector<double> left = {10, 11, 20, 21};
      w.write_tile(1, 0, 2, 2, left.data(), 2);
      w.commit();
    }
    EXPECT_FALSE(std::filesystem::exists(temp_path_for(path)));
    EXPECT_EQ(read_npy_header(path).descr, dtype == DType::kFloat64 ? "<f8" : "<f4");
    EXPECT_EQ(load_npy(path).data, (std::vector<double>{0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23}));
  }
  NpyMapWriter w = NpyMapWriter::create(path, {2, 2}, DType::kFloat32);
  expect_error([&] { w.data_f64(); }, ErrorKind::kInvalidInput, {"float32"});
  std::vector<double> x(8);
  expect_error([&] { w.write_tile(1, 1, 2, 2, x.data(), 2); }, ErrorKind::kInternal, {"out of range"});
}

TEST(IoNpyMapWriter, UncommittedAutomaticTempIsRemoved) {
  TempDir dir;
  const std::string path = dir.file("K.npy");
  { NpyMapWriter w = NpyMapWriter::create(path, {5, 5}, DType::kFloat64); }
  EXPECT_TRUE(testing::list_dir(dir.path()).empty());
  // Moving keeps ownership with the new object only.
  NpyMapWriter a = NpyMapWriter::create(path, {2}, DType::kFloat64);
  NpyMapWriter b = std::move(a);
  b.data_f64()[1] = 7;
  b.commit();
  EXPECT_EQ(load_npy(path).data, (std::vector<double>{0, 7}));
}

TEST(IoNpyMapWriter, ResumesFromExplicitPartialFile) {
  TempDir dir;
  const std::string path = dir.file("K.npy");
  const std::string partial = dir.file("K.npy.partial");
  {
    NpyMapWriter w = NpyMapWriter::create(path, {2, 3}, DType::kFloat64, partial);
    std::vector<double> r = {1, 2, 3};
    w.write_rows(0, 1, r.data());
    w.flush();
    // Interrupted: the partial file stays for the next run.
  }
  ASSERT_TRUE(std::filesystem::exists(partial));
  EXPECT_FALSE(std::filesystem::exists(path));
  expect_error(
      [&] {
        NpyMapWriter::open_existing(path, partial, {3, 3}, DType::kFloat64);
      },
      ErrorKind::kInvalidInput, {"K.npy.partial", "cannot resume", "(2, 3)", "(3, 3)"});
  expect_error(
      [&] {
        NpyMapWriter::open_existing(path, partial, {2, 3}, DType::kFloat32);
      },
      ErrorKind::kInvalidInput, {"cannot resume", "<f8", "<f4"});
  {
    NpyMapWriter w = NpyMapWriter::open_existing(path, partial, {2, 3}, DType::kFloat64);
    EXPECT_EQ(w.data_f64()[2], 3);  // earlier rows survived
    std::vector<double> r = {4, 5, 6};
    w.write_rows(1, 1, r.data());
    w.commit();
  }
  EXPECT_FALSE(std::filesystem::exists(partial));
  EXPECT_EQ(load_npy(path).data, (std::vector<double>{1, 2, 3, 4, 5, 6}));
  // A truncated partial file is refused.
  { NpyMapWriter w = NpyMapWriter::create(path, {2, 3}, DType::kFloat64, partial); }
  ::truncate(partial.c_str(), 100);
  expect_error(
      [&] {
        NpyMapWriter::open_existing(path, partial, {2, 3}, DType::kFloat64);
      },
      ErrorKind::kInvalidInput, {"K.npy.partial"});
  expect_error(
      [&] {
        NpyMapWriter::open_existing(path, dir.file("missing"), {2, 3}, DType::kFloat64);
      },
      ErrorKind::kIo, {"missing"});
}

TEST(IoValidation, CheckFiniteNamesFirstBadIndex) {
  Tensor t({2, 3}, {0, 1, 2, 3, INFINITY, NAN});
  expect_error([&] { check_finite(t, "x.npy"); }, ErrorKind::kInvalidInput, {"x.npy", "inf", "(1, 1)"});
  t.data[4] = -INFINITY;
  expect_error([&] { check_finite(t, "x"); }, ErrorKind::kInvalidInput, {"-inf", "(1, 1)"});
  t.data[4] = 0;
  expect_error([&] { check_finite(t, "x"); }, ErrorKind::kInvalidInput, {"nan", "(1, 2)"});
  t.data[5] = 0;
  EXPECT_NO_THROW(check_finite(t, "x"));
}

TEST(IoValidation, CheckInputArrayShapes) {
  expect_error([] { check_input_array(Tensor({7}), "x.npy"); }, ErrorKind::kInvalidInput,
               {"x.npy: expected (N, d) or (N, H, W, C), got shape (7)"});
  expect_error([] { check_input_array(Tensor({0, 3}), "x"); }, ErrorKind::kInvalidInput, {"empty", "(0, 3)"});
  expect_error([] { check_input_array(Tensor({2, 4, 4}), "x"); }, ErrorKind::kInvalidInput, {"(2, 4, 4)"});
  EXPECT_NO_THROW(check_input_array(Tensor({2, 3}), "x"));
  EXPECT_NO_THROW(check_input_array(Tensor({2, 3, 3, 1}), "x"));
  EXPECT_TRUE(looks_like_images(Tensor({2, 3, 3, 1})));
  EXPECT_FALSE(looks_like_images(Tensor({2, 3})));
}

}  // namespace
}  // namespace ntk::io
