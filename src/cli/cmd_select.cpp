// ntk select: one-pass model selection over (depth, fixed layers L', C or diag_reg) for fully-connected NTKs.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "cli/command.h"
#include "cli/common.h"
#include "cli/labeled_data.h"
#include "cli/options.h"
#include "ntk/error.h"
#include "ntk/experiments_uci.h"
#include "ntk/io.h"
#include "ntk/solvers.h"

namespace ntk::cli {
namespace {

using json = nlohmann::json;

// The grid and the kernels are the library's option structs (SelectOptions, UciOptions), whose tables declare
// their flags; the rest is the command's own.
struct SelectArgs {
  std::string train, y_train, val, y_val, test, y_test, format = "auto", task = "classify", targets,
                                                        json_path, out;
  int64_t label_column = -1;
  int folds = 0;
  uint64_t seed = 0;
  SelectOptions select;
  experiments::UciOptions kernels;
  ContextOptions ctx;
};

// --targets off,on: the two options target_off and target_on in one flag.
std::string default_targets() {
  const SelectOptions s;
  return format_option_value(s.target_off) + "," + format_option_value(s.target_on);
}

Tensor stack_rows(const std::vector<const Tensor*>& parts) {
  int64_t n = 0;
  for (const Tensor* t : parts) n += t->rows();
  Tensor out({n, parts[0]->dim(1)});
  int64_t r = 0;
  for (const Tensor* t : parts) {
    std::copy(t->data.begin(), t->data.end(), out.data.begin() + r * out.dim(1));
    r += t->rows();
  }
  return out;
}

void run_select(const SelectArgs& a) {
  if (!a.json_path.empty()) check_output_path(a.json_path);
  if (!a.out.empty()) check_output_path(a.out);
  NTK_THROW_IF_NOT(a.val.empty() != (a.folds == 0), "give either --val FILE or --folds K (not both)");
  validate_flags(select_options(), a.select);
  validate_flags(experiments::uci_options(), a.kernels);
  NTK_THROW_IF_NOT(a.kernels.max_depth >= a.kernels.min_depth, "--max-depth (%d) must be >= --min-depth (%d)",
                   a.kernels.max_depth, a.kernels.min_depth);
  const SelectMethod method = a.select.method;
  const bool classify = method == SelectMethod::kSvm || a.task == "classify";
  NTK_THROW_IF_NOT(a.out.empty() || !a.test.empty(), "--out needs --test");

  DataOptions dopt{a.format, a.label_column};
  LabeledData tr = load_labeled(a.train, a.y_train, dopt);
  NTK_THROW_IF_NOT(tr.y.size() > 0, "%s: no training targets (.npy inputs need --y-train)", a.train.c_str());
  LabeledData va, te;
  if (!a.val.empty()) va = load_labeled(a.val, a.y_val, dopt, tr.x.dim(1), a.train);
  if (!a.test.empty()) te = load_labeled(a.test, a.y_test, dopt, tr.x.dim(1), a.train);
  NTK_THROW_IF_NOT(a.val.empty() || va.y.size() > 0, "%s: no validation targets (--y-val)", a.val.c_str());

  // All rows in one kernel: train, then validation, then test.
  const int64_t ntr = tr.x.rows(), nva = a.val.empty() ? 0 : va.x.rows(),
                nte = a.test.empty() ? 0 : te.x.rows();
  std::vector<const Tensor*> parts = {&tr.x};
  if (nva) parts.push_back(&va.x);
  if (nte) parts.push_back(&te.x);
  Tensor x = stack_rows(parts);

  std::vector<int> labels;
  Matrix targets;
  std::vector<int> test_labels;
  if (classify) {
    labels = class_labels(tr);
    if (nva) {
      std::vector<int> v = class_labels(va);
      labels.insert(labels.end(), v.begin(), v.end());
    }
    if (nte && te.y.size() > 0) test_labels = class_labels(te);
    NTK_THROW_IF_NOT(distinct_classes(labels) >= 2,
                     "%s: the labels hold a single class; classification needs at "
                     "least two",
                     tr.targets_path.c_str());
    labels.resize(static_cast<size_t>(ntr + nva + nte), 0);  // test rows are never scored during selection
  } else {
    targets.resize(ntr + nva + nte, tr.y.cols());
    targets.setZero();
    targets.topRows(ntr) = tr.y;
    if (nva) {
      NTK_THROW_IF_NOT(va.y.cols() == tr.y.cols(), "%s: %lld target columns, training has %lld",
                       va.targets_path.c_str(), static_cast<long long>(va.y.cols()),
                       static_cast<long long>(tr.y.cols()));
      targets.middleRows(ntr, nva) = va.y;
    }
  }

  std::vector<Split> splits;
  if (nva) {
    Split s;
    s.train.resize(static_cast<size_t>(ntr));
    std::iota(s.train.begin(), s.train.end(), 0);
    s.test.resize(static_cast<size_t>(nva));
    std::iota(s.test.begin(), s.test.end(), ntr);
    splits.push_back(s);
  } else {
    splits = kfold_splits(ntr, a.folds, true, a.seed);
  }

  experiments::UciOptions ko = a.kernels;
  ko.arora_scale = false;  // neural-tangents' first layer x.x'/d
  ko.ctx = a.ctx.make();
  std::vector<DepthKernel> kernels = experiments::fc_grid_kernels(x, ko);

  SelectOptions so = a.select;
  so.classification = classify;
  {
    double off = 0, on = 1;
    char extra = 0;
    const std::string targets = a.targets.empty() ? default_targets() : a.targets;
    NTK_THROW_IF_NOT(std::sscanf(targets.c_str(), "%lf,%lf%c", &off, &on, &extra) == 2 && off != on,
                     "--targets: expected 'off,on', got '%s'", targets.c_str());
    so.target_off = off;
    so.target_on = on;
  }
  so.ctx = ko.ctx;
  Selection sel = select_model(kernels, labels, targets, splits, so);

  const char* value_name = method == SelectMethod::kSvm ? "C" : "diag_reg";
  const char* score_name = classify ? "accuracy" : "-MSE";
  std::printf("%6s %4s %10s %12s\n", "depth", "L'", value_name, score_name);
  json grid = json::array();
  for (const GridScore& g : sel.grid) {
    std::printf("%6d %4d %10g %12.6g\n", g.depth, g.fixed, g.value, g.score);
    grid.push_back({{"depth", g.depth}, {"fixed", g.fixed}, {value_name, g.value}, {"score", g.score}});
  }
  std::printf("best: depth %d, L' %d, %s %g, %s %.6g (%s)\n", sel.best.depth, sel.best.fixed, value_name,
              sel.best.value, score_name, sel.best.score,
              nva ? "validation split" : strprintf("%d-fold CV", a.folds).c_str());
  json report = {{"method", select_method_name(method)},
                 {"score", score_name},
                 {"selection", nva ? "validation" : strprintf("%d-fold", a.folds)},
                 {"grid", grid},
                 {"best",
                  {{"depth", sel.best.depth},
                   {"fixed", sel.best.fixed},
                   {value_name, sel.best.value},
                   {"score", sel.best.score}}}};

  if (nte) {
    // Refit the best model on the training rows (the whole training file in k-fold mode) and predict the
    // test.
    const Matrix* best = nullptr;
    for (const DepthKernel& k : kernels)
      if (k.depth == sel.best.depth && k.fixed == sel.best.fixed) best = &k.ntk;
    std::vector<int64_t> rtr(static_cast<size_t>(ntr)), rte(static_cast<size_t>(nte));
    std::iota(rtr.begin(), rtr.end(), 0);
    std::iota(rte.begin(), rte.end(), ntr + nva);
    const Matrix ktt = submatrix(*best, rtr, rtr), kte = submatrix(*best, rte, rtr);
    Matrix pred;
    std::vector<int> lp;
    if (method == SelectMethod::kSvm) {
      PrecomputedSvm svm;
      SvmOptions o;
      o.C = sel.best.value;
      svm.fit(ktt, std::vector<int>(labels.begin(), labels.begin() + ntr), o);
      lp = svm.predict(kte);
    } else {
      RegOptions reg;
      reg.diag_reg = sel.best.value;
      reg.absolute = so.absolute_reg;
      std::vector<int> ltr(labels.begin(), labels.begin() + (classify ? ntr : 0));
      Matrix y = classify ? one_hot(ltr, count_classes(ltr), so.target_off, so.target_on) : Matrix(tr.y);
      SolveInfo info;
      pred = kte * cholesky_solve(ktt, y, reg, &info);
      print_warning(info.warning);
      if (classify) lp = argmax_rows(pred);
    }
    if (classify && !test_labels.empty()) {
      const double acc = accuracy(lp, test_labels);
      std::printf("test accuracy: %.4f\n", acc);
      report["test_accuracy"] = acc;
    } else if (!classify && te.y.size() > 0) {
      const double mse = mean_squared_error(pred, te.y);
      std::printf("test MSE: %.6g\n", mse);
      report["test_mse"] = mse;
    }
    if (!a.out.empty()) {
      if (classify) {
        Matrix l(static_cast<Eigen::Index>(lp.size()), 1);
        for (size_t i = 0; i < lp.size(); ++i) l(static_cast<Eigen::Index>(i), 0) = lp[i];
        save_table(a.out, l);
      } else {
        save_table(a.out, pred);
      }
    }
  }
  if (!a.json_path.empty()) {
    write_json_file(a.json_path, report);
  }
}

void register_select(CLI::App& app) {
  auto a = std::make_shared<SelectArgs>();
  CLI::App* cmd = app.add_subcommand(
      "select",
      "choose depth, fixed layers L' and C / diag_reg for a fully-connected NTK from one kernel pass");
  cmd->footer(
      "The network is repeat(depth, dense(w_std, b_std), activation), dense(w_std, b_std) with the bottom "
      "L'\n"
      "dense layers fixed (trainable=false). One run of the layer recursion gives every (depth, L') kernel, "
      "so\n"
      "the grid costs one kernel computation. Scores: accuracy (classification) or -MSE (regression), on "
      "the\n"
      "--val split or averaged over --folds K.\n\n"
      "Examples:\n"
      "  ntk select --train train.csv --val val.csv --max-depth 5 --method svm --values 0.01,1,100\n"
      "  ntk select --train x.npy --y-train y.npy --folds 5 --method regression --task regress --json "
      "grid.json\n"
      "  ntk select --train train.csv --folds 4 --test test.csv --out pred.csv");
  cmd->add_option("--train", a->train, "training data (CSV, LIBSVM or .npy)")->required();
  cmd->add_option("--y-train", a->y_train, "training targets for .npy inputs");
  cmd->add_option("--val", a->val, "validation data (select on this split)");
  cmd->add_option("--y-val", a->y_val, "validation targets for .npy inputs");
  cmd->add_option("--folds", a->folds, "select by K-fold cross-validation on the training data instead");
  cmd->add_option("--seed", a->seed, "shuffling seed of the folds")->capture_default_str();
  cmd->add_option("--test", a->test, "test data: refit the best model on the training data and predict it");
  cmd->add_option("--y-test", a->y_test, "test targets for .npy inputs");
  cmd->add_option("--format", a->format, "data format: auto | csv | libsvm | npy")->capture_default_str();
  cmd->add_option("--label-column", a->label_column, "CSV label column")->capture_default_str();
  add_options(cmd, select_options(), a->select, {"method"});
  cmd->add_option("--task", a->task, "regression method: classify (one-hot, accuracy) | regress (MSE)")
      ->capture_default_str()
      ->check(CLI::IsMember({"classify", "regress"}));
  add_options(cmd, select_options(), a->select, {"values", "reg_absolute"});
  cmd->add_option("--targets", a->targets,
                  "one-hot targets off,on for regression classification (target_off, target_on)")
      ->default_str(default_targets());
  add_options(cmd, experiments::uci_options(), a->kernels,
              {"min_depth", "max_depth", "activation", "w_std", "b_std"});
  cmd->add_option("--json", a->json_path, "write the grid and the choice as JSON");
  cmd->add_option("--out", a->out, "test predictions (.npy or CSV)");
  a->ctx.add_to(cmd, false);
  cmd->callback([a]() { run_select(*a); });
}

NTK_REGISTER_COMMAND(45, register_select);

}  // namespace
}  // namespace ntk::cli
