// Format dispatch (load_array, load_dataset) and preprocessing (standardisation, downsampling).
#include <cmath>
#include <cstring>

#include "io/io_internal.h"

namespace ntk::io {
namespace {

bool has_npy_magic(const std::string& prefix) {
  return prefix.compare(0, 6, "\x93NUMPY") == 0;
}

bool has_idx_magic(const std::string& prefix) {
  if (prefix.size() < 4 || prefix[0] != 0 || prefix[1] != 0) return false;
  const int type = static_cast<unsigned char>(prefix[2]);
  const int rank = static_cast<unsigned char>(prefix[3]);
  return (type == 0x08 || type == 0x09 || (type >= 0x0B && type <= 0x0E)) && rank >= 1 && rank <= 8;
}

bool is_text_extension(const std::string& ext) {
  return ext == ".csv" || ext == ".tsv" || ext == ".txt" || ext == ".dat";
}

bool is_libsvm_extension(const std::string& ext) {
  return ext == ".libsvm" || ext == ".svm";
}

// IDX through load_array: image files (rank >= 3) get the same treatment as in load_dataset.
Tensor load_idx_any(const std::string& path) {
  const std::string prefix = detail::read_prefix(path, 4);
  if (prefix.size() == 4 && prefix[3] >= 3) return load_idx_images(path);
  return load_idx(path);
}

DatasetFormat detect_format(const std::string& path) {
  if (detail::is_directory(path)) {
    if (detail::is_regular_file(detail::join_path(path, "data_batch_1.bin")) ||
        detail::is_regular_file(detail::join_path(path, "test_batch.bin"))) {
      return DatasetFormat::kCifar10;
    }
    if (detail::is_regular_file(detail::join_path(path, detail::base_name(path) + "_R.dat"))) {
      return DatasetFormat::kUci;
    }
    return DatasetFormat::kImageFolder;
  }
  const std::string prefix = detail::read_prefix(path, 8);
  const std::string ext = detail::extension(path);
  if (has_npy_magic(prefix)) return DatasetFormat::kNpy;
  if (ext == ".bin") return DatasetFormat::kCifar10;
  if (has_idx_magic(prefix)) return DatasetFormat::kIdx;
  if (is_libsvm_extension(ext)) return DatasetFormat::kLibsvm;
  if (detail::ends_with(path, "_R.dat")) return DatasetFormat::kUci;
  if (is_text_extension(ext)) return DatasetFormat::kCsv;
  NTK_IO_FAIL(
      ErrorKind::kInvalidInput, path,
      "unknown data set format (expected .npy, .csv/.tsv/.txt, .libsvm/.svm, IDX, CIFAR-10 .bin, a UCI "
      "folder or an image folder)");
}

std::vector<int64_t> load_label_array(const std::string& path, int64_t n, std::vector<std::string>* names) {
  const Tensor t = load_array(path);
  NTK_THROW_IF_NOT(t.rank() == 1 || (t.rank() == 2 && t.shape[1] == 1),
                   "%s: labels must be a 1-D array (or (N, 1)), got shape %s", path.c_str(),
                   t.shape_string().c_str());
  NTK_THROW_IF_NOT(t.rows() == n, "%s: %lld labels for %lld examples", path.c_str(),
                   static_cast<long long>(t.rows()), static_cast<long long>(n));
  std::vector<int64_t> labels;
  detail::make_class_labels(t.data, path, &labels, names);
  return labels;
}

}  // namespace

Tensor load_array(const std::string& path) {
  if (detail::is_directory(path)) {
    NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "is a folder; arrays are read from one file");
  }
  const std::string prefix = detail::read_prefix(path, 8);
  const std::string ext = detail::extension(path);
  const std::string name = detail::to_lower(detail::base_name(path));
  if (has_npy_magic(prefix)) return load_npy(path);
  if (ext == ".bin") return load_cifar10_binary(path).x;
  if (has_idx_magic(prefix)) return load_idx_any(path);
  if (name.find("-ubyte") != std::string::npos) return load_idx_any(path);  // reports the bad magic
  if (ext == ".npy") return load_npy(path);                                 // reports the bad magic
  if (is_text_extension(ext)) return load_csv(path).x;
  if (is_libsvm_extension(ext)) return load_libsvm(path).x;
  NTK_IO_FAIL(ErrorKind::kInvalidInput, path,
              "unknown array format (expected .npy, .csv/.tsv/.txt, .libsvm/.svm, IDX or CIFAR-10 .bin)");
}

