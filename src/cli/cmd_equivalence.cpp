// ntk equivalence: trains finite networks of growing width and measures how close they come to the exact NTK.
#include <malloc.h>

#include <cctype>
#include <cstdio>

#include "cli/command.h"
#include "cli/common.h"
#include "cli/options.h"
#include "ntk/arch.h"
#include "ntk/equivalence.h"
#include "ntk/error.h"
#include "ntk/io.h"

namespace ntk::cli {
namespace {

// The command's options: the library's option structs, whose tables declare the flags (src/cli/options.h),
// plus what only the CLI has.
struct EquivalenceArgs {
  EquivalenceOptions opt;
  EquivalenceDataOptions data;
  std::string classes;  // --classes: a number of classes or a list of labels
  std::string json, plot;
  ContextOptions ctx;
};

std::string lower_extension(const std::string& path) {
  const size_t dot = path.find_last_of('.'), slash = path.find_last_of('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string e = path.substr(dot + 1);
  for (char& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e;
}

void register_equivalence(CLI::App& app) {
  auto a = std::make_shared<EquivalenceArgs>();
  CLI::App* cmd = app.add_subcommand(
      "equivalence", "train finite networks of growing width and measure their distance to the exact NTK");
  cmd->footer(
      "With no options it trains a 3-hidden-layer ReLU network (widths 64..2048, 3 seeds, 60 full-batch\n"
      "gradient-descent steps at 0.75 * 2/lambda_max) on 128 Fashion-MNIST images (T-shirt vs trouser, "
      "14x14)\n"
      "and compares it with the exact NTK predictor after the same steps on 128 test images.\n"
      "See docs/equivalence.md.\n\n"
      "Examples:\n"
      "  ntk equivalence --json eq.json --plot eq.svg\n"
      "  ntk equivalence --arch 'repeat(2, conv(3), relu), flatten, dense' --widths 16,32,64,128,256 "
      "--downsample 4\n"
      "  ntk equivalence --classes 3 --train 300 --steps 200 --batch-size 50 --momentum 0.9");
  add_options(cmd, equivalence_options(), a->opt, {"arch"});
  add_options(cmd, equivalence_data_options(), a->data, {"data", "labels", "format", "n_train", "n_test"});
  cmd->add_option("--classes", a->classes,
                  "number of classes (the first ones) or a list of labels, e.g. 0,6; two classes train one "
                  "output with targets ±1 unless --one-hot")
      ->default_str(format_option_value(equivalence_data_options().find("num_classes")->spec.default_value));
  add_options(cmd, equivalence_data_options(), a->data, {"one_hot"});
  add_options(cmd, equivalence_options(), a->opt, {"widths", "seeds", "kernel_seeds", "seed"});
  add_options(cmd, equivalence_data_options(), a->data, {"data_seed"});
  add_options(cmd, equivalence_options(), a->opt,
              {"steps", "time", "learning_rate", "lr_fraction", "lr_kernel", "batch_size", "momentum"});
  add_options(cmd, equivalence_data_options(), a->data, {"downsample", "standardize"});
  add_options(cmd, equivalence_options(), a->opt,
              {"f0", "parameterization", "checkpoints", "trace_points", "trace_steps"});
  cmd->add_option("--json", a->json, "write the report as JSON");
  cmd->add_option(
      "--plot", a->plot,
      "write the plot as .svg (for PNG: --json eq.json, then python3 -m ntk.plot equivalence eq.json "
      "eq.png)");
  a->ctx.add_to(cmd, false);

  cmd->callback([a]() {
    if (!a->json.empty()) check_output_path(a->json);
    if (!a->plot.empty()) {
      check_output_path(a->plot);
      const std::string ext = lower_extension(a->plot);
      // PNG figures are drawn by the Python package, from the JSON report: refused before any work.
      NTK_THROW_IF_NOT(
          ext != "png",
          "--plot %s: the CLI writes the plot as .svg; for a PNG, write the report with --json %s and "
          "draw it with Python: python3 -m ntk.plot equivalence %s %s",
          a->plot.c_str(), a->json.empty() ? "eq.json" : a->json.c_str(),
          a->json.empty() ? "eq.json" : a->json.c_str(), a->plot.c_str());
      NTK_THROW_IF_NOT(ext == "svg", "--plot %s: the plot must be .svg", a->plot.c_str());
    }
    EquivalenceOptions& opt = a->opt;
    opt.train.seed = opt.seed;  // the minibatch order follows the network seed
    opt.ctx = a->ctx.make(opt.seed);
    validate_flags(equivalence_options(), opt);
    NTK_THROW_IF_NOT(opt.time > 0 || opt.train.steps >= 1, "--steps must be >= 1 (or --time > 0), got %lld",
                     (long long)opt.train.steps);
    Architecture::parse(opt.arch, ParseOptions{opt.widths.front()});  // spec errors before loading data

    EquivalenceDataOptions& d = a->data;
    if (!a->classes.empty()) {
      const OptionValue v =
          parse_option_value(equivalence_data_options().find("classes")->spec, a->classes, "--classes");
      const std::vector<int64_t>& cls = std::get<std::vector<int64_t>>(v);
      NTK_THROW_IF_NOT(!cls.empty(), "--classes: empty list");
      if (cls.size() == 1) {
        NTK_THROW_IF_NOT(cls[0] >= 2, "--classes: need at least 2 classes, got %lld", (long long)cls[0]);
        d.num_classes = static_cast<int>(cls[0]);
      } else {
        d.classes = cls;
      }
    }
    validate_flags(equivalence_data_options(), d);
    EquivalenceData data = load_equivalence_data(d);
    // Every step allocates and frees the same large gradient buffers: keep them in the heap instead of
    // mmap/munmap (page faults) on every step.
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);

    const bool chatty = opt.ctx.progress;
    std::printf("ntk equivalence\n  data: %s\n  arch: %s\n", data.description.c_str(), opt.arch.c_str());
    std::string train_desc = opt.time > 0 ? strprintf("gradient-flow time %g", opt.time)
                                          : strprintf("%lld steps", (long long)opt.train.steps);
    train_desc += opt.train.batch_size > 0 ? strprintf(", SGD batch %lld", (long long)opt.train.batch_size)
                                           : ", full batch";
    if (opt.train.momentum > 0) train_desc += strprintf(", momentum %g", opt.train.momentum);
    train_desc += opt.train.learning_rate > 0 ? strprintf(", lr %g", opt.train.learning_rate)
                                              : strprintf(", lr %g·2/λ_max(%s)", opt.train.lr_fraction,
                                                          opt.lr_kernel == "both" ? "Θ̂₀, Θ" : "Θ̂₀");
    std::printf("  training: %s; %s parameterization; f0: %s; %d seeds from %llu\n", train_desc.c_str(),
                parameterization_name(opt.parameterization), f0_mode_name(opt.f0), opt.seeds,
                (unsigned long long)opt.seed);
    std::fflush(stdout);
    EquivalenceResult r = run_equivalence(data, opt, [chatty](const std::string& line) {
      if (chatty) std::fprintf(stderr, "\r\033[K  %s\n", line.c_str());
    });
    std::printf("\n%s", r.table().c_str());
    std::printf(
        "\n  (mean ± sample std over seeds; slope = least-squares slope of log(mean) vs log(width); "
        "losses are MSE per output)\n  %.1fs in all (exact kernels %.1fs)\n",
        r.seconds, r.kernel_seconds);
    if (!a->json.empty()) {
      io::AtomicFile f(a->json);
      f.write(r.to_json());
      f.commit();
    }
    if (!a->plot.empty()) write_equivalence_plot(r, a->plot);
  });
}

NTK_REGISTER_COMMAND(60, register_equivalence);

}  // namespace
}  // namespace ntk::cli
