// Replays every fuzz target on its corpus (tests/fuzz/corpus/<target>/): the seeds and each input a fuzzer
// once crashed on (kept under the name crash-*), so a fixed bug stays fixed in the normal and the sanitizer
// builds. A target that aborts (a failed check or a crash) fails the test binary; one that lets anything but
// ntk::Error escape fails the test here.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "fuzz/fuzz_util.h"

namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kTargets = {"npy",   "npy_map",      "csv", "libsvm", "idx",   "cifar",
                                           "image", "image_folder", "uci", "arch",   "kernel"};

TEST(FuzzCorpus, EveryTargetIsRegistered) {
  std::vector<std::string> registered;
  for (const auto& [name, fn] : ntk::fuzz::registry()) registered.push_back(name);
  std::vector<std::string> expected = kTargets;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(registered, expected);
}

class FuzzCorpusReplay : public ::testing::TestWithParam<std::string> {};

TEST_P(FuzzCorpusReplay, EveryInputIsHandled) {
  const std::string name = GetParam();
  const auto it = ntk::fuzz::registry().find(name);
  ASSERT_NE(it, ntk::fuzz::registry().end()) << name;
  const fs::path dir = fs::path(NTK_SOURCE_DIR) / "tests/fuzz/corpus" / name;
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file()) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty()) << "no seeds in " << dir;
  const ntk::fuzz::ArrayLimit limit;  // as in the fuzzers
  for (const fs::path& file : files) {
    std::ifstream f(file, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    SCOPED_TRACE(file.filename().string());
    try {
      it->second(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    } catch (const std::exception& e) {
      ADD_FAILURE() << file << ": escaped " << typeid(e).name() << ": " << e.what();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzCorpusReplay, ::testing::ValuesIn(kTargets),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
