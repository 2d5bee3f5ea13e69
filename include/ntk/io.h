// Reading and writing arrays and data sets: .npy, CSV/TSV, IDX (MNIST), LIBSVM, CIFAR-10 binary, image
// folders, and the UCI collection of Fernández-Delgado et al. Every loader returns doubles in the library's
// layout (see ntk/tensor.h): features (N, d), images (N, H, W, C). Pixel data is scaled to [0, 1].
//
// Errors: every failure throws ntk::Error with a one-line message that starts with the file name.
// ErrorKind::kIo means the file could not be opened, read or written; ErrorKind::kInvalidInput means its
// content is malformed (bad header, truncated data, non-numeric cell, NaN/Inf...). See docs/io.md for the
// formats.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "ntk/tensor.h"

namespace ntk::io {

// ---------------------------------------------------------------------------------------------------------------
// Validation

// Throws kInvalidInput naming `what` and the first NaN/Inf in row-major order, e.g.
// "x.npy: non-finite value nan at index (3, 0, 1)". Every loader calls it on what it returns.
void check_finite(const Tensor& t, const std::string& what);

// Checks an array the CLI is about to use as inputs: rank 2 (N, d) or rank 4 (N, H, W, C), no zero-sized
// axis. Message example: "x.npy: expected (N, d) or (N, H, W, C), got shape (7)".
void check_input_array(const Tensor& t, const std::string& what);

// True for (N, H, W, C) arrays: the layout convolutional architectures expect.
bool looks_like_images(const Tensor& t);

// ---------------------------------------------------------------------------------------------------------------
// Atomic writes

// A file written under a temporary name (path + ".tmp-<pid>") and renamed onto `path` by commit(), so readers
// never see a half-written file and a crash leaves the old file intact. The destructor removes an uncommitted
// temp file.
class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Throws kIo (naming the final path) on a short write, e.g. a full disk.
  void write(const void* data, size_t bytes);
  void write(const std::string& text) { write(text.data(), text.size()); }
  std::FILE* stream() { return file_; }
  // Flushes, fsyncs, closes and renames onto the final path. Nothing may be written afterwards.
  void commit();

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_path_; }

 private:
  std::string path_;
  std::string temp_path_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

// The temp name AtomicFile and NpyMapWriter use for `path`.
std::string temp_path_for(const std::string& path);

// ---------------------------------------------------------------------------------------------------------------
// .npy (NumPy format 1.0/2.0/3.0)

struct NpyHeader {
  std::string descr;  // as in the file, e.g. "<f8"
  bool fortran_order = false;
  std::vector<int64_t> shape;
  int64_t data_offset = 0;  // bytes from the start of the file to the data
  int item_size = 0;        // bytes per element
};

// Parses and validates the header only (magic, version, dict, dtype).
NpyHeader read_npy_header(const std::string& path);

// Loads any numeric dtype (float16/32/64, signed/unsigned ints, bool; either byte order) converted to double;
// Fortran-ordered arrays are transposed into C order. Rejects NaN/Inf.
Tensor load_npy(const std::string& path);

// Writes a C-ordered little-endian float64 / float32 array atomically (via AtomicFile).
void save_npy(const std::string& path, const double* data, const std::vector<int64_t>& shape);
void save_npy(const std::string& path, const float* data, const std::vector<int64_t>& shape);
// Writes `t` converted to `dtype`.
void save_npy(const std::string& path, const Tensor& t, DType dtype = DType::kFloat64);

// A .npy file of fixed shape/dtype written in place through a memory map: for kernels too big to hold twice
// (compute a tile, store it, forget it). Space is reserved up front so a full disk fails here, with a
// message, rather than as SIGBUS on a later store into the map.
//
//   auto w = NpyMapWriter::create("K.npy", {n, n}, DType::kFloat32, "K.npy.partial");
//   w.write_tile(i0, j0, rows, cols, tile, cols);  ...  w.commit();  // renames K.npy.partial -> K.npy
//
// With an explicit partial path the file survives an interrupted run (destructor unmaps but keeps it) and
// open_existing() reopens it to resume; which rows are done is the caller's bookkeeping. Without one the temp
// file is path + ".tmp-<pid>" and is removed unless committed.
class NpyMapWriter {
 public:
  static NpyMapWriter create(const std::string& path, const std::vector<int64_t>& shape, DType dtype,
                             const std::string& partial_path = "");
  // Reopens `partial_path` written by create(); its header must match shape and dtype exactly.
  static NpyMapWriter open_existing(const std::string& path, const std::string& partial_path,
                                    const std::vector<int64_t>& shape, DType dtype);

