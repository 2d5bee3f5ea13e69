// CSV / TSV / whitespace text: load_csv without labels and with a label column (last, first), the
// dispatcher load_array, and load_dataset's label mapping.
#include <cmath>

#include "fuzz/fuzz_util.h"
#include "ntk/io.h"

NTK_FUZZ_TARGET(csv)(const uint8_t* data, size_t size) {
  const auto& dir = ntk::fuzz::ScratchDir::instance();
  const std::string path = dir.file("x.csv");
  ntk::fuzz::write_file(path, data, size);
  ntk::io::CsvData plain;
  if (ntk::fuzz::accepts([&] { plain = ntk::io::load_csv(path); })) {
    NTK_FUZZ_CHECK(plain.x.rank() == 2 && plain.x.size() == plain.x.shape[0] * plain.x.shape[1]);
    NTK_FUZZ_CHECK(ntk::first_non_finite(plain.x.data.data(), plain.x.size()) == plain.x.size());
  }
  for (int64_t column : {-1, 0}) {
    ntk::io::CsvOptions options;
    options.has_labels = true;
    options.label_column = column;
    ntk::io::CsvData d;
    if (ntk::fuzz::accepts([&] { d = ntk::io::load_csv(path, options); })) {
      NTK_FUZZ_CHECK(static_cast<int64_t>(d.labels.size()) == d.x.rows());
      for (double l : d.labels) {
        NTK_FUZZ_CHECK(std::isfinite(l));
        if (!d.class_names.empty()) NTK_FUZZ_CHECK(l >= 0 && l < static_cast<double>(d.class_names.size()));
      }
    }
  }
  for (char delimiter : {',', ';', '\t'}) {
    ntk::io::CsvOptions options;
    options.delimiter = delimiter;
    ntk::fuzz::accepts([&] { ntk::io::load_csv(path, options); });
  }
  ntk::fuzz::accepts([&] { ntk::io::load_array(path); });
  ntk::io::Dataset ds;
  if (ntk::fuzz::accepts([&] { ds = ntk::io::load_dataset(path); })) {
    NTK_FUZZ_CHECK(static_cast<int64_t>(ds.labels.size()) == ds.x.rows());
    for (int64_t l : ds.labels) NTK_FUZZ_CHECK(l >= 0 && l < static_cast<int64_t>(ds.class_names.size()));
  }
  return 0;
}
