// ntk equivalence: trains finite networks of growing width and measures how close they come to the exact NTK.
#include <malloc.h>

#include <cstdio>
#include <sstream>

#include "cli/command.h"
#include "cli/common.h"
#include "ntk/arch.h"
#include "ntk/equivalence.h"
#include "ntk/error.h"
#include "ntk/io.h"

namespace ntk::cli {
namespace {

struct EquivalenceArgs {
  std::string arch = kDefaultEquivalenceArch;
  std::string data = kDefaultEquivalenceData;
  std::string labels, format = "auto";
  int64_t n_train = 128, n_test = 128;
  std::string classes = "2";
  std::string widths = "64,128,256,512,1024,2048";
  int seeds = 3, kernel_seeds = 16;
  uint64_t seed = 0, data_seed = 0;
  int64_t steps = 60;
  double time = 0.0, lr = 0.0, lr_fraction = 0.75, momentum = 0.0;
  int64_t batch_size = 0;
  int64_t downsample = 2;
  std::string standardize = "example";
  bool one_hot = false;
  std::string f0 = "twin", parameterization = "ntk", lr_kernel = "both";
  int checkpoints = 4, trace_points = 4;
  std::string json, plot;
  ContextOptions ctx;
};

std::vector<int64_t> parse_int_list(const std::string& text, const char* option) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    NTK_THROW_IF_NOT(used > 0 && used == item.size(),
                     "%s: '%s' is not an integer (expected e.g. 64,256,1024)", option, item.c_str());
    out.push_back(v);
  }
  NTK_THROW_IF_NOT(!out.empty(), "%s: empty list", option);
  return out;
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
  cmd->add_option("--arch", a->arch, "architecture without widths (docs/architecture.md)")
      ->capture_default_str();
  cmd->add_option("--data", a->data,
                  "data set: IDX, CIFAR-10 bin, image folder, LIBSVM, CSV, .npy (+ --labels)")
      ->capture_default_str();
  cmd->add_option("--labels", a->labels,
                  "labels file for .npy / IDX inputs (IDX labels are found automatically)");
  cmd->add_option("--format", a->format,
                  "data format: auto | npy | csv | libsvm | idx | cifar10 | folder | uci")
      ->capture_default_str();
  cmd->add_option("--train", a->n_train, "training examples (balanced over the classes)")
      ->capture_default_str();
  cmd->add_option("--test", a->n_test, "test examples (disjoint from the training ones)")
      ->capture_default_str();
  cmd->add_option("--classes", a->classes,
                  "number of classes (the first ones) or a list of labels, e.g. 0,6; two classes train one "
                  "output with targets ±1 unless --one-hot")
      ->capture_default_str();
  cmd->add_flag("--one-hot", a->one_hot,
                "one output per class (centred one-hot targets) even for two classes");
  cmd->add_option("--widths", a->widths, "comma-separated hidden widths (channels for conv layers)")
      ->capture_default_str();
  cmd->add_option("--seeds", a->seeds, "networks per width (seeds seed, seed+1, ...)")->capture_default_str();
  cmd->add_option(
         "--kernel-seeds", a->kernel_seeds,
         "initialisations averaged for kernel_init_dev (untrained; the trained seeds are among them)")
      ->capture_default_str();
  cmd->add_option("--seed", a->seed, "seed of the first network of every width")->capture_default_str();
  cmd->add_option("--data-seed", a->data_seed, "seed choosing the training and test examples")
      ->capture_default_str();
  cmd->add_option("--steps", a->steps, "gradient-descent steps")->capture_default_str();
  cmd->add_option("--time", a->time, "train for this gradient-flow time η·steps instead of --steps");
  cmd->add_option("--lr", a->lr,
                  "step size η (default: --lr-fraction · 2/λ_max of each network's empirical NTK)");
  cmd->add_option("--lr-fraction", a->lr_fraction, "fraction of 2/λ_max used when --lr is not given")
      ->capture_default_str();
  cmd->add_option(
         "--lr-kernel", a->lr_kernel,
         "λ_max for the automatic step: both = max of the network's Θ̂₀ and the exact Θ (keeps the compared "
         "NTK dynamics stable) | empirical = Θ̂₀ only")
      ->capture_default_str()
      ->check(CLI::IsMember({"both", "empirical"}));
  cmd->add_option("--batch-size", a->batch_size, "minibatch SGD with this batch size (0: full batch)")
      ->capture_default_str();
  cmd->add_option("--momentum", a->momentum, "heavy-ball momentum β in [0, 1)")->capture_default_str();
  cmd->add_option("--downsample", a->downsample, "average-pool images by this factor (1: none)")
      ->capture_default_str();
  cmd->add_option(
         "--standardize", a->standardize,
         "example: centre and scale each example to unit variance | feature: per-feature standardisation "
         "fitted on the training rows | none")
      ->capture_default_str()
      ->check(CLI::IsMember({"example", "feature", "none"}));
  cmd->add_option("--f0", a->f0, "twin: zero initial outputs by a sign-flipped twin network | keep")
      ->capture_default_str()
      ->check(CLI::IsMember({"twin", "keep"}));
  cmd->add_option("--parameterization", a->parameterization, "ntk | standard")
      ->capture_default_str()
      ->check(CLI::IsMember({"ntk", "standard"}));
  cmd->add_option("--checkpoints", a->checkpoints, "empirical-NTK measurements during training")
      ->capture_default_str();
  cmd->add_option("--trace-points", a->trace_points, "test points whose outputs are traced for the plot")
      ->capture_default_str();
  cmd->add_option("--json", a->json, "write the report as JSON");
  cmd->add_option("--plot", a->plot, "write the plot (.svg natively, .png via python3 + matplotlib)");
  a->ctx.add_to(cmd, false);

