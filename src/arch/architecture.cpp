// Resolves the syntax tree against the layer registry: argument checking, repeat/residual expansion, the
// readout rule (the last dense layer has width 1 unless given) and shape inference.
#include <algorithm>
#include <cmath>
#include <mutex>
#include <sstream>

#include "ntk/arch.h"
#include "ntk/error.h"

namespace ntk {

// ---------------- LayerArgs ----------------

static const std::string& arg_value(const LayerArgs& a, const std::string& name) {
  auto it = a.values.find(name);
  NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, it != a.values.end(), "layer %s has no argument '%s'",
                        a.layer.c_str(), name.c_str());
  return it->second;
}

void LayerArgs::fail(const std::string& name, const std::string& what) const {
  auto it = columns.find(name);
  int col = it == columns.end() ? column : it->second;
  NTK_THROW("arch: column %d: %s: %s %s", col, layer.c_str(), name.c_str(), what.c_str());
}

double LayerArgs::number(const std::string& name) const {
  return std::strtod(arg_value(*this, name).c_str(), nullptr);
}

int64_t LayerArgs::integer(const std::string& name) const {
  const double v = std::strtod(arg_value(*this, name).c_str(), nullptr);
  // Sizes beyond 2^31 fit no image, filter or layer that memory holds, and their products (k * k * channels)
  // would leave int64.
  constexpr double kLargest = 2147483647.0;
  if (!(std::fabs(v) <= kLargest))
    fail(name, strprintf("must be an integer of at most %.0f in magnitude, got %s", kLargest,
                         arg_value(*this, name).c_str()));
  return static_cast<int64_t>(std::llround(v));
}

bool LayerArgs::boolean(const std::string& name) const {
  const std::string& v = arg_value(*this, name);
  return v == "true" || v == "1";
}

const std::string& LayerArgs::choice(const std::string& name) const {
  return arg_value(*this, name);
}

bool LayerArgs::given(const std::string& name) const {
  return columns.count(name) > 0;
}

int64_t LayerArgs::integer_at_least(const std::string& name, int64_t minimum) const {
  int64_t v = integer(name);
  if (v < minimum)
    fail(name, strprintf("must be an integer >= %lld, got %s", static_cast<long long>(minimum),
                         arg_value(*this, name).c_str()));
  return v;
}

double LayerArgs::number_at_least(const std::string& name, double minimum) const {
  double v = number(name);
  if (!(v >= minimum))
    fail(name, strprintf("must be >= %g, got %s", minimum, arg_value(*this, name).c_str()));
  return v;
}

// ---------------- registry ----------------

const LayerRegistry& LayerRegistry::instance() {
  static LayerRegistry* registry = [] {
    auto* r = new LayerRegistry();
    register_builtin_layers(*r);
    return r;
  }();
  return *registry;
}

void LayerRegistry::add(LayerInfo info) {
  layers_.push_back(std::move(info));
}

const LayerInfo* LayerRegistry::find(const std::string& name) const {
  for (const auto& l : layers_)
    if (l.name == name) return &l;
  return nullptr;
}

std::vector<std::string> LayerRegistry::names() const {
  std::vector<std::string> n;
  for (const auto& l : layers_) n.push_back(l.name);
  n.push_back("repeat");
  n.push_back("residual");
  std::sort(n.begin(), n.end());
  return n;
}

static std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

// ---------------- presets ----------------

namespace {

constexpr const char* kSqrt2 = "1.4142135623730951";

// Myrtle (Shankar et al. 2020, "Neural Kernels Without Tangents"; neural-tangents' MyrtleNetwork): three
// stages of 3x3 same convolutions with ReLU, 2x2 average pools between them, an 8x8 average pool (a 1x1 map
// on 32x32 inputs), a dense readout; W_std = sqrt 2, no biases.
std::string myrtle(int a, int b, int c) {
  const std::string conv = std::string("conv(3, w_std=") + kSqrt2 + "), relu";
  auto stage = [&](int n) { return n == 1 ? conv : "repeat(" + std::to_string(n) + ", " + conv + ")"; };
  return stage(a) + ", avgpool(2, stride=2), " + stage(b) + ", avgpool(2, stride=2), " + stage(c) +
         ", avgpool(8, stride=8), flatten, dense(w_std=" + kSqrt2 + ")";
}

}  // namespace

