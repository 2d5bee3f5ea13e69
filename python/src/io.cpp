// Bindings of the data loaders (ntk::io).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common.h"
#include "ntk/error.h"
#include "ntk/io.h"

namespace ntk::py_bindings {
namespace {

py::tuple dataset_tuple(io::Dataset&& d) {
  return py::make_tuple(own_tensor(std::move(d.x)), int_array(d.labels), d.class_names);
}

}  // namespace

void init_io(py::module_& m) {
  m.def("load_array", [](const std::string& p) { return own_tensor(io::load_array(p)); });
  m.def("load_npy", [](const std::string& p) { return own_tensor(io::load_npy(p)); });
  m.def("save_npy", [](const std::string& p, const DArr& a, const std::string& dtype) {
    io::save_npy(p, to_tensor(a), parse_dtype(dtype));
  });
  m.def("load_csv", [](const std::string& p, std::optional<int64_t> label_column,
                       const std::string& delimiter) {
    io::CsvOptions o;
    o.has_labels = label_column.has_value();
    if (label_column) o.label_column = *label_column;
    NTK_THROW_IF_NOT(delimiter.size() <= 1, "delimiter must be one character, got '%s'", delimiter.c_str());
    o.delimiter = delimiter.empty() ? 0 : delimiter[0];
    io::CsvData d = io::load_csv(p, o);
    std::vector<double> lab = d.labels;
    return py::make_tuple(own_tensor(std::move(d.x)),
                          own_vector(std::move(lab), {static_cast<int64_t>(d.labels.size())}), d.header,
                          d.class_names);
  });
  m.def("load_idx", [](const std::string& p) { return own_tensor(io::load_idx(p)); });
  m.def("load_idx_images", [](const std::string& p) { return own_tensor(io::load_idx_images(p)); });
  m.def("load_idx_labels", [](const std::string& p) { return int_array(io::load_idx_labels(p)); });
  m.def("find_idx_labels_for", &io::find_idx_labels_for);
  m.def("load_libsvm", [](const std::string& p, int64_t num_features) {
    io::LibsvmData d = io::load_libsvm(p, num_features);
    std::vector<double> lab = d.labels;
    return py::make_tuple(own_tensor(std::move(d.x)),
                          own_vector(std::move(lab), {static_cast<int64_t>(d.labels.size())}));
  });
  m.def("load_cifar10_binary",
        [](const std::string& p) { return dataset_tuple(io::load_cifar10_binary(p)); });
  m.def("load_cifar10_binary_dir", [](const std::string& p, const std::string& split) {
    return dataset_tuple(io::load_cifar10_binary_dir(p, split));
  });
  m.def("load_image", [](const std::string& p) { return own_tensor(io::load_image(p)); });
  m.def("load_image_folder", [](const std::string& p, int64_t max_per_class, uint64_t seed) {
    io::ImageFolderOptions o;
    o.max_per_class = max_per_class;
    o.seed = seed;
    return dataset_tuple(io::load_image_folder(p, o));
  });
  m.def("load_uci", [](const std::string& p) {
    io::UciDataset u = io::load_uci(p);
    py::list folds;
    for (const auto& f : u.folds) folds.append(py::make_tuple(int_array(f.first), int_array(f.second)));
    return py::make_tuple(u.name, dataset_tuple(std::move(u.data)), int_array(u.train),
                          int_array(u.validation), folds);
  });
  m.def("load_dataset",
        [](const std::string& p, const std::string& format, int64_t label_column, int64_t num_features,
           const std::string& split, const std::string& labels_path, int64_t max_per_class, uint64_t seed) {
          io::DatasetOptions o;
          o.format = io::parse_dataset_format(format);
          o.label_column = label_column;
          o.num_features = num_features;
          o.split = split;
          o.labels_path = labels_path;
          o.max_per_class = max_per_class;
          o.seed = seed;
          return dataset_tuple(io::load_dataset(p, o));
        });
  m.def("downsample_images", [](const DArr& x, int64_t factor) {
    Tensor t = to_tensor(x);
    return own_tensor(io::downsample_images(t, factor));
  });
  m.def("standardizer_fit", [](const DArr& x) {
    io::Standardizer s = io::Standardizer::fit(to_tensor(x));
    return py::make_tuple(s.mean, s.scale, s.per_channel);
  });
}

}  // namespace ntk::py_bindings