  cmd->callback([a]() {
    if (!a->json.empty()) check_output_path(a->json);
    if (!a->plot.empty()) {
      check_output_path(a->plot);
      const std::string& p = a->plot;
      const bool ok = (p.size() > 4 &&
                       (p.compare(p.size() - 4, 4, ".svg") == 0 || p.compare(p.size() - 4, 4, ".png") == 0 ||
                        p.compare(p.size() - 4, 4, ".SVG") == 0 || p.compare(p.size() - 4, 4, ".PNG") == 0));
      NTK_THROW_IF_NOT(ok, "--plot %s: the plot must be .svg or .png", p.c_str());
    }
    EquivalenceOptions opt;
    opt.arch = a->arch;
    opt.widths = parse_int_list(a->widths, "--widths");
    opt.seeds = a->seeds;
    opt.seed = a->seed;
    opt.kernel_seeds = a->kernel_seeds;
    opt.parameterization = parse_parameterization(a->parameterization);
    opt.f0 = parse_f0_mode(a->f0);
    opt.train.steps = a->steps;
    opt.train.learning_rate = a->lr;
    opt.train.lr_fraction = a->lr_fraction;
    opt.train.batch_size = a->batch_size;
    opt.train.momentum = a->momentum;
    opt.train.seed = a->seed;
    opt.time = a->time;
    opt.lr_kernel = a->lr_kernel;
    opt.kernel_checkpoints = a->checkpoints;
    opt.trace_points = a->trace_points;
    opt.ctx = a->ctx.make(a->seed);
    NTK_THROW_IF_NOT(a->lr >= 0, "--lr must be > 0, got %g", a->lr);
    NTK_THROW_IF_NOT(a->lr_fraction > 0, "--lr-fraction must be > 0, got %g", a->lr_fraction);
    NTK_THROW_IF_NOT(a->momentum >= 0 && a->momentum < 1, "--momentum must be in [0, 1), got %g",
                     a->momentum);
    NTK_THROW_IF_NOT(a->batch_size >= 0, "--batch-size must be >= 0, got %lld", (long long)a->batch_size);
    NTK_THROW_IF_NOT(a->time > 0 || a->steps >= 1, "--steps must be >= 1, got %lld", (long long)a->steps);
    NTK_THROW_IF_NOT(a->time >= 0, "--time must be > 0, got %g", a->time);
    for (int64_t w : opt.widths)
      NTK_THROW_IF_NOT(w >= 1, "--widths: widths must be >= 1, got %lld", (long long)w);
    Architecture::parse(opt.arch, ParseOptions{opt.widths.front()});  // spec errors before loading data

    EquivalenceDataOptions d;
    d.path = a->data;
    d.dataset.format = io::parse_dataset_format(a->format);
    d.dataset.labels_path = a->labels;
    d.n_train = a->n_train;
    d.n_test = a->n_test;
    std::vector<int64_t> cls = parse_int_list(a->classes, "--classes");
    if (cls.size() == 1) {
      NTK_THROW_IF_NOT(cls[0] >= 2, "--classes: need at least 2 classes, got %lld", (long long)cls[0]);
      d.num_classes = static_cast<int>(cls[0]);
    } else {
      d.classes = cls;
    }
    d.one_hot = a->one_hot;
    d.downsample = a->downsample;
    d.standardize = a->standardize;
    d.seed = a->data_seed;
    EquivalenceData data = load_equivalence_data(d);
    // Every step allocates and frees the same large gradient buffers: keep them in the heap instead of
    // mmap/munmap (page faults) on every step.
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);

    const bool chatty = opt.ctx.progress;
    std::printf("ntk equivalence\n  data: %s\n  arch: %s\n", data.description.c_str(), opt.arch.c_str());
    std::string train_desc = opt.time > 0 ? strprintf("gradient-flow time %g", opt.time)
                                          : strprintf("%lld steps", (long long)a->steps);
    train_desc +=
        a->batch_size > 0 ? strprintf(", SGD batch %lld", (long long)a->batch_size) : ", full batch";
    if (a->momentum > 0) train_desc += strprintf(", momentum %g", a->momentum);
    train_desc +=
        a->lr > 0 ? strprintf(", lr %g", a->lr)
                  : strprintf(", lr %g·2/λ_max(%s)", a->lr_fraction, a->lr_kernel == "both" ? "Θ̂₀, Θ" : "Θ̂₀");
    std::printf("  training: %s; %s parameterization; f0: %s; %d seeds from %llu\n", train_desc.c_str(),
                a->parameterization.c_str(), a->f0.c_str(), opt.seeds, (unsigned long long)opt.seed);
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