const std::vector<ArchPreset>& arch_presets() {
  static const std::vector<ArchPreset> presets = {
      {"cntk_gap", "cntk_gap(d)",
       "CNTK-GAP of Arora et al. 2019: d 3x3 conv+relu layers, global average pooling, first and last layer "
       "fixed",
       2},
      {"cntk_v", "cntk_v(d)", "CNTK-V of Arora et al. 2019: d 3x3 conv+relu layers, flatten readout", 1},
      {"myrtle10", "myrtle10", "Myrtle-10 of Shankar et al. 2020 (3+3+3 convs, 2x2 pools, 8x8 pool)", 0},
      {"myrtle5", "myrtle5", "Myrtle-5 of Shankar et al. 2020 (2+1+1 convs, 2x2 pools, 8x8 pool)", 0},
      {"myrtle7", "myrtle7", "Myrtle-7 of Shankar et al. 2020 (2+2+2 convs, 2x2 pools, 8x8 pool)", 0},
  };
  return presets;
}

const ArchPreset* find_arch_preset(const std::string& name) {
  for (const auto& p : arch_presets())
    if (p.name == name) return &p;
  return nullptr;
}

static std::string preset_usages() {
  std::vector<std::string> u;
  for (const auto& p : arch_presets()) u.push_back(p.usage);
  return join(u);
}

std::string arch_preset_expansion(const std::string& name, int depth) {
  const ArchPreset* p = find_arch_preset(name);
  NTK_THROW_IF_NOT(p != nullptr, "arch: unknown preset '%s'; known: %s", name.c_str(),
                   preset_usages().c_str());
  if (p->min_depth == 0) {
    if (name == "myrtle5") return myrtle(2, 1, 1);
    if (name == "myrtle7") return myrtle(2, 2, 2);
    return myrtle(3, 3, 3);
  }
  NTK_THROW_IF_NOT(depth >= p->min_depth && depth <= 10000,
                   "arch: %s: the depth d must be an integer in [%d, 10000], got %d", p->usage.c_str(),
                   p->min_depth, depth);
  const std::string conv = std::string("conv(3, w_std=") + kSqrt2 + ")";
  if (name == "cntk_v")
    return "repeat(" + std::to_string(depth) + ", " + conv + ", relu), flatten, dense(w_std=" + kSqrt2 + ")";
  // CNTK-GAP as in the paper: the first and the last layer are fixed (not trained).
  std::string s = std::string("conv(3, w_std=") + kSqrt2 + ", trainable=false), relu, ";
  s += depth == 2 ? conv + ", relu, " : "repeat(" + std::to_string(depth - 1) + ", " + conv + ", relu), ";
  return s + "gap, dense(w_std=" + kSqrt2 + ", trainable=false)";
}

namespace {

// The expansion of a preset item (checking its arguments), or "" when the item is not a preset.
std::string preset_text(const ArchNode& node) {
  const ArchPreset* p = find_arch_preset(node.name);
  if (p == nullptr || LayerRegistry::instance().find(node.name) != nullptr) return "";
  if (p->min_depth == 0) {
    NTK_THROW_IF_NOT(node.args.empty(), "arch: column %d: %s takes no arguments (a complete architecture)",
                     node.column, node.name.c_str());
    return arch_preset_expansion(node.name);
  }
  NTK_THROW_IF_NOT(node.args.size() == 1 &&
                       (node.args[0].key.empty() || node.args[0].key == "d" || node.args[0].key == "depth"),
                   "arch: column %d: %s needs one argument, the depth d, e.g. %s(5)", node.column,
                   p->usage.c_str(), node.name.c_str());
  const ArchArg& d = node.args[0];
  NTK_THROW_IF_NOT(d.node == nullptr && d.is_number && d.number == std::floor(d.number) &&
                       d.number >= p->min_depth && d.number <= 10000,
                   "arch: column %d: %s: the depth d must be an integer in [%d, 10000], got '%s'",
                   d.value_column, p->usage.c_str(), p->min_depth, d.text.c_str());
  return arch_preset_expansion(node.name, static_cast<int>(d.number));
}

void set_columns(ArchNode& node, int column) {
  node.column = column;
  for (auto& a : node.args) {
    a.column = a.value_column = column;
    if (a.node) set_columns(*a.node, column);
  }
}

void collect_presets(const ArchNode& node, std::vector<std::pair<const ArchNode*, std::string>>& out) {
  std::string text = preset_text(node);
  if (!text.empty()) {
    out.emplace_back(&node, std::move(text));
    return;
  }
  for (const auto& a : node.args)
    if (a.node) collect_presets(*a.node, out);
}

}  // namespace