  NpyMapWriter(NpyMapWriter&& other) noexcept;
  NpyMapWriter& operator=(NpyMapWriter&& other) noexcept;
  NpyMapWriter(const NpyMapWriter&) = delete;
  NpyMapWriter& operator=(const NpyMapWriter&) = delete;
  ~NpyMapWriter();

  const std::vector<int64_t>& shape() const { return shape_; }
  DType dtype() const { return dtype_; }
  int64_t size() const { return shape_product(shape_); }
  int64_t row_size() const;  // elements per row (product of all axes but the first)

  // Raw pointers into the map (C order). The typed ones throw if the dtype differs.
  void* data() { return data_; }
  double* data_f64();
  float* data_f32();

  // Stores rows [row_begin, row_begin + rows) from `src` (rows * row_size() doubles), converting to the
  // dtype.
  void write_rows(int64_t row_begin, int64_t rows, const double* src);
  // 2-D only: stores a rows x cols tile at (row0, col0); `src` is row-major with leading dimension `ld`.
  void write_tile(int64_t row0, int64_t col0, int64_t rows, int64_t cols, const double* src, int64_t ld);

  // msync: after flush() the partial file on disk holds everything written so far.
  void flush();
  // Flushes, unmaps and renames the partial file onto the final path.
  void commit();

  const std::string& path() const { return path_; }
  const std::string& partial_path() const { return partial_path_; }

 private:
  NpyMapWriter() = default;
  void release();                 // unmap + close, without removing anything
  void discard_if_uncommitted();  // release(), then delete an uncommitted automatic temp file

  std::string path_;
  std::string partial_path_;
  bool keep_partial_ = false;  // caller-chosen partial path: keep it for resume
  bool committed_ = false;
  std::vector<int64_t> shape_;
  DType dtype_ = DType::kFloat64;
  int fd_ = -1;
  void* map_ = nullptr;
  size_t map_bytes_ = 0;
  char* data_ = nullptr;
};

// ---------------------------------------------------------------------------------------------------------------
// CSV / TSV / whitespace-separated text

struct CsvOptions {
  // Column holding the labels (returned separately, removed from x); negative counts from the end (-1 =
  // last).
  bool has_labels = false;
  int64_t label_column = -1;
  // 0: detect from the first data line (',' if present, else ';', else tabs/spaces). Whitespace-separated
  // means runs of spaces and tabs.
  char delimiter = 0;
};

struct CsvData {
  Tensor x;                              // (N, d)
  std::vector<std::string> header;       // column names, empty when the file has no header line
  std::vector<double> labels;            // numeric labels, or indices into class_names
  std::vector<std::string> class_names;  // set when the label column is non-numeric (sorted names)
};

// Blank lines and lines starting with '#' are skipped. The first line is a header when none of its cells is a
// number. Ragged rows, empty or non-numeric cells are errors naming line and column. Gzip input is accepted.
CsvData load_csv(const std::string& path, const CsvOptions& options = {});

// Writes x (rank 1 or 2) with 17 significant digits, optionally a header and a label column appended last.
void save_csv(const std::string& path, const Tensor& x, const std::vector<std::string>& header = {},
              const std::vector<double>& labels = {});

// ---------------------------------------------------------------------------------------------------------------
// IDX (MNIST, Fashion-MNIST), plain or gzip-compressed (detected by the 0x1f8b magic)

// The raw array with the file's shape (no scaling). All IDX element types: u8, i8, i16, i32, f32, f64.
Tensor load_idx(const std::string& path);
// Images: a rank-3 file (N, H, W) becomes (N, H, W, 1); rank 4 is kept. Unsigned-byte pixels are divided by
// 255 (so they lie in [0, 1]); other element types are returned unscaled.
Tensor load_idx_images(const std::string& path);
// Labels: a rank-1 file of integers.
std::vector<int64_t> load_idx_labels(const std::string& path);
// The labels file next to an images file by the standard naming ("train-images-idx3-ubyte[.gz]" ->
// "train-labels-idx1-ubyte[.gz]", either compression). Empty string when none exists.
std::string find_idx_labels_for(const std::string& images_path);

// ---------------------------------------------------------------------------------------------------------------
// Data sets with class labels

struct Dataset {
  Tensor x;                              // (N, d) or (N, H, W, C)
  std::vector<int64_t> labels;           // one per row, in [0, class_names.size())
  std::vector<std::string> class_names;  // may be empty when the format has none
};

struct LibsvmData {
  Tensor x;                    // (N, d), dense; absent entries are 0
  std::vector<double> labels;  // as written in the file
};

