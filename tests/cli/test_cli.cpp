// The CLI contract on bad input: one line on stderr, exit status 2, no output file left behind.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/test_util.h"
#include "ntk/io.h"

namespace ntk {
namespace {

namespace fs = std::filesystem;

struct RunResult {
  int status = -1;
  std::string err;
};

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ntk_cli_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    io::save_npy(path("fc.npy"), testing::random_tensor({4, 5}, 1));
    io::save_npy(path("fc6.npy"), testing::random_tensor({3, 6}, 2));
    io::save_npy(path("img.npy"), testing::random_tensor({3, 6, 6, 2}, 3));
    io::save_npy(path("tiny.npy"), testing::random_tensor({2, 2, 2, 1}, 3));
    io::save_npy(path("vec1d.npy"), testing::random_tensor({7}, 4));
    Tensor nan = testing::random_tensor({3, 4}, 5);
    nan.data[6] = std::nan("");
    io::save_npy(path("nan.npy"), nan);
    Tensor inf = testing::random_tensor({3, 4}, 5);
    inf.data[2] = INFINITY;
    io::save_npy(path("inf.npy"), inf);
    write(path("ragged.csv"), "1,2,3\n4,5\n");
    write(path("words.csv"), "1,2\nfoo,bar\n");
    write(path("empty.csv"), "");
    write(path("garbage.npy"), "this is not a numpy file at all, not even close");
    std::ifstream good(path("fc.npy"), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(good)), std::istreambuf_iterator<char>());
    write(path("truncated.npy"), bytes.substr(0, bytes.size() - 13));
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  static void write(const std::string& p, const std::string& text) { std::ofstream(p) << text; }

  RunResult run(const std::string& args) {
    const std::string err_path = path("stderr.txt");
    const std::string cmd = std::string(NTK_CLI_PATH) + " " + args + " 2> " + err_path + " > /dev/null";
    RunResult r;
    int raw = std::system(cmd.c_str());
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    std::ifstream f(err_path);
    std::stringstream ss;
    ss << f.rdbuf();
    r.err = ss.str();
    return r;
  }

  // Every bad input: exit 2, exactly one line on stderr, and no output (nor partial output) left.
  void expect_rejected(const std::string& args, const std::string& needle) {
    const std::string out = path("out.npy");
    RunResult r = run(args + " --out " + out);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\nstderr: " << r.err;
    EXPECT_FALSE(fs::exists(out)) << args;
    EXPECT_FALSE(fs::exists(out + ".partial")) << args;
  }

  fs::path dir_;
};

TEST_F(Cli, KernelWritesTheKernel) {
  RunResult r = run("kernel --arch 'dense, relu, dense' --x1 " + path("fc.npy") + " --x2 " + path("fc.npy") +
                    " --out " + path("k.npy"));
  EXPECT_EQ(r.status, 0) << r.err;
  Tensor k = io::load_npy(path("k.npy"));
  EXPECT_EQ(k.shape, (std::vector<int64_t>{4, 4}));
}

// Finite muP networks are measured by `ntk empirical` (their exact kernel is refused, see BadInputs).
TEST_F(Cli, EmpiricalMeasuresMupNetworks) {
  RunResult r =
      run("empirical --arch 'dense, relu, dense' --width 64 --samples 2 --parameterization mup --x1 " +
          path("fc.npy") + " --out " + path("k.npy"));
  EXPECT_EQ(r.status, 0) << r.err;
  Tensor k = io::load_npy(path("k.npy"));
  EXPECT_EQ(k.shape, (std::vector<int64_t>{4, 4}));
}

TEST_F(Cli, BadArchitectures) {
  const std::string x = " --x1 " + path("fc.npy");
  expect_rejected("kernel --arch 'dense, relu,, dense'" + x, "column 13");
  expect_rejected("kernel --arch 'dense, relux, dense'" + x, "unknown layer 'relux'; known:");
  expect_rejected("kernel --arch 'dense(w_sdt=2)'" + x, "unknown argument 'w_sdt'; valid arguments:");
  expect_rejected("kernel --arch 'dense(width=-4), relu, dense'" + x, "width must be an integer >= 1");
  expect_rejected("kernel --arch 'conv(3, stride=0), relu, flatten, dense' --x1 " + path("img.npy"),
                  "stride must be an integer >= 1");
  expect_rejected("kernel --arch 'conv(3), relu, flatten, dense'" + x, "needs images");
  expect_rejected("kernel --arch 'conv(5, pad=valid), relu, flatten, dense' --x1 " + path("tiny.npy"), "too small");
}