std::string expand_arch_presets(const std::string& spec) {
  std::vector<std::pair<const ArchNode*, std::string>> found;
  const auto items = parse_arch_syntax(spec);
  for (const auto& item : items) collect_presets(*item, found);
  std::string out = spec;
  // Back to front, so that earlier columns stay valid.
  for (auto it = found.rbegin(); it != found.rend(); ++it) {
    const size_t begin = static_cast<size_t>(it->first->column - 1);
    const size_t end = static_cast<size_t>(it->first->end_column - 1);
    out.replace(begin, end - begin, it->second);
  }
  return out;
}

// ---------------- compilation ----------------

namespace {

struct FlatItem {
  const ArchNode* node = nullptr;  // nullptr for fork/join
  ArchOp::Kind kind = ArchOp::Kind::kLayer;
  int column = 0;
};

void expand(const ArchNode& node, std::vector<FlatItem>& out, int depth,
            std::vector<std::shared_ptr<ArchNode>>& keep) {
  NTK_THROW_IF_NOT(depth < 64, "arch: column %d: nesting deeper than 64 levels", node.column);
  const std::string preset = preset_text(node);
  if (!preset.empty()) {
    // A preset is its expansion; every layer of it reports the preset's column.
    for (auto& item : parse_arch_syntax(preset)) {
      set_columns(*item, node.column);
      keep.push_back(item);
      expand(*item, out, depth + 1, keep);
    }
    return;
  }
  if (node.name == "repeat") {
    NTK_THROW_IF_NOT(
        node.has_parens && node.args.size() >= 2,
        "arch: column %d: repeat needs a count and at least one item, e.g. repeat(3, dense, relu)",
        node.column);
    const ArchArg& count = node.args[0];
    NTK_THROW_IF_NOT(count.key.empty() && count.is_number && count.number >= 1 &&
                         count.number == std::floor(count.number) && count.number <= 10000,
                     "arch: column %d: repeat: the first argument must be a positive integer count, got '%s'",
                     count.column, count.text.c_str());
    for (size_t i = 1; i < node.args.size(); ++i)
      NTK_THROW_IF_NOT(node.args[i].node != nullptr,
                       "arch: column %d: repeat: expected a layer after the count, got '%s'",
                       node.args[i].column, node.args[i].text.c_str());
    for (int r = 0; r < static_cast<int>(count.number); ++r)
      for (size_t i = 1; i < node.args.size(); ++i) expand(*node.args[i].node, out, depth + 1, keep);
    return;
  }
  if (node.name == "residual") {
    NTK_THROW_IF_NOT(node.has_parens && !node.args.empty(),
                     "arch: column %d: residual needs at least one item, e.g. residual(relu, dense)",
                     node.column);
    for (const auto& a : node.args)
      NTK_THROW_IF_NOT(a.node != nullptr, "arch: column %d: residual: expected a layer, got '%s'", a.column,
                       a.text.c_str());
    out.push_back({nullptr, ArchOp::Kind::kFork, node.column});
    for (const auto& a : node.args) expand(*a.node, out, depth + 1, keep);
    out.push_back({nullptr, ArchOp::Kind::kJoin, node.column});
    return;
  }
  out.push_back({&node, ArchOp::Kind::kLayer, node.column});
}

std::string spec_help(const LayerInfo& info) {
  std::vector<std::string> names;
  for (const auto& a : info.args) names.push_back(a.name);
  return names.empty() ? "takes no arguments" : "valid arguments: " + join(names);
}

bool is_integer_text(double v) {
  return std::isfinite(v) && v == std::floor(v);
}

LayerArgs bind_args(const ArchNode& node, const LayerInfo& info) {
  LayerArgs args;
  args.layer = info.name;
  args.column = node.column;
  size_t positional = 0;
  bool seen_keyword = false;
  for (const auto& a : node.args) {
    NTK_THROW_IF_NOT(a.node == nullptr || !a.key.empty() || info.args.size() > positional,
                     "arch: column %d: %s: unexpected layer '%s' as an argument (%s)", a.column,
                     info.name.c_str(), a.text.c_str(), spec_help(info).c_str());
    const ArgSpec* spec = nullptr;
    if (a.key.empty()) {
      NTK_THROW_IF_NOT(!seen_keyword, "arch: column %d: %s: positional argument after a key=value argument",
                       a.column, info.name.c_str());
      NTK_THROW_IF_NOT(positional < info.args.size(), "arch: column %d: %s: too many arguments (%s)",
                       a.column, info.name.c_str(), spec_help(info).c_str());
      spec = &info.args[positional++];
    } else {
      seen_keyword = true;
      for (const auto& s : info.args)
        if (s.name == a.key) spec = &s;
      NTK_THROW_IF_NOT(spec != nullptr, "arch: column %d: %s: unknown argument '%s'; %s", a.column,
                       info.name.c_str(), a.key.c_str(), spec_help(info).c_str());
    }
    NTK_THROW_IF_NOT(args.columns.count(spec->name) == 0, "arch: column %d: %s: argument '%s' given twice",
                     a.column, info.name.c_str(), spec->name.c_str());
    const std::string& v = a.text;
    switch (spec->type) {
      case ArgSpec::Type::kNumber:
        NTK_THROW_IF_NOT(a.is_number && std::isfinite(a.number),
                         "arch: column %d: %s: %s must be a number, got '%s'", a.value_column,
                         info.name.c_str(), spec->name.c_str(), v.c_str());
        break;
      case ArgSpec::Type::kInteger:
        NTK_THROW_IF_NOT(a.is_number && is_integer_text(a.number),
                         "arch: column %d: %s: %s must be an integer, got '%s'", a.value_column,
                         info.name.c_str(), spec->name.c_str(), v.c_str());
        break;
      case ArgSpec::Type::kBool:
        NTK_THROW_IF_NOT(v == "true" || v == "false" || v == "1" || v == "0",
                         "arch: column %d: %s: %s must be true or false, got '%s'", a.value_column,
                         info.name.c_str(), spec->name.c_str(), v.c_str());
        break;
      case ArgSpec::Type::kChoice:
        NTK_THROW_IF_NOT(std::find(spec->choices.begin(), spec->choices.end(), v) != spec->choices.end(),
                         "arch: column %d: %s: %s must be one of %s, got '%s'", a.value_column,
                         info.name.c_str(), spec->name.c_str(), join(spec->choices).c_str(), v.c_str());
        break;
    }
    args.values[spec->name] = v;
    args.columns[spec->name] = a.value_column;
  }
  for (const auto& s : info.args) {
    if (args.values.count(s.name)) continue;
    if (s.name == "width") continue;  // filled by the readout rule
    NTK_THROW_IF_NOT(!s.default_value.empty(), "arch: column %d: %s: missing required argument '%s' (%s)",
                     node.column, info.name.c_str(), s.name.c_str(), spec_help(info).c_str());
    args.values[s.name] = s.default_value;
  }
  return args;
}

}  // namespace