DatasetFormat parse_dataset_format(const std::string& name) {
  if (name == "auto") return DatasetFormat::kAuto;
  if (name == "npy") return DatasetFormat::kNpy;
  if (name == "csv") return DatasetFormat::kCsv;
  if (name == "libsvm") return DatasetFormat::kLibsvm;
  if (name == "idx") return DatasetFormat::kIdx;
  if (name == "cifar10") return DatasetFormat::kCifar10;
  if (name == "images") return DatasetFormat::kImageFolder;
  if (name == "uci") return DatasetFormat::kUci;
  NTK_THROW("unknown data set format '%s'; valid: auto, npy, csv, libsvm, idx, cifar10, images, uci",
            name.c_str());
}

Dataset load_dataset(const std::string& path, const DatasetOptions& options) {
  const DatasetFormat format = options.format == DatasetFormat::kAuto ? detect_format(path) : options.format;
  Dataset ds;
  switch (format) {
    case DatasetFormat::kNpy: {
      ds.x = load_npy(path);
      // Labels are optional here: a bare array is still a valid input for kernel computation.
      if (!options.labels_path.empty()) {
        ds.labels = load_label_array(options.labels_path, ds.x.rows(), &ds.class_names);
      }
      break;
    }
    case DatasetFormat::kCsv: {
      CsvOptions csv;
      csv.has_labels = true;
      csv.label_column = options.label_column;
      CsvData data = load_csv(path, csv);
      ds.x = std::move(data.x);
      if (!data.class_names.empty()) {
        ds.labels.assign(data.labels.begin(), data.labels.end());
        ds.class_names = std::move(data.class_names);
      } else {
        detail::make_class_labels(data.labels, path, &ds.labels, &ds.class_names);
      }
      break;
    }
    case DatasetFormat::kLibsvm: {
      LibsvmData data = load_libsvm(path, options.num_features);
      ds.x = std::move(data.x);
      detail::make_class_labels(data.labels, path, &ds.labels, &ds.class_names);
      break;
    }
    case DatasetFormat::kIdx: {
      ds.x = load_idx_images(path);
      const std::string labels_path =
          options.labels_path.empty() ? find_idx_labels_for(path) : options.labels_path;
      if (labels_path.empty()) {
        NTK_IO_FAIL(ErrorKind::kIo, path,
                    "no labels file next to it (expected the images->labels, idx3->idx1 name, e.g. "
                    "train-labels-idx1-ubyte.gz); pass the labels path explicitly");
      }
      const std::vector<int64_t> labels = load_idx_labels(labels_path);
      NTK_THROW_IF_NOT(static_cast<int64_t>(labels.size()) == ds.x.rows(),
                       "%s: %zu labels for %lld images in %s", labels_path.c_str(), labels.size(),
                       static_cast<long long>(ds.x.rows()), path.c_str());
      // The same rule as every other format: an int32 label 2000000000 must not make 2e9 class names.
      detail::make_class_labels(std::vector<double>(labels.begin(), labels.end()), labels_path, &ds.labels,
                                &ds.class_names);
      break;
    }
    case DatasetFormat::kCifar10:
      ds = detail::is_directory(path) ? load_cifar10_binary_dir(path, options.split)
                                      : load_cifar10_binary(path);
      break;
    case DatasetFormat::kImageFolder: {
      ImageFolderOptions image_options;
      image_options.max_per_class = options.max_per_class;
      image_options.seed = options.seed;
      ds = load_image_folder(path, image_options);
      break;
    }
    case DatasetFormat::kUci:
      ds = load_uci(path).data;
      break;
    case DatasetFormat::kAuto:
      NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, false, "unresolved data set format");
  }
  return ds;
}