TEST_F(Cli, BadInputs) {
  const std::string a = "kernel --arch 'dense, relu, dense' --x1 ";
  expect_rejected(a + path("fc.npy") + " --x2 " + path("fc6.npy"), "different example shapes");
  expect_rejected(a + path("nan.npy"), "non-finite");
  expect_rejected(a + path("inf.npy"), "non-finite");
  expect_rejected(a + path("vec1d.npy"), "expected (N, d) or (N, H, W, C)");
  expect_rejected(a + path("words.csv"), "words.csv");
  expect_rejected(a + path("truncated.npy"), "truncated.npy");
  expect_rejected(a + path("garbage.npy"), "garbage.npy");
  expect_rejected(a + path("ragged.csv"), "ragged.csv");
  expect_rejected(a + path("empty.csv"), "empty.csv");
  expect_rejected(a + path("missing.npy"), "missing.npy");
  expect_rejected(a + path("fc.npy") + " --get both", "--get");
  expect_rejected(a + path("fc.npy") + " --parameterization mean_field", "--parameterization");
  // muP has no kernel limit for training: one line saying why, before any data is read.
  expect_rejected(a + path("fc.npy") + " --parameterization mup", "mup has no kernel");
  expect_rejected(a + path("missing.npy") + " --parameterization mup", "mup has no kernel");
  expect_rejected(a + path("fc.npy") + " --dtype float16", "float16");
  expect_rejected(a + path("fc.npy") + " --device tpu", "tpu");
  expect_rejected(a + path("fc.npy") + " --device cuda", "CUDA");
  expect_rejected(a + path("fc.npy") + " --memory 64", "needs at least");
  expect_rejected("empirical --arch 'dense, relu, dense' --width 0 --x1 " + path("fc.npy"), "--width");
}

TEST_F(Cli, KilledJobResumesBitIdentically) {
  io::save_npy(path("many.npy"), testing::random_tensor({40, 5, 5, 2}, 9));
  const std::string cmd = "kernel --arch 'conv(3, b_std=0.1), relu, conv(3), erf, gap, dense' --x1 " +
                          path("many.npy") + " --tile 8";
  ASSERT_EQ(run(cmd + " --out " + path("full.npy")).status, 0);
  RunResult killed = run("--threads 1 " + cmd + " --out " + path("res.npy"));  // wrong position: parse error
  EXPECT_EQ(killed.status, 2);
  setenv("NTK_TEST_STOP_AFTER_TILES", "3", 1);
  killed = run(cmd + " --out " + path("res.npy"));
  unsetenv("NTK_TEST_STOP_AFTER_TILES");
  EXPECT_EQ(killed.status, 137);  // dies like kill -9 after 3 tiles
  EXPECT_FALSE(fs::exists(path("res.npy")));
  EXPECT_TRUE(fs::exists(path("res.npy.partial")));
  RunResult resumed = run(cmd + " --out " + path("res.npy") + " --resume");
  EXPECT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("resumed: 3 of"), std::string::npos) << resumed.err;
  std::ifstream a(path("full.npy"), std::ios::binary), b(path("res.npy"), std::ios::binary);
  std::string sa((std::istreambuf_iterator<char>(a)), {}), sb((std::istreambuf_iterator<char>(b)), {});
  EXPECT_EQ(sa, sb);
}

TEST_F(Cli, HelpExplainsEveryCommand) {
  for (const char* c : {"--help", "kernel --help", "empirical --help"}) {
    RunResult r = run(c);
    EXPECT_EQ(r.status, 0) << c;
  }
}

}  // namespace
}  // namespace ntk