Architecture Architecture::parse(const std::string& spec, const ParseOptions& options) {
  const LayerRegistry& registry = LayerRegistry::instance();
  auto items = parse_arch_syntax(spec);
  std::vector<FlatItem> flat;
  std::vector<std::shared_ptr<ArchNode>> keep;  // nodes of preset expansions, which `flat` points into
  for (const auto& item : items) expand(*item, flat, 0, keep);

  // Resolve names first so that an unknown layer is reported before anything else.
  std::vector<const LayerInfo*> infos(flat.size(), nullptr);
  int readout = -1;
  for (size_t i = 0; i < flat.size(); ++i) {
    if (flat[i].kind != ArchOp::Kind::kLayer) continue;
    const ArchNode& node = *flat[i].node;
    infos[i] = registry.find(node.name);
    NTK_THROW_IF_NOT(infos[i] != nullptr, "arch: column %d: unknown layer '%s'; known: %s; presets: %s",
                     node.column, node.name.c_str(), join(registry.names()).c_str(), preset_usages().c_str());
    if (node.name == "dense") readout = static_cast<int>(i);
  }

  Architecture arch;
  arch.spec_ = spec;
  for (size_t i = 0; i < flat.size(); ++i) {
    ArchOp op;
    op.kind = flat[i].kind;
    op.column = flat[i].column;
    if (op.kind == ArchOp::Kind::kLayer) {
      const LayerInfo& info = *infos[i];
      LayerArgs args = bind_args(*flat[i].node, info);
      bool has_width =
          std::any_of(info.args.begin(), info.args.end(), [](const ArgSpec& s) { return s.name == "width"; });
      if (has_width && !args.values.count("width")) {
        std::string fallback;
        for (const auto& s : info.args)
          if (s.name == "width") fallback = s.default_value;
        if (static_cast<int>(i) == readout)
          args.values["width"] = "1";
        else if (options.width > 0)
          args.values["width"] = std::to_string(options.width);
        else
          args.values["width"] = fallback;
      }
      op.layer = info.factory(args);
    }
    arch.ops_.push_back(std::move(op));
  }
  return arch;
}

