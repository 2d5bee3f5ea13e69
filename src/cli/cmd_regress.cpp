// ntk regress: kernel regression / classification with the exact NTK or NNGP of an architecture.
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/common.h"
#include "cli/labeled_data.h"
#include "cli/options.h"
#include "ntk/arch.h"
#include "ntk/cg.h"
#include "ntk/distributed.h"
#include "ntk/error.h"
#include "ntk/io.h"
#include "ntk/kernel_file.h"
#include "ntk/solvers.h"
#include "ntk/tiled_job.h"
#include "ntk/version.h"

namespace ntk::cli {
namespace {

using json = nlohmann::json;

// The prediction's numbers are the library's option structs (PredictOptions, SvmOptions), whose tables
// declare their flags; the rest is the command's own.
struct RegressArgs {
  std::string arch, train, test, y_train, y_test, format = "auto", solver = "exact", kernel = "ntk",
                                                  task = "auto", targets, parameterization = "ntk", out,
                                                  scores, variance_out, cache;
  int64_t label_column = -1;
  PredictOptions predict;
  SvmOptions svm;
  double cg_tolerance = 1e-8;
  int cg_max_iterations = 1000;
  int64_t cg_rank = 100;
  bool refresh_cache = false;
  ContextOptions ctx;
};

// --targets off,on: the two options target_off and target_on in one flag.
std::string default_targets() {
  const PredictOptions p;
  return format_option_value(p.target_off) + "," + format_option_value(p.target_on);
}

struct KernelBlocks {
  Matrix nngp_dd, ntk_dd, nngp_td, ntk_td, nngp_tt, ntk_tt;
};

bool file_exists(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0;
}

Matrix load_matrix(const std::string& path, int64_t rows, int64_t cols) {
  Tensor t = io::load_npy(path);
  NTK_THROW_IF_NOT(t.rank() == 2 && t.dim(0) == rows && t.dim(1) == cols,
                   "%s: cached kernel has shape %s, expected (%lld, %lld); use --refresh-cache", path.c_str(),
                   t.shape_string().c_str(), static_cast<long long>(rows), static_cast<long long>(cols));
  return Eigen::Map<const Matrix>(t.data.data(), rows, cols);
}

// Computes (or reuses from --kernel-cache) the NNGP and NTK blocks. The cache holds .npy files plus
// kernels.json recording the architecture, parameterization and checksums of the inputs: a cache made for
// other inputs or another architecture is refused rather than silently reused.
// The cache's description for this run, after checking that an existing one describes the same run.
json check_kernel_cache(const RegressArgs& a, const Tensor& xtr, const Tensor& xte) {
  json meta = {{"arch", a.arch},
               {"parameterization", a.parameterization},
               {"train_checksum", tensor_checksum(xtr)},
               {"train_shape", xtr.shape},
               {"test_checksum", tensor_checksum(xte)},
               {"test_shape", xte.shape}};
  const std::string meta_path = a.cache.empty() ? "" : a.cache + "/kernels.json";
  if (!a.cache.empty()) {
    mkdir(a.cache.c_str(), 0755);
    struct stat st {};
    NTK_THROW_IF_NOT(stat(a.cache.c_str(), &st) == 0 && S_ISDIR(st.st_mode),
                     "%s: cannot create the kernel cache "
                     "folder",
                     a.cache.c_str());
    if (file_exists(meta_path) && !a.refresh_cache) {
      json old;
      try {
        std::ifstream(meta_path) >> old;
      } catch (const std::exception& e) {
        NTK_THROW("%s: unreadable kernel cache description (%s); use --refresh-cache", meta_path.c_str(),
                  e.what());
      }
      for (const char* key :
           {"arch", "parameterization", "train_checksum", "train_shape", "test_checksum", "test_shape"}) {
        NTK_THROW_IF_NOT(
            old.contains(key) && old[key] == meta[key],
            "%s: stale kernel cache: its %s (%s) differs from this run's (%s); use --refresh-cache or "
            "another --kernel-cache folder",
            meta_path.c_str(), key, old.contains(key) ? old[key].dump().c_str() : "missing",
            meta[key].dump().c_str());
      }
    }
  }
  return meta;
}

KernelBlocks get_kernels(const RegressArgs& a, const Tensor& xtr, const Tensor& xte, bool need_tt,
                         const Context& ctx) {
  KernelOptions opt;
  opt.parameterization = parse_parameterization(a.parameterization);
  opt.ctx = ctx;
  const Architecture arch = Architecture::parse(a.arch);
  json meta = check_kernel_cache(a, xtr, xte);
  const std::string meta_path = a.cache.empty() ? "" : a.cache + "/kernels.json";
  KernelBlocks k;
  auto block = [&](const char* name, const Tensor& x1, const Tensor* x2, Matrix& nngp, Matrix& ntk) {
    const int64_t rows = x1.rows(), cols = x2 ? x2->rows() : x1.rows();
    const std::string base = a.cache.empty() ? "" : a.cache + "/" + name;
    if (!a.cache.empty() && !a.refresh_cache && file_exists(base + ".ntk.npy") &&
        file_exists(base + ".nngp.npy") && file_exists(meta_path)) {
      nngp = load_matrix(base + ".nngp.npy", rows, cols);
      ntk = load_matrix(base + ".ntk.npy", rows, cols);
      std::fprintf(stderr, "ntk: reusing cached %s kernels from %s\n", name, a.cache.c_str());
      return;
    }
    Kernels kk = compute_kernels(arch, x1, x2, opt);
    nngp = std::move(kk.nngp);
    ntk = std::move(kk.ntk);
    if (!a.cache.empty()) {
      save_matrix_npy(base + ".nngp.npy", nngp, DType::kFloat64);
      save_matrix_npy(base + ".ntk.npy", ntk, DType::kFloat64);
    }
  };
  if (!a.cache.empty() && a.refresh_cache) std::remove(meta_path.c_str());
  block("train_train", xtr, nullptr, k.nngp_dd, k.ntk_dd);
  block("test_train", xte, &xtr, k.nngp_td, k.ntk_td);
  if (need_tt) block("test_test", xte, nullptr, k.nngp_tt, k.ntk_tt);
  if (!a.cache.empty()) {
    meta["ntk_version"] = NTK_VERSION_STRING;
    write_json_file(meta_path, meta);
  }
  return k;
}

// --solver cg: the training and test-train kernels are tiled jobs (memory-mapped .npy files, resumable,
// shared by MPI ranks) in the --kernel-cache folder or a temporary one; conjugate gradient and the
// predictions read them in row panels, so neither kernel needs to fit in memory.
Matrix cg_predict(const RegressArgs& a, const Tensor& xtr, const Tensor& xte, const Matrix& ytr,
                  const RegOptions& reg, const Context& ctx, dist::Communicator& world) {
  const bool lead = world.rank() == 0;
  std::string dir = a.cache;
  json meta;
  if (dir.empty()) {
    // One temporary folder for every rank: rank 0 names it (on one machine, or a shared TMPDIR).
    char name[4096] = {0};
    if (lead) {
      const char* tmp = std::getenv("TMPDIR");
      std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/ntk-cg-XXXXXX";
      std::vector<char> buf(templ.begin(), templ.end());
      buf.push_back(0);
      if (mkdtemp(buf.data()) && buf.size() < sizeof name) std::memcpy(name, buf.data(), buf.size());
    }
    world.broadcast(name, sizeof name, 0);
    NTK_THROW_KIND_IF_NOT(ErrorKind::kIo, name[0] != 0,
                          "cannot create a temporary folder for the cg kernels "
                          "(set TMPDIR or use --kernel-cache)");
    dir = name;
  } else {
    if (lead) meta = check_kernel_cache(a, xtr, xte);
    world.barrier();  // the folder exists before the others look into it
  }
  struct TempDir {
    std::string path;
    ~TempDir() {
      std::error_code ec;
      if (!path.empty()) std::filesystem::remove_all(path, ec);
    }
  } temp_dir{a.cache.empty() && lead ? dir : ""};

  const Architecture arch = Architecture::parse(a.arch);
  KernelOptions opt;
  opt.parameterization = parse_parameterization(a.parameterization);
  opt.ctx = ctx;
  if (!lead) opt.ctx.progress = false;
  auto kernel_file = [&](const char* name, const Tensor& x1, const Tensor* x2) {
    const std::string path = dir + "/" + name + "." + a.kernel + ".npy";
    if (!a.cache.empty() && !a.refresh_cache && file_exists(path) && file_exists(dir + "/kernels.json")) {
      if (lead) std::fprintf(stderr, "ntk: reusing cached %s kernel %s\n", name, path.c_str());
      return path;
    }
    TiledJobOptions job;
    job.out_path = path;
    job.want_ntk = a.kernel == "ntk";
    job.resume = true;  // a killed run's finished tiles are kept
    if (world.size() > 1) job.team = &world;
    run_tiled_kernel_job(arch, x1, x2, opt, job);
    return path;
  };
  const std::string train_path = kernel_file("train_train", xtr, nullptr);
  const std::string test_path = kernel_file("test_train", xte, &xtr);
  if (lead && !a.cache.empty()) {
    meta["ntk_version"] = NTK_VERSION_STRING;
    write_json_file(dir + "/kernels.json", meta);
  }

  RowSharing sharing;
  sharing.rank = world.rank();
  sharing.size = world.size();
  sharing.threads = ctx.num_threads();
  sharing.sum_in_place = [&world](double* d, int64_t n) { world.sum_in_place(d, n); };
  CgOptions co;
  co.tolerance = a.cg_tolerance;
  co.max_iterations = a.cg_max_iterations;
  co.preconditioner_rank = a.cg_rank;
  CgReport rep;
  const KernelFile ktrain(train_path);
  const Matrix alpha = conjugate_gradient_solve(ktrain, ytr, reg, co, &rep, sharing);
  const KernelFile ktest(test_path);
  Matrix pred = multiply_shared(ktest, alpha, co.panel_rows, sharing);
  if (lead) {
    std::printf(
        "cg: converged in %d iterations, relative residual %.3g (tolerance %.3g), preconditioner rank "
        "%lld, %.2f s\n",
        rep.iterations, rep.final_residual, co.tolerance, static_cast<long long>(rep.preconditioner_rank),
        rep.seconds);
    std::string hist;
    for (size_t i = 0; i < rep.residuals.size(); ++i)
      hist += strprintf("%s%.3g", i ? " " : "", rep.residuals[i]);
    std::fprintf(stderr, "ntk: cg residuals by iteration: %s\n", hist.c_str());
  }
  return pred;
}

std::pair<double, double> parse_targets(const std::string& s) {
  double off = 0, on = 0;
  char extra = 0;
  NTK_THROW_IF_NOT(std::sscanf(s.c_str(), "%lf,%lf%c", &off, &on, &extra) == 2 && off != on,
                   "--targets: expected two different numbers 'off,on' (e.g. -0.1,0.9), got '%s'", s.c_str());
  return {off, on};
}

void run_regress(const RegressArgs& a) {
  for (const std::string* p : {&a.out, &a.scores, &a.variance_out})
    if (!p->empty()) check_output_path(*p);
  const bool gp = a.solver == "nngp-gp" || a.solver == "ntk-gp";
  NTK_THROW_IF_NOT(a.variance_out.empty() || gp, "--variance-out needs --solver nngp-gp or ntk-gp");
  validate_flags(predict_options(), a.predict);
  validate_flags(svm_options(), a.svm);
  Architecture::parse(a.arch);  // spec errors before loading data
  dist::Communicator& world = dist::world();
  const bool shared = world.size() > 1;
  NTK_THROW_IF_NOT(!shared || a.solver == "exact" || a.solver == "cg",
                   "--solver %s runs in one process; under mpirun use --solver exact (ScaLAPACK) or cg",
                   a.solver.c_str());
  NTK_THROW_IF_NOT(!shared || a.solver != "exact" || a.cache.empty(),
                   "--kernel-cache: the distributed exact solver never gathers the kernel, so it keeps no "
                   "kernel files; drop the option or use --solver cg");
  Context ctx = a.ctx.make();
  if (shared && a.ctx.threads == 0) ctx.threads = rank_threads(world);

  DataOptions dopt{a.format, a.label_column};
  LabeledData tr = load_labeled(a.train, a.y_train, dopt);
  NTK_THROW_IF_NOT(tr.y.size() > 0, "%s: no training targets (.npy inputs need --y-train)", a.train.c_str());
  LabeledData te = load_labeled(a.test, a.y_test, dopt, tr.x.dim(1), a.train);
  NTK_THROW_IF_NOT(te.y.size() == 0 || te.y.cols() == tr.y.cols(),
                   "%s: %lld target columns, the training targets (%s) have %lld", te.targets_path.c_str(),
                   static_cast<long long>(te.y.cols()), tr.targets_path.c_str(),
                   static_cast<long long>(tr.y.cols()));

  bool classify = a.task == "classify" || (a.task == "auto" && (looks_like_labels(tr) || a.solver == "svm"));
  NTK_THROW_IF_NOT(!(a.solver == "svm" && a.task == "regress"),
                   "--solver svm classifies; drop --task regress");
  std::vector<int> ytr_labels, yte_labels;
  Matrix ytr = tr.y;
  int classes = 0;
  if (classify) {
    ytr_labels = class_labels(tr);
    NTK_THROW_IF_NOT(distinct_classes(ytr_labels) >= 2,
                     "%s: the training labels hold a single class (%d); classification needs at least two",
                     tr.targets_path.c_str(), ytr_labels.front());
    if (te.y.size() > 0) yte_labels = class_labels(te);
    classes = std::max(count_classes(ytr_labels), count_classes(yte_labels));
    auto [off, on] = parse_targets(a.targets.empty() ? default_targets() : a.targets);
    ytr = one_hot(ytr_labels, classes, off, on);
  }

  const RegOptions& reg = a.predict.reg;
  const double lr = a.predict.learning_rate, time = a.predict.time;
  const bool in_memory = !(a.solver == "cg" || (a.solver == "exact" && shared));
  KernelBlocks k;
  if (in_memory) k = get_kernels(a, tr.x, te.x, gp && !a.variance_out.empty(), ctx);
  const Matrix& kdd = a.kernel == "ntk" ? k.ntk_dd : k.nngp_dd;
  const Matrix& ktd = a.kernel == "ntk" ? k.ntk_td : k.nngp_td;

  Matrix pred;      // (M, outputs) regression outputs / one-hot scores / SVM decision values
  Vector variance;  // GP solvers
  std::vector<int> labels_pred;
  if (a.solver == "cg") {
    pred = cg_predict(a, tr.x, te.x, ytr, reg, ctx, world);
  } else if (a.solver == "exact" && shared) {
    KernelOptions opt;
    opt.parameterization = parse_parameterization(a.parameterization);
    opt.ctx = ctx;
    opt.ctx.progress = false;
    opt.ntk = a.kernel == "ntk";
    opt.nngp = !opt.ntk;
    dist::DistributedSolveReport rep;
    pred = dist::scalapack_kernel_regression(world, Architecture::parse(a.arch), tr.x, te.x, ytr, opt, reg, 0,
                                             &rep);
    if (world.rank() == 0)
      std::fprintf(stderr,
                   "ntk: ScaLAPACK on a %d x %d process grid, blocks of %lld: kernel %.2f s, solve %.2f s\n",
                   rep.grid_rows, rep.grid_cols, static_cast<long long>(rep.block), rep.kernel_seconds,
                   rep.solve_seconds);
    if (world.rank() == 0) print_warning(rep.info.warning);
  } else if (a.solver == "exact") {
    SolveInfo info;
    pred = ktd * cholesky_solve(kdd, ytr, reg, &info);
    print_warning(info.warning);
  } else if (a.solver == "flow" || a.solver == "gd") {
    GradientFlow flow(kdd, lr, reg);
    pred = a.solver == "flow" ? flow.predict_test(time, ktd, ytr)
                              : flow.predict_test_steps(a.predict.steps, ktd, ytr);
    print_warning(flow.info().warning);
  } else if (a.solver == "nngp-gp") {
    GpPrediction g =
        nngp_posterior(k.nngp_dd, k.nngp_td, ytr, k.nngp_tt.size() ? &k.nngp_tt : nullptr, nullptr, reg);
    print_warning(g.info.warning);
    pred = g.mean;
    variance = g.variance;
  } else if (a.solver == "ntk-gp") {
    NtkGpEnsemble ens(k.ntk_dd, k.nngp_dd, lr, reg);
    GpPrediction g = ens.predict(time, k.ntk_td, k.nngp_td, ytr, k.nngp_tt.size() ? &k.nngp_tt : nullptr);
    print_warning(g.info.warning);
    pred = g.mean;
    variance = g.variance;
  } else {  // svm
    PrecomputedSvm svm;
    svm.fit(kdd, ytr_labels, a.svm);
    labels_pred = svm.predict(ktd);
    pred = svm.decision_function(ktd);
  }
  if (world.rank() != 0) return;  // the other ranks of an MPI job hold the same predictions
  if (classify && labels_pred.empty()) labels_pred = argmax_rows(pred);

  // Metrics.
  std::printf("train %lld x %lld, test %lld, solver %s, kernel %s\n", static_cast<long long>(tr.x.rows()),
              static_cast<long long>(tr.x.dim(1)), static_cast<long long>(te.x.rows()), a.solver.c_str(),
              a.solver == "nngp-gp"  ? "nngp"
              : a.solver == "ntk-gp" ? "ntk+nngp"
                                     : a.kernel.c_str());
  if (te.y.size() > 0) {
    if (classify) {
      if (a.solver != "svm") {
        auto [off, on] = parse_targets(a.targets.empty() ? default_targets() : a.targets);
        std::printf("test MSE (one-hot targets %g/%g): %.6g\n", off, on,
                    mean_squared_error(pred, one_hot(yte_labels, classes, off, on)));
      }
      std::printf("test accuracy: %.4f\n", accuracy(labels_pred, yte_labels));
    } else {
      std::printf("test MSE: %.6g\n", mean_squared_error(pred, te.y));
    }
  }
  if (!a.out.empty()) {
    if (classify) {
      Matrix l(static_cast<Eigen::Index>(labels_pred.size()), 1);
      for (size_t i = 0; i < labels_pred.size(); ++i) l(static_cast<Eigen::Index>(i), 0) = labels_pred[i];
      save_table(a.out, l);
    } else {
      save_table(a.out, pred);
    }
  }
  if (!a.scores.empty()) save_table(a.scores, pred);
  if (!a.variance_out.empty()) save_table(a.variance_out, Matrix(variance));
}

void register_regress(CLI::App& app) {
  auto a = std::make_shared<RegressArgs>();
  CLI::App* cmd = app.add_subcommand("regress",
                                     "predict with the exact NTK / NNGP: kernel regression, gradient "
                                     "flow, GP inference, one-hot or SVM classification");
  cmd->footer(
      "Data: CSV or LIBSVM files with a label column (--label-column for CSV, default last), or .npy inputs\n"
      "with --y-train / --y-test (.npy or CSV targets). Integer labels mean classification (--task auto).\n\n"
      "Solvers (docs/solvers.md):\n"
      "  exact    kernel regression K(x,X) (K + diag_reg)^-1 Y by Cholesky (gradient flow at t = inf);\n"
      "           under mpirun: ScaLAPACK over the ranks (docs/scaling.md)\n"
      "  cg       the same by preconditioned conjugate gradient on kernels kept on disk (tiled .npy in\n"
      "           --kernel-cache or a temporary folder), for kernels larger than memory; also under mpirun\n"
      "  flow     gradient flow on the MSE loss up to --time with learning rate --lr\n"
      "  gd       --steps discrete gradient-descent steps with learning rate --lr\n"
      "  nngp-gp  NNGP posterior mean (variance with --variance-out; diag_reg = noise variance)\n"
      "  ntk-gp   mean (and variance) of the ensemble of trained infinite networks at --time (Lee et al. "
      "2019)\n"
      "  svm      C-SVM on the precomputed kernel (libsvm, one-vs-one), --C\n\n"
      "Examples:\n"
      "  ntk regress --arch 'repeat(2, dense, relu), dense' --train train.csv --test test.csv --out "
      "pred.csv\n"
      "  ntk regress --arch 'dense, relu, dense' --train x.npy --y-train y.npy --test xt.npy --y-test yt.npy "
      "\\\n"
      "      --solver ntk-gp --time 100 --variance-out var.npy --kernel-cache kcache --out mean.npy");
  cmd->add_option("--arch", a->arch, "architecture (docs/architecture.md)")->required();
  cmd->add_option("--train", a->train, "training data (CSV, LIBSVM or .npy)")->required();
  cmd->add_option("--test", a->test, "test data (same format and width)")->required();
  cmd->add_option("--y-train", a->y_train, "training targets for .npy inputs (.npy or CSV, (N,) or (N, k))");
  cmd->add_option("--y-test", a->y_test, "test targets for .npy inputs (optional: metrics need them)");
  cmd->add_option("--format", a->format, "data format: auto | csv | libsvm | npy")->capture_default_str();
  cmd->add_option("--label-column", a->label_column, "CSV label column (negative counts from the end)")
      ->capture_default_str();
  cmd->add_option("--solver", a->solver, "exact | cg | flow | gd | nngp-gp | ntk-gp | svm")
      ->capture_default_str()
      ->check(CLI::IsMember({"exact", "cg", "flow", "gd", "nngp-gp", "ntk-gp", "svm"}));
  cmd->add_option("--cg-tolerance", a->cg_tolerance, "cg: relative residual to reach (tolerance)")
      ->capture_default_str();
  cmd->add_option("--cg-max-iterations", a->cg_max_iterations, "cg: iteration limit (max_iterations)")
      ->capture_default_str();
  cmd->add_option("--cg-rank", a->cg_rank,
                  "cg: rank k of the pivoted-Cholesky preconditioner, 0 for none (preconditioner_rank)")
      ->capture_default_str();
  cmd->add_option("--kernel", a->kernel, "kernel for exact / flow / gd / svm: ntk | nngp")
      ->capture_default_str()
      ->check(CLI::IsMember({"ntk", "nngp"}));
  cmd->add_option("--task", a->task, "auto | classify | regress")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "classify", "regress"}));
  cmd->add_option(
         "--targets", a->targets,
         "one-hot target values off,on for classification (target_off, target_on; Arora et al. 2019: "
         "-0.1,0.9)")
      ->default_str(default_targets());
  add_options(cmd, predict_options(), a->predict,
              {"diag_reg", "reg_absolute", "time", "learning_rate", "steps"});
  add_options(cmd, svm_options(), a->svm, {"C"});
  cmd->add_option("--parameterization", a->parameterization, "ntk | standard")
      ->capture_default_str()
      ->check(CLI::IsMember({"ntk", "standard"}));
  cmd->add_option("--out", a->out, "predictions (.npy or CSV): class labels when classifying, else outputs");
  cmd->add_option("--scores", a->scores, "raw outputs (one-hot regression scores or SVM decision values)");
  cmd->add_option("--variance-out", a->variance_out, "predictive variance per test point (nngp-gp, ntk-gp)");
  cmd->add_option("--kernel-cache", a->cache,
                  "folder to save kernels in and reuse them from (.npy + kernels.json "
                  "with the architecture and input checksums; stale caches are "
                  "refused)");
  cmd->add_flag("--refresh-cache", a->refresh_cache, "recompute and overwrite the kernel cache");
  a->ctx.add_to(cmd);
  cmd->callback([a]() { run_regress(*a); });
}

NTK_REGISTER_COMMAND(40, register_regress);

}  // namespace
}  // namespace ntk::cli
