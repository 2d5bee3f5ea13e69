// Helpers shared by the loaders in src/io (not part of the public API).
#pragma once

#include <zlib.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ntk/error.h"
#include "ntk/io.h"

namespace ntk::io::detail {

// A file read sequentially through zlib, which passes plain files through unchanged: every binary loader
// accepts gzip-compressed input for free, detected by content (0x1f 0x8b), not by extension.
class InputFile {
 public:
  // Throws kIo naming the path when it is missing, a directory or unreadable.
  explicit InputFile(const std::string& path);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  // Reads up to `bytes`; returns how many were read (0 at end of file). Throws kIo on a read error and
  // kInvalidInput on corrupt gzip data.
  size_t read_some(void* buffer, size_t bytes);
  // Reads exactly `bytes` or throws kInvalidInput "<path>: truncated: <what>".
  void read_exact(void* buffer, size_t bytes, const std::string& what);
  // True when nothing is left to read.
  bool at_end();
  // Bytes left to read in a plain regular file; -1 when unknown (gzip data, pipes). Loaders check a header's
  // size against it before allocating, so a 30-byte file claiming a 20 GB array is an error, not an
  // allocation.
  int64_t bytes_left();
  bool gzip() const { return gzip_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  gzFile gz_ = nullptr;
  bool gzip_ = false;
  int64_t file_size_ = -1;  // regular files only
};

// The whole (decompressed) content of a file.
std::string read_file(const std::string& path);
// The first `n` (decompressed) bytes, fewer if the file is shorter.
std::string read_prefix(const std::string& path, size_t n);

bool path_exists(const std::string& path);
bool is_directory(const std::string& path);
bool is_regular_file(const std::string& path);
// Sorted entry names of a folder (without "." and ".."); throws kIo when it cannot be listed.
std::vector<std::string> list_directory(const std::string& dir);
std::string join_path(const std::string& dir, const std::string& name);
std::string base_name(const std::string& path);
std::string to_lower(std::string s);
bool ends_with(const std::string& s, const std::string& suffix);
// Lower-cased extension including the dot (".npy"), ignoring a trailing ".gz"; "" when none.
std::string extension(const std::string& path);

// Parses a whole cell as a double (leading '+' allowed, surrounding spaces trimmed by the caller). Returns
// false for anything else, including an empty cell.
bool parse_double(const char* begin, const char* end, double* out);

// The dense integer labels of a data set from arbitrary label values: non-negative integers are kept,
// anything else is mapped to its rank among the sorted distinct values (class_names then holds the
// originals). `what` names the source for the error about non-integer numeric labels.
void make_class_labels(const std::vector<double>& values, const std::string& what,
                       std::vector<int64_t>* labels, std::vector<std::string>* class_names);

// The complete .npy preamble (magic, version, header dict, padding) for a C-ordered little-endian array; its
// size is a multiple of 64 so the data that follows is aligned for mmap and SIMD loads.
std::string npy_preamble(const std::vector<int64_t>& shape, DType dtype);
// Reads and validates the preamble at the start of `in`, leaving it positioned at the data.
NpyHeader read_npy_header(InputFile& in);
// The largest array (in bytes) a loader builds: the physical memory, unless set_max_array_bytes() lowered it
// (the fuzz targets do, to stay within libFuzzer's allocation limit). check_array_size() throws kOutOfMemory
// naming `path` when an array of `shape` x `item_size` bytes would be larger: a LIBSVM line "1 1000000000:1"
// asks for a dense (1, 1e9) array.
int64_t max_array_bytes();
void set_max_array_bytes(int64_t bytes);  // 0: back to the physical memory
void check_array_size(const std::string& path, const std::vector<int64_t>& shape, int64_t item_size);
// Product of dims with an overflow check (throws kInvalidInput naming `path`).
int64_t checked_product(const std::vector<int64_t>& shape, int64_t item_size, const std::string& path);

}  // namespace ntk::io::detail

// Throws ntk::Error of `kind` with a message prefixed by the file name: "<path>: <message>".
#define NTK_IO_FAIL(kind, path, fmt, ...) \
  ::ntk::throw_error((kind), __FILE__, __LINE__, "%s: " fmt, (path).c_str(), ##__VA_ARGS__)