// ---------------------------------------------------------------------------------------------------------------

Standardizer Standardizer::fit(const Tensor& x) {
  NTK_THROW_IF_NOT(x.rank() >= 2 && x.rows() > 0,
                   "Standardizer::fit needs a non-empty (N, ...) array, got %s", x.shape_string().c_str());
  Standardizer s;
  s.per_channel = x.rank() == 4;
  const int64_t f = s.per_channel ? x.shape[3] : x.row_size();
  const int64_t groups = x.size() / f;  // samples per feature
  s.mean.assign(static_cast<size_t>(f), 0.0);
  s.scale.assign(static_cast<size_t>(f), 0.0);
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t j = 0; j < f; ++j) s.mean[j] += x.data[static_cast<size_t>(g * f + j)];
  }
  for (double& m : s.mean) m /= static_cast<double>(groups);
  // Two passes (mean, then squared deviations): the one-pass formula loses digits when |mean| >> std.
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t j = 0; j < f; ++j) {
      const double d = x.data[static_cast<size_t>(g * f + j)] - s.mean[j];
      s.scale[j] += d * d;
    }
  }
  for (double& v : s.scale) {
    v = std::sqrt(v / static_cast<double>(groups));
    if (!(v > 1e-12)) v = 1.0;  // constant feature: centre it, do not blow it up
  }
  return s;
}

void Standardizer::apply_inplace(Tensor& x) const {
  const int64_t f = static_cast<int64_t>(mean.size());
  const int64_t have = per_channel ? (x.rank() == 4 ? x.shape[3] : -1) : x.row_size();
  NTK_THROW_IF_NOT(have == f, "Standardizer fitted on %lld %s cannot be applied to shape %s",
                   static_cast<long long>(f), per_channel ? "channels" : "features",
                   x.shape_string().c_str());
  for (size_t i = 0; i < x.data.size(); ++i) {
    const size_t j = i % static_cast<size_t>(f);
    x.data[i] = (x.data[i] - mean[j]) / scale[j];
  }
}

Tensor Standardizer::apply(const Tensor& x) const {
  Tensor out = x;
  apply_inplace(out);
  return out;
}

Tensor downsample_images(const Tensor& x, int64_t factor) {
  NTK_THROW_IF_NOT(x.rank() == 4, "downsample_images needs (N, H, W, C) images, got shape %s",
                   x.shape_string().c_str());
  NTK_THROW_IF_NOT(factor >= 1, "downsample factor must be >= 1, got %lld", static_cast<long long>(factor));
  const int64_t n = x.shape[0], h = x.shape[1], w = x.shape[2], c = x.shape[3];
  NTK_THROW_IF_NOT(h % factor == 0 && w % factor == 0,
                   "cannot downsample %lldx%lld images by %lld: not divisible", static_cast<long long>(h),
                   static_cast<long long>(w), static_cast<long long>(factor));
  const int64_t oh = h / factor, ow = w / factor;
  Tensor out({n, oh, ow, c});
  const double inv = 1.0 / static_cast<double>(factor * factor);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t y = 0; y < oh; ++y) {
      for (int64_t xo = 0; xo < ow; ++xo) {
        double* dst = out.data.data() + ((i * oh + y) * ow + xo) * c;
        for (int64_t dy = 0; dy < factor; ++dy) {
          for (int64_t dx = 0; dx < factor; ++dx) {
            const double* src = x.data.data() + ((i * h + y * factor + dy) * w + xo * factor + dx) * c;
            for (int64_t k = 0; k < c; ++k) dst[k] += src[k];
          }
        }
        for (int64_t k = 0; k < c; ++k) dst[k] *= inv;
      }
    }
  }
  return out;
}

}  // namespace ntk::io