std::vector<ExampleShape> Architecture::infer_shapes(const ExampleShape& input) const {
  std::vector<ExampleShape> shapes;
  std::vector<ExampleShape> stack;
  ExampleShape cur = input;
  for (const auto& op : ops_) {
    shapes.push_back(cur);
    switch (op.kind) {
      case ArchOp::Kind::kFork:
        stack.push_back(cur);
        break;
      case ArchOp::Kind::kJoin: {
        ExampleShape skip = stack.back();
        stack.pop_back();
        NTK_THROW_IF_NOT(
            skip.spatial == cur.spatial && skip.height == cur.height && skip.width == cur.width &&
                skip.channels == cur.channels,
            "arch: column %d: residual: the block maps %s to %s; x + block(x) needs equal shapes", op.column,
            skip.to_string().c_str(), cur.to_string().c_str());
        break;
      }
      case ArchOp::Kind::kLayer:
        cur = op.layer->output_shape(cur);
        break;
    }
  }
  shapes.push_back(cur);
  return shapes;
}

std::string Architecture::describe() const {
  std::string s;
  int depth = 0;
  bool first = true;
  for (const auto& op : ops_) {
    if (op.kind == ArchOp::Kind::kJoin) {
      s += ")";
      --depth;
      first = false;
      continue;
    }
    if (!first) s += ", ";
    if (op.kind == ArchOp::Kind::kFork) {
      s += "residual(";
      ++depth;
      first = true;
      continue;
    }
    s += op.layer->describe();
    first = false;
  }
  return s;
}

bool Architecture::has_position_mixing() const {
  for (const auto& op : ops_)
    if (op.kind == ArchOp::Kind::kLayer && op.layer->mixes_positions()) return true;
  return false;
}

std::string ExampleShape::to_string() const {
  if (spatial)
    return strprintf("(H=%lld, W=%lld, C=%lld)", (long long)height, (long long)width, (long long)channels);
  return strprintf("(d=%lld)", (long long)channels);
}

ExampleShape example_shape_of(const Tensor& x, const std::string& what) {
  NTK_THROW_IF_NOT(x.rank() == 2 || x.rank() == 4, "%s: expected shape (N, d) or (N, H, W, C), got %s",
                   what.c_str(), x.shape_string().c_str());
  NTK_THROW_IF_NOT(x.rows() > 0, "%s: no examples (shape %s)", what.c_str(), x.shape_string().c_str());
  ExampleShape s;
  if (x.rank() == 2) {
    s.channels = x.dim(1);
    NTK_THROW_IF_NOT(s.channels > 0, "%s: examples have no features (shape %s)", what.c_str(),
                     x.shape_string().c_str());
  } else {
    s.spatial = true;
    s.height = x.dim(1);
    s.width = x.dim(2);
    s.channels = x.dim(3);
    NTK_THROW_IF_NOT(s.height > 0 && s.width > 0 && s.channels > 0, "%s: empty image dimensions in shape %s",
                     what.c_str(), x.shape_string().c_str());
  }
  return s;
}

}  // namespace ntk
