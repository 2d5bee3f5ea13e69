// Kill anywhere: a tiled `ntk kernel --out` job is killed with SIGKILL at 20 random moments and resumed each
// time with --resume; the final file is bit-identical to an uninterrupted run, and nothing at the output path
// ever looks complete before it is (the job writes <out>.partial and renames it when every tile is there).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/test_util.h"
#include "ntk/io.h"

extern char** environ;

namespace ntk {
namespace {

namespace fs = std::filesystem;

std::string read_bytes(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

pid_t start(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(KillAnywhere, TwentyKillsAndResumesGiveTheUninterruptedFile) {
  const fs::path dir = fs::temp_directory_path() / ("ntk_kill_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string x = (dir / "x.npy").string(), ref = (dir / "ref.npy").string(),
                    out = (dir / "k.npy").string();
  io::save_npy(x, testing::random_tensor({192, 7}, 21));
  // The reference engine with a quadrature activation and 8 x 8 tiles: 300 tiles of a few milliseconds each,
  // so that kills land before, inside and between tiles, and during the final mirror and rename.
  const std::vector<std::string> base = {
      NTK_CLI_PATH, "kernel",    "--arch",    "dense(b_std=0.1), tanh, dense",
      "--x1",       x,           "--tile",    "8",
      "--engine",   "reference", "--threads", "1",
      "--quiet"};
  auto with = [&](const std::string& path, bool resume) {
    std::vector<std::string> a = base;
    a.insert(a.end(), {"--out", path});
    if (resume) a.push_back("--resume");
    return a;
  };
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(wait_exit(start(with(ref, false))), 0);
  const double full_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const std::string expected = read_bytes(ref);
  ASSERT_FALSE(expected.empty());

  std::mt19937_64 rng(7);
  int killed_before_done = 0;
  for (int k = 0; k < 20 && !fs::exists(out); ++k) {
    const pid_t pid = start(with(out, fs::exists(out + ".partial")));
    ASSERT_GT(pid, 0);
    // A moment within the first 12 % of a whole run (start-up included): each run then adds a few tiles.
    std::this_thread::sleep_for(std::chrono::microseconds(
        static_cast<int64_t>(std::uniform_real_distribution<double>(0.0, 0.12)(rng) * full_ms * 1000)));
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    if (fs::exists(out)) {
      // It finished before the kill: then the file must be whole.
      EXPECT_EQ(read_bytes(out), expected) << "kill " << k;
    } else {
      ++killed_before_done;
    }
  }
  EXPECT_GE(killed_before_done, 10);
  if (!fs::exists(out)) ASSERT_EQ(wait_exit(start(with(out, fs::exists(out + ".partial")))), 0);
  EXPECT_EQ(read_bytes(out), expected);
  EXPECT_FALSE(fs::exists(out + ".partial"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ntk
