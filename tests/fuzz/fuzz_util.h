// Shared plumbing of the fuzz targets (tests/fuzz/fuzz_*.cpp).
//
// Each target is one function over the fuzzer's bytes, declared with NTK_FUZZ_TARGET(name). Built with
// -DNTK_BUILD_FUZZERS=ON (clang) it is libFuzzer's LLVMFuzzerTestOneInput of its own executable fuzz_<name>;
// in the normal build every target is compiled into ntk_tests, where test_corpus.cpp replays
// tests/fuzz/corpus/<name>/ through it (seeds and every input that once crashed), so the GoogleTest suite and
// the sanitizer build (scripts/sanitize.sh) keep checking them.
//
// The contract under test: on any bytes a loader either returns or throws ntk::Error. Anything else (another
// exception, a crash, a sanitizer report, a leak, an allocation past libFuzzer's limit, a hang) is a bug. The
// loaders take paths, so the bytes are written to files in a private folder (under /dev/shm when it exists:
// no disk traffic) and read back through the same code the CLI uses.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "io/io_internal.h"
#include "ntk/error.h"

namespace ntk::fuzz {

using TargetFn = int (*)(const uint8_t*, size_t);

// name -> function, filled at static-initialisation time in the replay build.
inline std::map<std::string, TargetFn>& registry() {
  static std::map<std::string, TargetFn> targets;
  return targets;
}

struct Registrar {
  Registrar(const char* name, TargetFn fn) { registry()[name] = fn; }
};

// A folder private to this process, removed at exit.
class ScratchDir {
 public:
  static ScratchDir& instance() {
    static ScratchDir dir;
    return dir;
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Removes everything inside (not the folder itself).
  void clear() const {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(path_, ec))
      std::filesystem::remove_all(entry, ec);
  }

 private:
  ScratchDir() {
    const char* base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : std::getenv("TMPDIR");
    std::string templ = std::string(base ? base : "/tmp") + "/ntk_fuzz_XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) {
      std::perror("ntk fuzz: mkdtemp");
      std::abort();
    }
    path_ = templ;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string path_;
};

// Writes `size` bytes to `path` (truncating), aborting on failure: the harness itself must not fail silently.
inline void write_file(const std::string& path, const void* data, size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || (size > 0 && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) {
    std::perror(("ntk fuzz: cannot write " + path).c_str());
    std::abort();
  }
}
inline void write_file(const std::string& path, const std::string& bytes) {
  write_file(path, bytes.data(), bytes.size());
}

// Runs `fn`, swallowing ntk::Error (the documented way to reject input). Returns true when fn returned. With
// NTK_FUZZ_VERBOSE set, prints each rejection (to check that the seeds get past the parsers).
inline bool accepts(const std::function<void()>& fn) {
  static const bool verbose = std::getenv("NTK_FUZZ_VERBOSE") != nullptr;
  try {
    fn();
    return true;
  } catch (const ntk::Error& e) {
    if (verbose) std::fprintf(stderr, "rejected: %s\n", e.message().c_str());
    return false;
  }
}

// Splits multi-file inputs on kSeparator (a line of five '='): part 0, part 1, ... Targets that need several
// files (folders) use it; the seed corpora are written the same way (tests/fuzz/make_corpus.py).
inline std::vector<std::string> split_parts(const uint8_t* data, size_t size) {
  static const std::string kSeparator = "\n=====\n";
  const std::string s(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> parts;
  size_t pos = 0;
  while (true) {
    const size_t next = s.find(kSeparator, pos);
    if (next == std::string::npos) {
      parts.push_back(s.substr(pos));
      return parts;
    }
    parts.push_back(s.substr(pos, next - pos));
    pos = next + kSeparator.size();
  }
}

// A property the target checks failed: report like a crash so libFuzzer keeps the input.
#define NTK_FUZZ_CHECK(cond)                                                                    \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      std::fprintf(stderr, "ntk fuzz: check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                             \
    }                                                                                           \
  } while (0)

// Loaders refuse arrays above this while fuzzing (io::detail::set_max_array_bytes), far below libFuzzer's 2
// GiB allocation limit: an input that asks for a 10 GB dense array is rejected, as it would be on a machine
// with less memory, instead of being reported as an out-of-memory crash. 32 MiB also keeps each execution
// short: an 855-byte LIBSVM file with feature index 79617 made a 160 MB dense array, a second of CPU under
// ASan, and a timeout on a loaded machine.
constexpr int64_t kMaxArrayBytes = int64_t{32} << 20;

// Sets the limit for its lifetime (the replay test wraps each corpus in one).
struct ArrayLimit {
  ArrayLimit() { ntk::io::detail::set_max_array_bytes(kMaxArrayBytes); }
  ~ArrayLimit() { ntk::io::detail::set_max_array_bytes(0); }
};

}  // namespace ntk::fuzz

#ifndef NTK_FUZZ_REPLAY
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ntk::io::detail::set_max_array_bytes(ntk::fuzz::kMaxArrayBytes);
  return 0;
}
#endif

#ifdef NTK_FUZZ_REPLAY
#define NTK_FUZZ_TARGET(name)                                                      \
  static int ntk_fuzz_##name(const uint8_t* data, size_t size);                    \
  static ::ntk::fuzz::Registrar ntk_fuzz_registrar_##name(#name, ntk_fuzz_##name); \
  static int ntk_fuzz_##name
#else
#define NTK_FUZZ_TARGET(name) extern "C" int LLVMFuzzerTestOneInput
#endif
