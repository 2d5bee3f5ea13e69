// The architecture language: one string describes a network, the same for the CLI, C++ and Python.
//
//   arch  := item (',' item)*
//   item  := NAME | NAME '(' [arg (',' arg)*] ')'
//   arg   := value | KEY '=' value | item          (items only inside repeat/residual)
//   value := NUMBER | NAME
//
// `repeat(n, items...)` repeats a block n times, `residual(items...)` is x + block(x). Errors name the column.
// The grammar and every layer are documented in docs/architecture.md.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ntk/layer.h"

namespace ntk {

// ---- syntax tree ----
struct ArchArg {
  std::string key;  // empty for a positional argument
  std::string text;
  bool is_number = false;
  double number = 0.0;
  int column = 0;             // 1-based column where the argument starts (its key, if any)
  int value_column = 0;       // 1-based column of its value
  std::shared_ptr<struct ArchNode> node;  // set when the argument is a nested item (repeat/residual bodies)
};

struct ArchNode {
  std::string name;
  int column = 0;      // 1-based column of the name
  int end_column = 0;  // 1-based column just past the item (after its ')' when it has arguments)
  bool has_parens = false;
  std::vector<ArchArg> args;
};

// Parses the syntax only (no knowledge of layer names). Throws ntk::Error "arch: column N: ...".
std::vector<std::shared_ptr<ArchNode>> parse_arch_syntax(const std::string& spec);

// ---- presets ----
// Named architectures that expand to the layer language wherever an architecture is accepted, e.g. "myrtle5"
// or "cntk_gap(14)" (a preset is an item, so it can sit inside a longer string or a repeat/residual body).
// The expansions are documented in docs/architecture.md.
struct ArchPreset {
  std::string name;   // "myrtle5", "cntk_gap", ...
  std::string usage;  // "myrtle5", "cntk_gap(d)"
  std::string help;   // one line
  int min_depth = 0;  // 0: takes no argument; else the least depth d accepted
};
const std::vector<ArchPreset>& arch_presets();
const ArchPreset* find_arch_preset(const std::string& name);
// The expansion of preset `name` (with depth d for those that take one) in the layer language. Throws
// ntk::Error naming the preset on an unknown name or a depth out of range.
std::string arch_preset_expansion(const std::string& name, int depth = 0);
// `spec` with every preset item written out as its expansion (text elsewhere unchanged); syntax errors as
// parse_arch_syntax, bad preset arguments as Architecture::parse.
std::string expand_arch_presets(const std::string& spec);

// ---- registry ----
struct ArgSpec {
  enum class Type { kNumber, kInteger, kBool, kChoice };
  std::string name;
  Type type = Type::kNumber;
  std::string default_value;          // "" = required
  std::vector<std::string> choices;   // for kChoice
  std::string help;
};

// Validated arguments of one layer, defaults filled in.
class LayerArgs {
 public:
  double number(const std::string& name) const;
  int64_t integer(const std::string& name) const;
  bool boolean(const std::string& name) const;
  const std::string& choice(const std::string& name) const;
  bool given(const std::string& name) const;  // explicitly written in the spec
  // Integer >= minimum, else an error naming the layer, argument and column.
  int64_t integer_at_least(const std::string& name, int64_t minimum) const;
  // Number >= minimum (finite), else an error naming the layer, argument and column.
  double number_at_least(const std::string& name, double minimum) const;
  [[noreturn]] void fail(const std::string& name, const std::string& what) const;

  // Filled by the parser.
  std::string layer;
  int column = 0;                               // column of the layer name
  std::map<std::string, std::string> values;    // every argument, defaults included
  std::map<std::string, int> columns;           // columns of explicitly written arguments
};

using LayerFactory = std::function<std::shared_ptr<Layer>(const LayerArgs&)>;

struct LayerInfo {
  std::string name;
  std::string kind;  // "layer" | "activation"
  std::vector<ArgSpec> args;  // in positional order
  LayerFactory factory;
  std::string help;
};

class LayerRegistry {
 public:
  static const LayerRegistry& instance();
  void add(LayerInfo info);
  const LayerInfo* find(const std::string& name) const;
  std::vector<std::string> names() const;  // sorted, plus repeat and residual
  const std::vector<LayerInfo>& all() const { return layers_; }

 private:
  std::vector<LayerInfo> layers_;
};

// Every built-in layer and activation registers itself here (src/layers/registry.cpp).
void register_builtin_layers(LayerRegistry& registry);

// ---- compiled architecture ----
struct ArchOp {
  enum class Kind { kLayer, kFork, kJoin };  // residual(block) = fork, block, join (x + block(x))
  Kind kind = Kind::kLayer;
  std::shared_ptr<const Layer> layer;
  int column = 0;
};

struct ParseOptions {
  int64_t width = 0;  // > 0: finite width of every dense/conv layer whose width is not written (readout keeps 1)
};

class Architecture {
 public:
  static Architecture parse(const std::string& spec, const ParseOptions& options = {});

  const std::string& spec() const { return spec_; }
  const std::vector<ArchOp>& ops() const { return ops_; }
  // Input shape of every op and, last, the output shape. Throws (naming the op) when an input does not fit.
  std::vector<ExampleShape> infer_shapes(const ExampleShape& input) const;
  // Canonical form with every argument written out.
  std::string describe() const;
  // The same architecture with the given hidden width (see ParseOptions::width).
  Architecture with_width(int64_t width) const { return parse(spec_, ParseOptions{width}); }
  bool has_position_mixing() const;

 private:
  std::string spec_;
  std::vector<ArchOp> ops_;
};

// Shape of one example of a data tensor: (N, d) -> vector d; (N, H, W, C) -> image. Throws otherwise.
ExampleShape example_shape_of(const Tensor& x, const std::string& what);

}  // namespace ntk
