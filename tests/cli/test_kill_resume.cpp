// Kill anywhere: a tiled `ntk kernel --out` job is killed with SIGKILL at 20 random moments and resumed each
// time with --resume; the final file is bit-identical to an uninterrupted run, and nothing at the output path
// ever looks complete before it is (the job writes <out>.partial and renames it when every tile is there).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
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

// `ntk kernel --out path` of x on the reference engine with a quadrature activation, one thread, tiles of the
// given edge (small, so that a job has hundreds of tiles), resumed or not.
std::vector<std::string> tiled_job(const std::string& x, const std::string& tile, const std::string& path,
                                   bool resume) {
  std::vector<std::string> a = {NTK_CLI_PATH, "kernel",    "--arch",    "dense(b_std=0.1), tanh, dense",
                                "--x1",       x,           "--tile",    tile,
                                "--engine",   "reference", "--threads", "1",
                                "--quiet",    "--out",     path};
  if (resume) a.push_back("--resume");
  return a;
}

TEST(KillAnywhere, TwentyKillsAndResumesGiveTheUninterruptedFile) {
  const fs::path dir = fs::temp_directory_path() / ("ntk_kill_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string x = (dir / "x.npy").string(), ref = (dir / "ref.npy").string(),
                    out = (dir / "k.npy").string();
  io::save_npy(x, testing::random_tensor({192, 7}, 21));
  // The reference engine with a quadrature activation and 8 x 8 tiles: 300 tiles of a few milliseconds each,
  // so that kills land before, inside and between tiles, and during the final mirror and rename.
  auto with = [&](const std::string& path, bool resume) { return tiled_job(x, "8", path, resume); };
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

// Runs a command line with bash (whose `ulimit -f` counts 1 KiB blocks; dash counts 512 bytes); the exit
// status, or -1 when killed by a signal.
int shell(const std::string& line) {
  const std::string script =
      (fs::temp_directory_path() / ("ntk_cmd_" + std::to_string(getpid()) + ".sh")).string();
  std::ofstream(script) << line << "\n";
  const int status = std::system(("bash " + script).c_str());
  fs::remove(script);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string quoted(const std::vector<std::string>& args) {
  std::string s;
  for (const std::string& a : args) s += "'" + a + "' ";
  return s;
}

// A full disk, imitated by a file-size limit (RLIMIT_FSIZE, with SIGXFSZ ignored so that writes fail with
// EFBIG as they would with ENOSPC), at the start of a job and in the middle of one; and an unwritable output
// directory. Each gets one line naming the file and the reason, a non-zero exit and no file at the output
// path; the tiles that had finished are kept, and a resume without the limit gives the uninterrupted file.
TEST(KillAnywhere, FullDiskAndUnwritableOutputLoseNothingFinished) {
  const fs::path dir = fs::temp_directory_path() / ("ntk_full_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string x = (dir / "x.npy").string(), ref = (dir / "ref.npy").string(),
                    out = (dir / "k.npy").string(), err = (dir / "err.txt").string();
  io::save_npy(x, testing::random_tensor({128, 5}, 22));
  // 4 x 4 tiles: 528 of them, so the journal (one line per tile) grows past one 1 KiB block mid-job.
  auto with = [&](const std::string& path, bool resume) { return tiled_job(x, "4", path, resume); };
  auto one_line = [&]() {
    std::string e = read_bytes(err);
    while (!e.empty() && e.back() == '\n') e.pop_back();
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    return e;
  };
  const std::string limited = "trap '' XFSZ; ulimit -f 1; exec ";
  ASSERT_EQ(wait_exit(start(with(ref, false))), 0);
  const std::string expected = read_bytes(ref);

  // At the start: the output cannot be reserved.
  EXPECT_NE(shell(limited + quoted(with(out, false)) + "2>'" + err + "'"), 0);
  EXPECT_NE(one_line().find("cannot reserve"), std::string::npos) << read_bytes(err);
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out + ".partial"));

  // In the middle: a job killed early leaves some tiles; its resume under the limit fails when the journal
  // grows past the limit, keeping what was journaled; the next resume finishes.
  pid_t pid = start(with(out, false));
  ASSERT_GT(pid, 0);
  for (int i = 0; i < 2000 && !fs::exists(out + ".partial.journal"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  ASSERT_TRUE(fs::exists(out + ".partial")) << "the job finished before the kill";
  const auto journal_lines = [&]() {
    const std::string j = read_bytes(out + ".partial.journal");
    return std::count(j.begin(), j.end(), '\n');
  };
  const auto before = journal_lines();
  ASSERT_LT(fs::file_size(out + ".partial.journal"), 1024u) << "killed too late to test the limit";
  EXPECT_NE(shell(limited + quoted(with(out, true)) + "2>'" + err + "'"), 0);
  EXPECT_NE(one_line().find("journal"), std::string::npos) << read_bytes(err);
  EXPECT_FALSE(fs::exists(out));
  EXPECT_GT(journal_lines(), before);  // the limited run finished tiles, and they were kept
  ASSERT_EQ(wait_exit(start(with(out, true))), 0);
  EXPECT_EQ(read_bytes(out), expected);
  EXPECT_FALSE(fs::exists(out + ".partial"));
  EXPECT_FALSE(fs::exists(out + ".partial.journal"));

  // An unwritable output directory (root ignores permissions: then a path under a regular file).
  const fs::path locked = dir / "locked";
  fs::create_directories(locked);
  fs::permissions(locked, fs::perms::owner_read | fs::perms::owner_exec);
  const bool root = geteuid() == 0;
  const std::string bad = root ? (fs::path(x) / "k.npy").string() : (locked / "k.npy").string();
  EXPECT_NE(shell(quoted(with(bad, false)) + "2>'" + err + "'"), 0);
  EXPECT_NE(one_line().find(root ? fs::path(x).string() : locked.string()), std::string::npos)
      << read_bytes(err);
  EXPECT_FALSE(fs::exists(bad));
  fs::permissions(locked, fs::perms::owner_all);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ntk
