// The equivalence experiment's data preparation: a data set loaded (or given) and turned into balanced,
// seeded, disjoint training and test subsets, downsampled, standardised, with targets (see
// ntk/equivalence.h).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <numeric>
#include <random>

#include "ntk/equivalence.h"
#include "ntk/error.h"

namespace ntk {

namespace {

std::string basename_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The two options of io::DatasetOptions the experiment offers.
const OptionTable<io::DatasetOptions>& dataset_options() {
  static const OptionTable<io::DatasetOptions> table = [] {
    using io::DatasetFormat;
    using O = io::DatasetOptions;
    OptionTable<O> t;
    t.add_choice("format", &O::format,
                 std::vector<std::pair<std::string, DatasetFormat>>{{"auto", DatasetFormat::kAuto},
                                                                    {"npy", DatasetFormat::kNpy},
                                                                    {"csv", DatasetFormat::kCsv},
                                                                    {"libsvm", DatasetFormat::kLibsvm},
                                                                    {"idx", DatasetFormat::kIdx},
                                                                    {"cifar10", DatasetFormat::kCifar10},
                                                                    {"images", DatasetFormat::kImageFolder},
                                                                    {"uci", DatasetFormat::kUci}},
                 "data format (auto: by extension and content)");
    t.add("labels", &O::labels_path,
          "labels file for .npy / IDX inputs (IDX labels are found automatically)");
    return t;
  }();
  return table;
}

}  // namespace

const OptionTable<EquivalenceDataOptions>& equivalence_data_options() {
  static const OptionTable<EquivalenceDataOptions> table = [] {
    using D = EquivalenceDataOptions;
    OptionTable<D> t;
    t.add("data", &D::path, "data set: IDX, CIFAR-10 bin, image folder, LIBSVM, CSV, .npy (+ labels)");
    t.include(dataset_options(), &D::dataset, {"format", "labels"});
    t.add("classes", &D::classes, "labels to keep, in this order (empty: the first num_classes labels)")
        .at_least(0);
    t.add("num_classes", &D::num_classes,
          "number of classes kept (the first ones) when classes is empty; two classes train one output with "
          "targets ±1 unless one_hot")
        .at_least(2);
    t.add("n_train", &D::n_train, "training examples (balanced over the classes)").at_least(1).cli("--train");
    t.add("n_test", &D::n_test, "test examples (disjoint from the training ones)").at_least(1).cli("--test");
    t.add("downsample", &D::downsample, "average-pool images by this factor (1: none)").at_least(1);
    t.add("standardize", &D::standardize,
          "example: centre and scale each example to unit variance | feature: per-feature standardisation "
          "fitted on the training rows | none")
        .one_of({"example", "feature", "none"});
    t.add("one_hot", &D::one_hot, "one output per class (centred one-hot targets) even for two classes");
    t.add("data_seed", &D::seed, "seed choosing the training and test examples");
    return t;
  }();
  return table;
}

EquivalenceData make_equivalence_data(const io::Dataset& ds, const EquivalenceDataOptions& o,
                                      const std::string& name) {
  NTK_THROW_IF_NOT(ds.x.rank() == 2 || ds.x.rank() == 4, "%s: expected (N, d) or (N, H, W, C) inputs, got %s",
                   name.c_str(), ds.x.shape_string().c_str());
  NTK_THROW_IF_NOT(static_cast<int64_t>(ds.labels.size()) == ds.x.rows(), "%s: %zu labels for %lld examples",
                   name.c_str(), ds.labels.size(), (long long)ds.x.rows());
  equivalence_data_options().validate(o);

  std::vector<int64_t> classes = o.classes;
  if (classes.empty())
    for (int c = 0; c < o.num_classes; ++c) classes.push_back(c);
  NTK_THROW_IF_NOT(classes.size() >= 2, "classes: at least two classes are needed, got %zu", classes.size());
  const int64_t K = static_cast<int64_t>(classes.size());
  std::vector<std::vector<int64_t>> rows_of(K);
  for (int64_t i = 0; i < ds.x.rows(); ++i)
    for (int64_t c = 0; c < K; ++c)
      if (ds.labels[i] == classes[c]) rows_of[c].push_back(i);

  std::vector<int64_t> train_rows, test_rows;
  std::vector<int> train_cls, test_cls;
  for (int64_t c = 0; c < K; ++c) {
    const int64_t ntr = o.n_train / K + (c < o.n_train % K ? 1 : 0);
    const int64_t nte = o.n_test / K + (c < o.n_test % K ? 1 : 0);
    NTK_THROW_IF_NOT(static_cast<int64_t>(rows_of[c].size()) >= ntr + nte,
                     "%s: class %lld has %zu examples, %lld train + %lld test requested", name.c_str(),
                     (long long)classes[c], rows_of[c].size(), (long long)ntr, (long long)nte);
    std::seed_seq seq{static_cast<uint32_t>(o.seed), static_cast<uint32_t>(o.seed >> 32),
                      static_cast<uint32_t>(classes[c])};
    std::mt19937_64 rng(seq);
    std::shuffle(rows_of[c].begin(), rows_of[c].end(), rng);
    for (int64_t i = 0; i < ntr; ++i)
      train_rows.push_back(rows_of[c][i]), train_cls.push_back(static_cast<int>(c));
    for (int64_t i = 0; i < nte; ++i)
      test_rows.push_back(rows_of[c][ntr + i]), test_cls.push_back(static_cast<int>(c));
  }
  // Interleave the classes (one seeded permutation of each split) so that any prefix is balanced-ish.
  auto permute = [&](std::vector<int64_t>& rows, std::vector<int>& cls, uint32_t salt) {
    std::vector<size_t> perm(rows.size());
    std::iota(perm.begin(), perm.end(), 0);
    std::seed_seq seq{static_cast<uint32_t>(o.seed), static_cast<uint32_t>(o.seed >> 32), salt};
    std::mt19937_64 rng(seq);
    std::shuffle(perm.begin(), perm.end(), rng);
    std::vector<int64_t> r2;
    std::vector<int> c2;
    for (size_t p : perm) r2.push_back(rows[p]), c2.push_back(cls[p]);
    rows.swap(r2);
    cls.swap(c2);
  };
  permute(train_rows, train_cls, 0x7a11u);
  permute(test_rows, test_cls, 0x7e57u);

  EquivalenceData d;
  d.x_train = ds.x.select_rows(train_rows);
  d.x_test = ds.x.select_rows(test_rows);
  d.labels_train = train_cls;
  d.labels_test = test_cls;
  d.num_classes = static_cast<int>(K);
  // IDX files carry no class names: Fashion-MNIST's are well known.
  static const char* kFashionNames[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                        "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char ch) { return std::tolower(ch); });
  const bool fashion = lower.find("fashion") != std::string::npos;
  for (int64_t c = 0; c < K; ++c) {
    const std::string num = std::to_string(classes[c]);
    std::string cn;
    if (classes[c] >= 0 && classes[c] < static_cast<int64_t>(ds.class_names.size()) &&
        ds.class_names[classes[c]] != num)
      cn = ds.class_names[classes[c]];
    else if (fashion && classes[c] >= 0 && classes[c] < 10)
      cn = kFashionNames[classes[c]];
    d.class_names.push_back(cn.empty() ? num : num + " (" + cn + ")");
  }

  std::string prep;
  if (d.x_train.rank() == 4 && o.downsample > 1) {
    d.x_train = io::downsample_images(d.x_train, o.downsample);
    d.x_test = io::downsample_images(d.x_test, o.downsample);
    prep += strprintf(", downsampled by %lld", (long long)o.downsample);
  }
  if (o.standardize == "feature") {
    // Per feature (every pixel and channel of an image is a feature), fitted on the training rows.
    const std::vector<int64_t> shape_tr = d.x_train.shape, shape_te = d.x_test.shape;
    Tensor a({d.x_train.rows(), d.x_train.row_size()}, d.x_train.data);
    Tensor b({d.x_test.rows(), d.x_test.row_size()}, d.x_test.data);
    io::Standardizer st = io::Standardizer::fit(a);
    st.apply_inplace(a);
    st.apply_inplace(b);
    d.x_train = Tensor(shape_tr, std::move(a.data));
    d.x_test = Tensor(shape_te, std::move(b.data));
    prep += ", standardised per feature";
  } else if (o.standardize == "example") {
    for (Tensor* t : {&d.x_train, &d.x_test}) {
      const int64_t f = t->row_size();
      for (int64_t i = 0; i < t->rows(); ++i) {
        double* r = t->row(i);
        double mean = 0, var = 0;
        for (int64_t j = 0; j < f; ++j) mean += r[j];
        mean /= f;
        for (int64_t j = 0; j < f; ++j) var += (r[j] - mean) * (r[j] - mean);
        const double sd = std::sqrt(var / f);
        const double scale = sd > 0 ? 1.0 / sd : 1.0;
        for (int64_t j = 0; j < f; ++j) r[j] = (r[j] - mean) * scale;
      }
    }
    prep += ", standardised per example";
  }

  d.scalar_targets = K == 2 && !o.one_hot;
  const int64_t outs = d.scalar_targets ? 1 : K;
  auto targets = [&](const std::vector<int>& cls) {
    Matrix y(static_cast<int64_t>(cls.size()), outs);
    for (size_t i = 0; i < cls.size(); ++i) {
      if (d.scalar_targets) {
        y(i, 0) = cls[i] == 1 ? 1.0 : -1.0;
      } else {
        y.row(i).setConstant(-1.0 / K);
        y(i, cls[i]) += 1.0;
      }
    }
    return y;
  };
  d.y_train = targets(d.labels_train);
  d.y_test = targets(d.labels_test);

  std::string cls;
  for (size_t c = 0; c < d.class_names.size(); ++c) cls += (c ? ", " : "") + d.class_names[c];
  std::string shape = d.x_train.shape_string();
  shape = "(" + shape.substr(shape.find(',') + 2);  // drop N
  d.description =
      strprintf("%s: classes %s; %lld train / %lld test examples of shape %s%s; %s targets", name.c_str(),
                cls.c_str(), (long long)d.x_train.rows(), (long long)d.x_test.rows(), shape.c_str(),
                prep.c_str(), d.scalar_targets ? "scalar ±1" : "centred one-hot");
  return d;
}

EquivalenceData load_equivalence_data(const EquivalenceDataOptions& options) {
  io::Dataset ds = io::load_dataset(options.path, options.dataset);
  // Name the data set by its folder and file ("fashion-mnist/train-images-idx3-ubyte.gz").
  std::string name = basename_of(options.path);
  const auto slash = options.path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) name = basename_of(options.path.substr(0, slash)) + "/" + name;
  return make_equivalence_data(ds, options, name);
}

}  // namespace ntk
