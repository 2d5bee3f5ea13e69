// Recursive-descent parser of the architecture language (syntax only; names are resolved in architecture.cpp).
#include <cctype>
#include <cstdlib>

#include "ntk/arch.h"
#include "ntk/error.h"

namespace ntk {
namespace {

class SyntaxParser {
 public:
  explicit SyntaxParser(const std::string& s) : s_(s) {}

  std::vector<std::shared_ptr<ArchNode>> parse_all() {
    skip_space();
    NTK_THROW_IF_NOT(pos_ < s_.size(), "arch: the architecture is empty; expected e.g. 'dense, relu, dense'");
    std::vector<std::shared_ptr<ArchNode>> items;
    items.push_back(parse_item());
    skip_space();
    while (pos_ < s_.size()) {
      expect(',', "',' between layers");
      items.push_back(parse_item());
      skip_space();
    }
    return items;
  }

 private:
  int column() const { return static_cast<int>(pos_) + 1; }

  [[noreturn]] void fail(const std::string& what) const {
    std::string found = pos_ < s_.size() ? "'" + std::string(1, s_[pos_]) + "'" : "end of input";
    NTK_THROW("arch: column %d: expected %s, found %s", column(), what.c_str(), found.c_str());
  }

  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }

  void expect(char c, const char* what) {
    skip_space();
    if (pos_ >= s_.size() || s_[pos_] != c) fail(what);
    ++pos_;
  }

  bool peek(char c) {
    skip_space();
    return pos_ < s_.size() && s_[pos_] == c;
  }

  static bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
  static bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

  std::string parse_name(const char* what) {
    skip_space();
    if (pos_ >= s_.size() || !is_name_start(s_[pos_])) fail(what);
    size_t start = pos_;
    while (pos_ < s_.size() && is_name_char(s_[pos_])) ++pos_;
    return s_.substr(start, pos_ - start);
  }

  std::shared_ptr<ArchNode> parse_item() {
    skip_space();
    auto node = std::make_shared<ArchNode>();
    node->column = column();
    node->name = parse_name("a layer name");
    if (peek('(')) {
      ++pos_;
      node->has_parens = true;
      if (!peek(')')) {
        node->args.push_back(parse_arg());
        while (peek(',')) {
          ++pos_;
          node->args.push_back(parse_arg());
        }
      }
      expect(')', "',' or ')' in the argument list");
    }
    node->end_column = column();
    return node;
  }

  ArchArg parse_arg() {
    skip_space();
    ArchArg arg;
    arg.column = column();
    if (pos_ < s_.size() && is_name_start(s_[pos_])) {
      // NAME: a key (followed by '='), a nested item, or a bare word value (e.g. pad=same handled below).
      size_t save = pos_;
      std::string name = parse_name("a name");
      if (peek('=')) {
        ++pos_;
        arg.key = name;
        skip_space();
        arg.value_column = column();
        parse_value(arg);
        return arg;
      }
      pos_ = save;
      arg.value_column = arg.column;
      arg.node = parse_item();
      arg.text = arg.node->name;
      return arg;
    }
    arg.value_column = arg.column;
    parse_value(arg);
    return arg;
  }

  void parse_value(ArchArg& arg) {
    skip_space();
    if (pos_ < s_.size() && is_name_start(s_[pos_])) {
      arg.text = parse_name("a value");
      return;
    }
    const char* begin = s_.c_str() + pos_;
    char* end = nullptr;
    double v = std::strtod(begin, &end);
    if (end == begin) fail("a number or a name");
    arg.is_number = true;
    arg.number = v;
    arg.text = std::string(begin, static_cast<const char*>(end));
    pos_ += static_cast<size_t>(end - begin);
  }

  const std::string& s_;
  size_t pos_ = 0;
};

}  // namespace

std::vector<std::shared_ptr<ArchNode>> parse_arch_syntax(const std::string& spec) {
  return SyntaxParser(spec).parse_all();
}

}  // namespace ntk