// "label idx:val idx:val ..." with 1-based increasing indices; '#' starts a comment; "qid:" tokens are
// ignored. num_features 0: d is the largest index seen; otherwise d = num_features and a larger index is an
// error.
LibsvmData load_libsvm(const std::string& path, int64_t num_features = 0);

// CIFAR-10 binary records: 1 label byte + 32x32 R plane + G plane + B plane. x is (N, 32, 32, 3) in [0, 1].
Dataset load_cifar10_binary(const std::string& path);
// A "cifar-10-batches-bin" folder: split "train" = data_batch_1..5.bin, "test" = test_batch.bin. Class names
// come from batches.meta.txt when present.
Dataset load_cifar10_binary_dir(const std::string& dir, const std::string& split = "train");

// One image (JPEG via libjpeg, PNG via libpng) as (H, W, C) in [0, 1]; C is 1 (grey) or 3 (RGB); alpha
// dropped.
Tensor load_image(const std::string& path);

struct ImageFolderOptions {
  int64_t max_per_class = 0;  // 0: all; otherwise a seeded random subset of each class (kept in name order)
  uint64_t seed = 0;
};
// root/<class>/*.{jpg,jpeg,png} (case-insensitive extensions). Classes sorted by name get labels 0..K-1;
// files are sorted by name. All images must share height and width (error names the first mismatched file);
// grey images are replicated to 3 channels when any image is in colour.
Dataset load_image_folder(const std::string& root, const ImageFolderOptions& options = {});

// One data set of the UCI collection (Fernández-Delgado et al. 2014, as used by Arora et al. 2020).
struct UciDataset {
  std::string name;
  Dataset data;                     // x (N, d) without the row-index column; labels from the last column
  std::vector<int64_t> train;       // conxuntos.dat line 1: hyperparameter-selection training rows
  std::vector<int64_t> validation;  // conxuntos.dat line 2
  std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>>
      folds;  // conxuntos_kfold.dat (train, test)
};
// `dir` is uci90/<name>/ (holding <name>_R.dat, conxuntos.dat, conxuntos_kfold.dat).
UciDataset load_uci(const std::string& dir);

// ---------------------------------------------------------------------------------------------------------------
// Entry points

// Loads an array by extension or magic: .npy (or NumPy magic), .csv/.tsv/.txt/.dat (all numeric columns), IDX
// (magic or names like *-idx3-ubyte[.gz]), CIFAR-10 .bin (images only). Rejects NaN/Inf.
Tensor load_array(const std::string& path);

enum class DatasetFormat { kAuto, kNpy, kCsv, kLibsvm, kIdx, kCifar10, kImageFolder, kUci };
DatasetFormat parse_dataset_format(const std::string& name);  // "auto", "npy", "csv", "libsvm", "idx", ...

struct DatasetOptions {
  DatasetFormat format = DatasetFormat::kAuto;
  int64_t label_column = -1;    // CSV: column with the labels; negative counts from the end
  int64_t num_features = 0;     // LIBSVM: 0 = largest index seen
  std::string split = "train";  // CIFAR-10 folder: "train" or "test"
  std::string labels_path;      // .npy / IDX: explicit labels file (else IDX labels found by naming)
  int64_t max_per_class = 0;    // image folders
  uint64_t seed = 0;            // image folders: subsampling seed
};

// Labels: integer labels in [0, 100000] are kept as they are; anything else (negative or larger numbers,
// names) is mapped to the index of its value among the sorted distinct values, and class_names records the
// original text. Non-integer numeric labels are an error (this is for classification; use load_csv /
// load_libsvm for regression targets). Auto format: a folder is CIFAR-10 binary (data_batch_1.bin /
// test_batch.bin), UCI (<name>_R.dat) or an image folder; a file is chosen by magic then extension
// (.libsvm/.svm, .csv/.tsv/.txt, .bin, _R.dat, .npy, IDX).
Dataset load_dataset(const std::string& path, const DatasetOptions& options = {});

// ---------------------------------------------------------------------------------------------------------------
// Preprocessing

// Per-feature (rank 2) or per-channel (rank 4) standardisation: (x - mean) / std with the population std.
// Constant features get scale 1 so they map to 0 instead of dividing by zero.
struct Standardizer {
  std::vector<double> mean;
  std::vector<double> scale;
  bool per_channel = false;  // fitted on (N, H, W, C): one mean/scale per channel

  static Standardizer fit(const Tensor& x);
  Tensor apply(const Tensor& x) const;
  void apply_inplace(Tensor& x) const;
};

// Average pooling by an integer factor on (N, H, W, C) images, e.g. 28x28 -> 14x14 with factor 2. H and W
// must be divisible by the factor.
Tensor downsample_images(const Tensor& x, int64_t factor);

}  // namespace ntk::io
