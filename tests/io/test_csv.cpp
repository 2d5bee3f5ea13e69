#include "io/io_test_util.h"

namespace ntk::io {
namespace {

using testing::expect_error;
using testing::TempDir;
using testing::write_file;

TEST(IoCsv, HeaderDetectionAndDelimiters) {
  TempDir dir;
  write_file(dir.file("a.csv"), "x1, x2 ,\"x 3\"\n1,2,3\r\n\n# comment\n+4,5e-1, -6\n");
  CsvData a = load_csv(dir.file("a.csv"));
  EXPECT_EQ(a.header, (std::vector<std::string>{"x1", "x2", "x 3"}));
  EXPECT_EQ(a.x.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.x.data, (std::vector<double>{1, 2, 3, 4, 0.5, -6}));

  write_file(dir.file("b.tsv"), "1\t2\n3\t4\n");
  CsvData b = load_csv(dir.file("b.tsv"));
  EXPECT_TRUE(b.header.empty());
  EXPECT_EQ(b.x.data, (std::vector<double>{1, 2, 3, 4}));

  write_file(dir.file("c.txt"), "  1   2  \n3 \t 4\n");
  EXPECT_EQ(load_csv(dir.file("c.txt")).x.data, (std::vector<double>{1, 2, 3, 4}));
  write_file(dir.file("d.csv"), "1;2\n3;4\n");
  EXPECT_EQ(load_csv(dir.file("d.csv")).x.data, (std::vector<double>{1, 2, 3, 4}));
}

TEST(IoCsv, LabelColumn) {
  TempDir dir;
  write_file(dir.file("l.csv"), "a,b,y\n1,2,0\n3,4,1\n5,6,1\n");
  CsvOptions opt;
  opt.has_labels = true;
  CsvData last = load_csv(dir.file("l.csv"), opt);
  EXPECT_EQ(last.x.shape, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(last.x.data, (std::vector<double>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(last.labels, (std::vector<double>{0, 1, 1}));
  opt.label_column = 0;
  CsvData first = load_csv(dir.file("l.csv"), opt);
  EXPECT_EQ(first.x.data, (std::vector<double>{2, 0, 4, 1, 6, 1}));
  EXPECT_EQ(first.labels, (std::vector<double>{1, 3, 5}));
  opt.label_column = 3;
  expect_error([&] { load_csv(dir.file("l.csv"), opt); }, ErrorKind::kInvalidInput,
               {"l.csv", "label column 3"});

  write_file(dir.file("names.csv"), "5.1,3.5,setosa\n6.2,2.9,versicolor\n4.9,3.0,setosa\n");
  opt.label_column = -1;
  CsvData names = load_csv(dir.file("names.csv"), opt);
  EXPECT_EQ(names.class_names, (std::vector<std::string>{"setosa", "versicolor"}));
  EXPECT_EQ(names.labels, (std::vector<double>{0, 1, 0}));
}

TEST(IoCsv, ErrorsNameLineAndColumn) {
  TempDir dir;
  write_file(dir.file("ragged.csv"), "a,b\n1,2\n3,4\n5\n");
  expect_error([&] { load_csv(dir.file("ragged.csv")); }, ErrorKind::kInvalidInput,
               {"ragged.csv", "line 4 has 1 columns, expected 2"});
  write_file(dir.file("cell.csv"), "1,2\n3,abc\n");
  expect_error([&] { load_csv(dir.file("cell.csv")); }, ErrorKind::kInvalidInput,
               {"cell.csv", "line 2, column 2", "'abc' is not a number"});
  write_file(dir.file("first.csv"), "1,x\n3,4\n");  // a number on line 1: not a header
  expect_error([&] { load_csv(dir.file("first.csv")); }, ErrorKind::kInvalidInput, {"line 1, column 2"});
  write_file(dir.file("emptycell.csv"), "1,,3\n");
  expect_error([&] { load_csv(dir.file("emptycell.csv")); }, ErrorKind::kInvalidInput,
               {"line 1, column 2: empty cell"});
  write_file(dir.file("empty.csv"), "");
  expect_error([&] { load_csv(dir.file("empty.csv")); }, ErrorKind::kInvalidInput, {"empty.csv", "empty"});
  write_file(dir.file("header_only.csv"), "a,b\n\n");
  expect_error([&] { load_csv(dir.file("header_only.csv")); }, ErrorKind::kInvalidInput, {"no data rows"});
  write_file(dir.file("nan.csv"), "1,2\n3,nan\n");
  expect_error([&] { load_csv(dir.file("nan.csv")); }, ErrorKind::kInvalidInput,
               {"nan.csv", "nan", "(1, 1)"});
  expect_error([&] { load_csv(dir.file("missing.csv")); }, ErrorKind::kIo, {"missing.csv"});
}

TEST(IoCsv, WriterRoundTripsExactlyAndAtomically) {
  TempDir dir;
  Tensor x({2, 2}, {0.1, 1.0 / 3.0, -1e300, 5e-324});
  save_csv(dir.file("o.csv"), x, {"a", "b"}, {0, 1});
  EXPECT_EQ(testing::list_dir(dir.path()), std::vector<std::string>{"o.csv"});
  CsvOptions opt;
  opt.has_labels = true;
  CsvData back = load_csv(dir.file("o.csv"), opt);
  EXPECT_EQ(back.header, (std::vector<std::string>{"a", "b", "label"}));
  EXPECT_EQ(back.x.data, x.data);  // bit-exact: shortest round-trip formatting
  EXPECT_EQ(back.labels, (std::vector<double>{0, 1}));
  save_csv(dir.file("v.csv"), Tensor({3}, {1, 2, 3}));
  EXPECT_EQ(testing::read_bytes(dir.file("v.csv")), "1\n2\n3\n");
  expect_error([&] { save_csv(dir.file("bad.csv"), x, {"only_one"}); }, ErrorKind::kInvalidInput, {"header"});
  EXPECT_FALSE(std::filesystem::exists(dir.file("bad.csv")));
}

}  // namespace
}  // namespace ntk::io
