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

// ---------------- compilation ----------------

namespace {

struct FlatItem {
  const ArchNode* node = nullptr;  // nullptr for fork/join
  ArchOp::Kind kind = ArchOp::Kind::kLayer;
  int column = 0;
};

void expand(const ArchNode& node, std::vector<FlatItem>& out, int depth) {
  NTK_THROW_IF_NOT(depth < 64, "arch: column %d: nesting deeper than 64 levels", node.column);
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
      for (size_t i = 1; i < node.args.size(); ++i) expand(*node.args[i].node, out, depth + 1);
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
    for (const auto& a : node.args) expand(*a.node, out, depth + 1);
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
  for (const auto& item : items) expand(*item, flat, 0);

  // Resolve names first so that an unknown layer is reported before anything else.
  std::vector<const LayerInfo*> infos(flat.size(), nullptr);
  int readout = -1;
  for (size_t i = 0; i < flat.size(); ++i) {
    if (flat[i].kind != ArchOp::Kind::kLayer) continue;
    const ArchNode& node = *flat[i].node;
    infos[i] = registry.find(node.name);
    NTK_THROW_IF_NOT(infos[i] != nullptr, "arch: column %d: unknown layer '%s'; known: %s", node.column,
                     node.name.c_str(), join(registry.names()).c_str());
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
