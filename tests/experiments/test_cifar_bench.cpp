// ntk bench cifar10 end to end on a synthetic CIFAR-10 binary folder whose classes are learnable
// (brightness).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "ntk/bench_cifar.h"
#include "ntk/error.h"

namespace ntk {
namespace {

namespace fs = std::filesystem;

void write_batch(const std::string& path, int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> noise(0, 60);
  std::ofstream f(path, std::ios::binary);
  for (int i = 0; i < n; ++i) {
    const unsigned char label = static_cast<unsigned char>(i % 10);
    f.put(static_cast<char>(label));
    for (int p = 0; p < 3072; ++p) f.put(static_cast<char>(label * 18 + noise(rng)));
  }
}

TEST(CifarBench, RunsBothReadoutsAndLearnsALearnableTask) {
  const fs::path dir = fs::temp_directory_path() / ("ntk_cifar_" + std::to_string(getpid()));
  fs::create_directories(dir);
  for (int b = 1; b <= 5; ++b)
    write_batch((dir / ("data_batch_" + std::to_string(b) + ".bin")).string(), 12, static_cast<uint64_t>(b));
  write_batch((dir / "test_batch.bin").string(), 30, 2);
  CifarBenchOptions o;
  o.data = dir.string();
  o.train_sizes = {10, 20};
  o.test = 10;
  o.depths = {2};
  o.readouts = {"flatten", "gap"};
  o.ctx.threads = 2;
  std::vector<CifarRun> runs = run_cifar_bench(o);
  ASSERT_EQ(runs.size(), 4u);
  for (const CifarRun& r : runs) {
    EXPECT_EQ(r.test, 10);
    EXPECT_GT(r.accuracy, 0.5) << r.readout << " " << r.train;  // chance is 0.1
  }
  EXPECT_EQ(runs[0].readout, "flatten");
  EXPECT_EQ(runs[3].readout, "gap");
  EXPECT_NE(runs[3].arch.find("trainable=false"), std::string::npos);
  o.train_sizes = {100};
  EXPECT_THROW(run_cifar_bench(o), Error);           // more than the data holds
  EXPECT_THROW(cntk_architecture("gap", 1), Error);  // nothing trainable: first and last layer are fixed
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ntk
