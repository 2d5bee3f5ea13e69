// A UCI folder (Fernández-Delgado et al.'s layout): parts 0, 1, 2 are <name>_R.dat, conxuntos.dat and
// conxuntos_kfold.dat (missing parts: missing files). load_uci, and load_dataset on the folder and on the
// _R.dat file.
#include "fuzz/fuzz_util.h"
#include "ntk/io.h"

NTK_FUZZ_TARGET(uci)(const uint8_t* data, size_t size) {
  const auto& dir = ntk::fuzz::ScratchDir::instance();
  dir.clear();
  const std::vector<std::string> parts = ntk::fuzz::split_parts(data, size);
  const std::string folder = dir.file("set");
  std::filesystem::create_directory(folder);
  const char* names[] = {"set_R.dat", "conxuntos.dat", "conxuntos_kfold.dat"};
  for (size_t i = 0; i < parts.size() && i < 3; ++i) ntk::fuzz::write_file(folder + "/" + names[i], parts[i]);
  ntk::io::UciDataset u;
  if (ntk::fuzz::accepts([&] { u = ntk::io::load_uci(folder); })) {
    const int64_t n = u.data.x.rows();
    NTK_FUZZ_CHECK(static_cast<int64_t>(u.data.labels.size()) == n && u.folds.size() == 4);
    for (int64_t l : u.data.labels)
      NTK_FUZZ_CHECK(l >= 0 && l < static_cast<int64_t>(u.data.class_names.size()));
    const auto in_range = [n](const std::vector<int64_t>& rows) {
      for (int64_t r : rows) NTK_FUZZ_CHECK(r >= 0 && r < n);
    };
    in_range(u.train);
    in_range(u.validation);
    for (const auto& [train, test] : u.folds) {
      in_range(train);
      in_range(test);
    }
  }
  ntk::fuzz::accepts([&] { ntk::io::load_dataset(folder); });
  ntk::fuzz::accepts([&] { ntk::io::load_dataset(folder + "/set_R.dat"); });
  return 0;
}
