// MPI jobs on this machine: `mpirun -np R ntk kernel` gives the one-process file byte for byte, a job killed
// mid-way resumes with another R to the same file, `mpirun -np R ntk regress` (ScaLAPACK, and cg) equals
// one process. The tile assignment itself is checked in-process.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/test_util.h"
#include "ntk/distributed.h"
#include "ntk/io.h"
#include "ntk/tiled_job.h"

namespace ntk {
namespace {

namespace fs = std::filesystem;

// A sink that has some tiles already (as after a resume).
class HalfDoneSink final : public TileSink {
 public:
  TileTarget target(const TileSpec&) override { return {}; }
  bool finished(int64_t id) const override { return id % 3 == 1; }
};

TEST(TileAssignment, EveryUnfinishedTileToExactlyOneRankInBalance) {
  const TilePlan plan = plan_tiles(103, 103, 8, true);
  HalfDoneSink sink;
  for (int size : {1, 2, 3, 5}) {
    std::vector<int> owners(static_cast<size_t>(plan.ids.back() + 1), 0);
    std::vector<int64_t> load(static_cast<size_t>(size), 0);
    for (int rank = 0; rank < size; ++rank) {
      const std::vector<bool> mine = assign_tiles(plan, sink, rank, size);
      for (size_t k = 0; k < plan.ids.size(); ++k)
        if (mine[static_cast<size_t>(plan.ids[k])]) {
          ++owners[static_cast<size_t>(plan.ids[k])];
          load[static_cast<size_t>(rank)] += plan.entries(k);
        }
    }
    for (size_t k = 0; k < plan.ids.size(); ++k)
      EXPECT_EQ(owners[static_cast<size_t>(plan.ids[k])], sink.finished(plan.ids[k]) ? 0 : 1) << plan.ids[k];
    const auto [lo, hi] = std::minmax_element(load.begin(), load.end());
    EXPECT_LE(*hi - *lo, 64) << size;  // at most one full tile apart
  }
}

#ifdef NTK_MPIEXEC

std::string read_bytes(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class Mpi : public ::testing::Test {
 protected:
  void SetUp() override {
    // OpenMPI refuses root without these (CI runs as root); --oversubscribe allows more ranks than cores.
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    // One BLAS thread everywhere: the FC engine's Gram (MKL) rounds differently with another thread count,
    // and mpirun's binding gives each rank one core where a plain run has all of them.
    setenv("OMP_NUM_THREADS", "1", 1);
    setenv("MKL_NUM_THREADS", "1", 1);
    dir_ = fs::temp_directory_path() / ("ntk_mpi_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    io::save_npy(path("img.npy"), testing::random_tensor({13, 5, 5, 2}, 11));
    io::save_npy(path("fc.npy"), testing::random_tensor({29, 6}, 12));
    io::save_npy(path("fc2.npy"), testing::random_tensor({17, 6}, 13));
    // Regression: 300 training examples make 3 x 3 blocks of 128 on the ScaLAPACK grids.
    io::save_npy(path("train.npy"), testing::random_tensor({300, 6}, 15));
    io::save_npy(path("test.npy"), testing::random_tensor({40, 6}, 16));
    Tensor y = testing::random_tensor({300, 2}, 14);
    io::save_npy(path("y.npy"), y);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Runs `ntk args` in `ranks` MPI processes (0: plain, without mpirun); returns the exit status.
  int run(int ranks, const std::string& args, const std::string& env = "") {
    const std::string err = path("stderr.txt");
    std::string cmd = "timeout 300 env " + env + " ";
    if (ranks > 0) cmd += std::string(NTK_MPIEXEC) + " --oversubscribe -np " + std::to_string(ranks) + " ";
    cmd += std::string(NTK_CLI_PATH) + " " + args + " > " + path("stdout.txt") + " 2> " + err;
    const int raw = std::system(cmd.c_str());
    last_err_ = read_bytes(err);
    return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  }
  std::string last_err_;
  fs::path dir_;
};

const char* kCntk = "'conv(3, b_std=0.1), relu, conv(2), relu, gap, dense'";

TEST_F(Mpi, KernelIsBitIdenticalToOneProcess) {
  const std::string cntk =
      std::string("kernel --arch ") + kCntk + " --x1 " + path("img.npy") + " --tile 3 --threads 1";
  const std::string fc = "kernel --arch 'dense(b_std=0.2), erf, dense' --x1 " + path("fc.npy") + " --x2 " +
                         path("fc2.npy") + " --get nngp --tile 4 --threads 1 --dtype float32";
  for (const std::string& job : {cntk, fc}) {
    ASSERT_EQ(run(0, job + " --out " + path("one.npy")), 0) << last_err_;
    const std::string one = read_bytes(path("one.npy"));
    for (int ranks : {2, 3}) {
      const std::string out = path("r" + std::to_string(ranks) + ".npy");
      ASSERT_EQ(run(ranks, job + " --out " + out), 0) << last_err_;
      EXPECT_EQ(read_bytes(out), one) << ranks << " ranks: " << job;
      EXPECT_FALSE(fs::exists(out + ".partial.journal"));
    }
  }
}

TEST_F(Mpi, KilledJobResumesWithAnotherRankCountToTheSameFile) {
  const std::string job =
      std::string("kernel --arch ") + kCntk + " --x1 " + path("img.npy") + " --tile 2 --threads 1";
  ASSERT_EQ(run(0, job + " --out " + path("one.npy")), 0) << last_err_;
  const std::string out = path("k.npy");
  // Three ranks, each stopping (as if killed) after 3 of its tiles: the job dies, the tiles done stay.
  EXPECT_NE(run(3, job + " --out " + out, "NTK_TEST_STOP_AFTER_TILES=3"), 0);
  EXPECT_FALSE(fs::exists(out));
  ASSERT_TRUE(fs::exists(out + ".partial.journal"));
  // Two ranks finish it.
  ASSERT_EQ(run(2, job + " --resume --out " + out), 0) << last_err_;
  // Each rank journals its 3 tiles before it stops; the launcher may kill a slower rank sooner.
  long long resumed = 0, total = 0;
  const size_t at = last_err_.find("resumed: ");
  ASSERT_NE(at, std::string::npos) << last_err_;
  ASSERT_EQ(std::sscanf(last_err_.c_str() + at, "resumed: %lld of %lld", &resumed, &total), 2);
  EXPECT_EQ(total, 28);
  EXPECT_GE(resumed, 3);
  EXPECT_LE(resumed, 9);
  EXPECT_EQ(read_bytes(out), read_bytes(path("one.npy")));
  EXPECT_FALSE(fs::exists(out + ".partial"));
}

Matrix load(const std::string& p) {
  Tensor t = io::load_npy(p);
  Matrix m(t.dim(0), t.rank() > 1 ? t.dim(1) : 1);
  std::copy(t.data.begin(), t.data.end(), m.data());
  return m;
}

TEST_F(Mpi, RegressEqualsOneProcess) {
  const std::string base = "regress --arch 'dense(b_std=0.3), relu, dense(b_std=0.1), relu, dense' --train " +
                           path("train.npy") + " --y-train " + path("y.npy") + " --test " + path("test.npy") +
                           " --diag-reg 1e-4 --threads 1";
  ASSERT_EQ(run(0, base + " --out " + path("exact1.npy")), 0) << last_err_;
  const Matrix one = load(path("exact1.npy"));
  for (int ranks : {2, 3}) {
    ASSERT_EQ(run(ranks, base + " --out " + path("exact.npy")), 0) << last_err_;
    EXPECT_NE(last_err_.find("ScaLAPACK on a"), std::string::npos) << last_err_;
    EXPECT_LT((load(path("exact.npy")) - one).cwiseAbs().maxCoeff(), 1e-10 * one.cwiseAbs().maxCoeff())
        << ranks;
  }
  // Conjugate gradient on the kernels on disk, one process and two, against the Cholesky solution.
  ASSERT_EQ(run(0, base + " --solver cg --cg-rank 20 --out " + path("cg1.npy")), 0) << last_err_;
  ASSERT_EQ(run(2, base + " --solver cg --cg-rank 20 --out " + path("cg2.npy")), 0) << last_err_;
  const Matrix cg1 = load(path("cg1.npy")), cg2 = load(path("cg2.npy"));
  EXPECT_LT((cg1 - one).cwiseAbs().maxCoeff(), 1e-6 * one.cwiseAbs().maxCoeff());
  EXPECT_EQ((cg2 - cg1).cwiseAbs().maxCoeff(), 0.0);  // the products do not depend on the ranks
}

TEST_F(Mpi, OneProcessOnlySolversAreRefusedUnderMpi) {
  EXPECT_EQ(run(2, "regress --arch 'dense, relu, dense' --train " + path("train.npy") + " --y-train " +
                       path("y.npy") + " --test " + path("test.npy") + " --solver flow --threads 1"),
            2);
  EXPECT_NE(last_err_.find("--solver flow runs in one process"), std::string::npos) << last_err_;
}

#else

TEST(Mpi, BuiltWithoutMpi) {
  EXPECT_FALSE(dist::built_with_mpi());
  GTEST_SKIP() << "this build has no MPI (NTK_ENABLE_MPI=OFF)";
}

#endif

}  // namespace
}  // namespace ntk
