// Image folders root/<class>/*.{png,jpg}: part 0 configures the layout (byte 0: number of classes 1-3,
// byte 1: max_per_class 0-3, byte 2: seed, byte 3: bit i set = image i is named .jpg, else .png; missing
// bytes are 0), parts 1.. are the image files, dealt to the classes in turn. load_image_folder and
// load_dataset (auto-detected folder).
#include "fuzz/fuzz_util.h"
#include "ntk/io.h"

NTK_FUZZ_TARGET(image_folder)(const uint8_t* data, size_t size) {
  const auto& dir = ntk::fuzz::ScratchDir::instance();
  dir.clear();
  const std::vector<std::string> parts = ntk::fuzz::split_parts(data, size);
  const std::string& config = parts[0];
  const auto byte = [&](size_t i) { return i < config.size() ? static_cast<unsigned char>(config[i]) : 0u; };
  const int classes = 1 + static_cast<int>(byte(0) % 3);
  const std::string root = dir.file("images");
  std::filesystem::create_directory(root);
  for (int c = 0; c < classes; ++c) std::filesystem::create_directory(root + "/class" + std::to_string(c));
  for (size_t i = 1; i < parts.size() && i <= 12; ++i) {
    const int c = static_cast<int>((i - 1) % static_cast<size_t>(classes));
    const bool jpg = i <= 8 && ((byte(3) >> (i - 1)) & 1);
    ntk::fuzz::write_file(
        root + "/class" + std::to_string(c) + "/img" + std::to_string(i) + (jpg ? ".jpg" : ".png"), parts[i]);
  }
  ntk::io::ImageFolderOptions options;
  options.max_per_class = byte(1) % 4;
  options.seed = byte(2);
  ntk::io::Dataset ds;
  if (ntk::fuzz::accepts([&] { ds = ntk::io::load_image_folder(root, options); })) {
    NTK_FUZZ_CHECK(ds.x.rank() == 4 && ds.x.rows() == static_cast<int64_t>(ds.labels.size()));
    NTK_FUZZ_CHECK(static_cast<int>(ds.class_names.size()) == classes);
    for (int64_t l : ds.labels) NTK_FUZZ_CHECK(l >= 0 && l < classes);
    for (double v : ds.x.data) NTK_FUZZ_CHECK(v >= 0 && v <= 1);
  }
  ntk::fuzz::accepts([&] { ntk::io::load_dataset(root); });
  return 0;
}
