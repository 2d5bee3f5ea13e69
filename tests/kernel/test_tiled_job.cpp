// Tiled kernel jobs: equal to the in-memory kernel, resumable after an interruption with a bit-identical
// result, refused up front when they cannot fit, and never resuming someone else's journal.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/test_util.h"
#include "ntk/error.h"
#include "ntk/io.h"
#include "ntk/tile_driver.h"
#include "ntk/tiled_job.h"

namespace ntk {
namespace {

namespace fs = std::filesystem;

class TiledJob : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ntk_tiled_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

Matrix load_matrix(const std::string& p) {
  Tensor t = io::load_npy(p);
  Matrix m(t.dim(0), t.dim(1));
  std::copy(t.data.begin(), t.data.end(), m.data());
  return m;
}

TEST_F(TiledJob, EqualsInMemoryKernelForOddSizes) {
  Tensor x1 = testing::random_tensor({23, 5, 3, 2}, 1), x2 = testing::random_tensor({17, 5, 3, 2}, 2);
  Architecture arch = Architecture::parse("conv(3, b_std=0.1), relu, conv(2), gelu, gap, dense");
  for (bool symmetric : {true, false}) {
    KernelOptions opt = testing::options();
    Kernels k = compute_kernels(arch, x1, symmetric ? nullptr : &x2, opt);
    TiledJobOptions job;
    job.out_path = path(symmetric ? "sym.npy" : "cross.npy");
    job.tile = 5;
    run_tiled_kernel_job(arch, x1, symmetric ? nullptr : &x2, opt, job);
    Matrix m = load_matrix(job.out_path);
    EXPECT_LT(testing::rel_frobenius(m, k.ntk), 1e-15);
    EXPECT_FALSE(fs::exists(job.out_path + ".partial"));
    EXPECT_FALSE(fs::exists(job.out_path + ".partial.journal"));
  }
}

TEST_F(TiledJob, ResumeAfterInterruptionIsBitIdentical) {
  Tensor x = testing::random_tensor({31, 6}, 3);
  Architecture arch = Architecture::parse("dense(w_std=1.5, b_std=0.2), erf, dense, relu, dense");
  for (DType dtype : {DType::kFloat64, DType::kFloat32}) {
    KernelOptions opt = testing::options(Parameterization::kNtk, dtype);
    TiledJobOptions job;
    job.tile = 4;
    const std::string tag = dtype_name(dtype);
    job.out_path = path("full_" + tag + ".npy");
    run_tiled_kernel_job(arch, x, nullptr, opt, job);

    job.out_path = path("resumed_" + tag + ".npy");
    job.stop_after_tiles = 7;
    TiledJobReport first = run_tiled_kernel_job(arch, x, nullptr, opt, job);
    EXPECT_EQ(first.tiles_computed, 7);
    EXPECT_FALSE(fs::exists(job.out_path));  // no partial result at the final path
    job.stop_after_tiles = 5;
    job.resume = true;
    TiledJobReport second = run_tiled_kernel_job(arch, x, nullptr, opt, job);
    EXPECT_EQ(second.tiles_resumed, 7);
    job.stop_after_tiles = -1;
    TiledJobReport third = run_tiled_kernel_job(arch, x, nullptr, opt, job);
    EXPECT_EQ(third.tiles_resumed, 12);
    EXPECT_EQ(third.tiles_resumed + third.tiles_computed, third.tiles_total);

    std::FILE* a = std::fopen(path("full_" + tag + ".npy").c_str(), "rb");
    std::FILE* b = std::fopen(path("resumed_" + tag + ".npy").c_str(), "rb");
    ASSERT_TRUE(a && b);
    std::vector<char> da(1 << 16), db(1 << 16);
    size_t na = std::fread(da.data(), 1, da.size(), a), nb = std::fread(db.data(), 1, db.size(), b);
    std::fclose(a);
    std::fclose(b);
    EXPECT_EQ(na, nb);
    EXPECT_TRUE(std::equal(da.begin(), da.begin() + na, db.begin()));
  }
}

TEST_F(TiledJob, TornLastJournalLineClaimsNoTile) {
  // A write cut short by a full disk can leave the journal ending in part of a line: "6" of "63" must not
  // mark tile 6 (or 63) done.
  Tensor x = testing::random_tensor({31, 6}, 3);
  Architecture arch = Architecture::parse("dense(b_std=0.2), erf, dense");
  TiledJobOptions job;
  job.tile = 4;
  job.out_path = path("full.npy");
  run_tiled_kernel_job(arch, x, nullptr, testing::options(), job);
  job.out_path = path("torn.npy");
  job.stop_after_tiles = 3;
  run_tiled_kernel_job(arch, x, nullptr, testing::options(), job);
  const TilePlan plan = plan_tiles(31, 31, 4, true);
  const int64_t not_done = plan.ids.back();
  {
    std::ofstream j(job.out_path + ".partial.journal", std::ios::app);
    j << not_done;  // no newline
  }
  job.resume = true;
  job.stop_after_tiles = -1;
  const TiledJobReport r = run_tiled_kernel_job(arch, x, nullptr, testing::options(), job);
  EXPECT_EQ(r.tiles_resumed, 3);
  EXPECT_EQ(r.tiles_resumed + r.tiles_computed, r.tiles_total);
  const Tensor full = io::load_npy(path("full.npy")), torn = io::load_npy(job.out_path);
  EXPECT_EQ(full.data, torn.data);
}

TEST_F(TiledJob, ResumeRefusesAJournalOfAnotherJob) {
  Tensor x = testing::random_tensor({12, 4}, 3), other = testing::random_tensor({12, 4}, 4);
  Architecture arch = Architecture::parse("dense, relu, dense");
  TiledJobOptions job;
  job.tile = 4;
  job.out_path = path("k.npy");
  job.stop_after_tiles = 2;
  run_tiled_kernel_job(arch, x, nullptr, testing::options(), job);
  job.resume = true;
  job.stop_after_tiles = -1;
  EXPECT_THROW(run_tiled_kernel_job(arch, other, nullptr, testing::options(), job), Error);
  EXPECT_FALSE(fs::exists(job.out_path));
}

TEST_F(TiledJob, JobThatCannotFitIsRefusedWithNumbers) {
  Tensor x = testing::random_tensor({40, 8, 8, 3}, 5);
  Architecture arch = Architecture::parse("conv(3), relu, gap, dense");
  TiledJobOptions job;
  job.out_path = path("k.npy");
  job.memory_bytes = 64 * 1024;
  try {
    run_tiled_kernel_job(arch, x, nullptr, testing::options(), job);
    FAIL() << "expected an out-of-memory refusal";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kOutOfMemory);
    EXPECT_NE(e.message().find("needs at least"), std::string::npos) << e.message();
  }
  EXPECT_FALSE(fs::exists(job.out_path));
  EXPECT_FALSE(fs::exists(job.out_path + ".partial"));
}

TEST(MemorySize, Parses) {
  EXPECT_EQ(parse_memory_size("512M"), 512ll << 20);
  EXPECT_EQ(parse_memory_size("4G"), 4ll << 30);
  EXPECT_EQ(parse_memory_size("1.5GiB"), 3ll << 29);
  EXPECT_EQ(parse_memory_size("1000"), 1000);
  EXPECT_THROW(parse_memory_size("lots"), Error);
  EXPECT_THROW(parse_memory_size("4X"), Error);
}

}  // namespace
}  // namespace ntk
