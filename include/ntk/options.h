// Options declared once.
//
// An options struct of the library (EquivalenceOptions, TrainOptions, SvmOptions, ...) keeps the default of
// every option in its member initialiser, and describes its options in one table beside it: for each option
// its name, what it holds, its bounds or choices and one line of documentation. Everything else reads that
// table:
//   - the library validates a struct against it, so that a message names the option ("seeds must be >= 1,
//     got 0"), whichever front end set it;
//   - the CLI declares one flag per option (src/cli/options.h): `--` + the name with '-' for '_' unless the
//     table gives another spelling, the doc as help, the struct's default as the shown default;
//   - Python lists the table (`ntk.option_specs(group)`: name, kind, default, bounds, doc) for its keyword
//     defaults, and sets a struct from keyword arguments by name.
//
// A table for a struct S (see src/experiments/equivalence_run.cpp for a full one):
//
//   const OptionTable<S>& s_options() {
//     static const OptionTable<S> table = [] {
//       OptionTable<S> t;
//       t.add("seeds", &S::seeds, "networks per width").at_least(1);
//       t.add_choice("f0", &S::f0,
//                    std::vector<std::pair<std::string, F0Mode>>{{"twin", F0Mode::kTwin}, {"keep",
//                    F0Mode::kKeep}}, "initial outputs: ...");
//       t.include(train_options(), &S::train, {"steps", "learning_rate"});
//       return t;
//     }();
//     return table;
//   }
//
// Fields are named by pointers to members; the options of a member struct come in by include(). Defaults are
// read from a default-constructed S, so an included option takes S's default (EquivalenceOptions' 60 steps),
// not the member struct's.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "ntk/error.h"

namespace ntk {

// What an option holds. The order is that of OptionValue's alternatives.
enum class OptionKind { kFlag, kInt, kUInt, kReal, kText, kIntList, kRealList, kTextList };
const char* option_kind_name(OptionKind kind);  // "flag", "int", "uint", "real", "text", "int list", ...

// An option's value, whatever field type holds it (int and int64_t as kInt, enums as their name, ...).
using OptionValue = std::variant<bool, int64_t, uint64_t, double, std::string, std::vector<int64_t>,
                                 std::vector<double>, std::vector<std::string>>;

struct OptionSpec {
  std::string name;  // in messages, Python keywords, and (with '-' for '_') the CLI flag
  std::string doc;   // one line: CLI help, Python documentation
  OptionKind kind = OptionKind::kText;
  OptionValue default_value;  // of the options struct (its member initialiser)
  std::string flag;           // the CLI flag when it is not cli_flag()'s derived one (e.g. "--train")
  // Numbers, and every element of a list of numbers: min <= v <= max (strict at an exclusive end).
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool min_exclusive = false, max_exclusive = false;
  bool infinity_allowed = false;     // reals: +-inf accepted (within the bounds); NaN never is
  bool nonempty = false;             // lists: at least one element
  bool required = false;             // texts: must be given (no usable default)
  std::vector<std::string> choices;  // texts and text lists: the accepted values (empty: any)

  // Builders, chained after OptionTable::add.
  OptionSpec& at_least(double v) { return min = v, min_exclusive = false, *this; }
  OptionSpec& above(double v) { return min = v, min_exclusive = true, *this; }
  OptionSpec& at_most(double v) { return max = v, max_exclusive = false, *this; }
  OptionSpec& below(double v) { return max = v, max_exclusive = true, *this; }
  OptionSpec& allow_infinity() { return infinity_allowed = true, *this; }
  OptionSpec& not_empty() { return nonempty = true, *this; }
  OptionSpec& must_be_given() { return required = true, *this; }
  OptionSpec& one_of(std::vector<std::string> values) { return choices = std::move(values), *this; }
  OptionSpec& cli(std::string spelling) { return flag = std::move(spelling), *this; }

  // `flag`, or "--" + name with '-' for '_' ("kernel_seeds" -> "--kernel-seeds").
  std::string cli_flag() const;
  bool has_bounds() const;
};

// How a message calls an option: its name (the library's default) or, in the CLI, its flag.
using OptionNamer = std::function<std::string(const OptionSpec&)>;

// "3", "0.75", "inf", "true", "64,128,256", "example" (lists comma-separated; reals in the shortest text that
// reads back to the same double).
std::string format_option_value(const OptionValue& value);
// Reads `text` as a value of spec's kind (lists comma-separated; flags true/false/1/0/yes/no). Throws
// ntk::Error naming the option as `shown` on text that is not such a value ("--widths: 'abc' is not an
// integer"); bounds are checked by check_option_value.
OptionValue parse_option_value(const OptionSpec& spec, const std::string& text, const std::string& shown);
// Throws ntk::Error when `value` is outside spec's bounds or choices, naming the option as `shown`:
// "seeds must be >= 1, got 0", "momentum must be in [0, 1), got 1", "lr_kernel must be one of both,
// empirical; got 'x'", "widths: empty list".
void check_option_value(const OptionSpec& spec, const OptionValue& value, const std::string& shown);

namespace options_detail {

template <class T>
struct KindOf;
template <>
struct KindOf<bool> {
  static constexpr OptionKind value = OptionKind::kFlag;
};
template <>
struct KindOf<int> {
  static constexpr OptionKind value = OptionKind::kInt;
};
template <>
struct KindOf<int64_t> {
  static constexpr OptionKind value = OptionKind::kInt;
};
template <>
struct KindOf<uint64_t> {
  static constexpr OptionKind value = OptionKind::kUInt;
};
template <>
struct KindOf<double> {
  static constexpr OptionKind value = OptionKind::kReal;
};
template <>
struct KindOf<std::string> {
  static constexpr OptionKind value = OptionKind::kText;
};
template <>
struct KindOf<std::vector<int>> {
  static constexpr OptionKind value = OptionKind::kIntList;
};
template <>
struct KindOf<std::vector<int64_t>> {
  static constexpr OptionKind value = OptionKind::kIntList;
};
template <>
struct KindOf<std::vector<double>> {
  static constexpr OptionKind value = OptionKind::kRealList;
};
template <>
struct KindOf<std::vector<std::string>> {
  static constexpr OptionKind value = OptionKind::kTextList;
};

inline OptionValue to_value(bool v) {
  return v;
}
inline OptionValue to_value(int v) {
  return static_cast<int64_t>(v);
}
inline OptionValue to_value(int64_t v) {
  return v;
}
inline OptionValue to_value(uint64_t v) {
  return v;
}
inline OptionValue to_value(double v) {
  return v;
}
inline OptionValue to_value(const std::string& v) {
  return v;
}
inline OptionValue to_value(const std::vector<int>& v) {
  return std::vector<int64_t>(v.begin(), v.end());
}
inline OptionValue to_value(const std::vector<int64_t>& v) {
  return v;
}
inline OptionValue to_value(const std::vector<double>& v) {
  return v;
}
inline OptionValue to_value(const std::vector<std::string>& v) {
  return v;
}

// The alternative of `kind`; throws (an internal error: front ends convert to the spec's kind first) when
// the value holds another.
template <class A>
const A& get_as(const OptionValue& v, const std::string& name) {
  const A* a = std::get_if<A>(&v);
  NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, a != nullptr, "option %s: value of the wrong kind",
                        name.c_str());
  return *a;
}
// int fields: the value must fit.
int narrow_int(int64_t v, const std::string& name);

inline void from_value(const OptionValue& v, bool& f, const std::string& n) {
  f = get_as<bool>(v, n);
}
inline void from_value(const OptionValue& v, int& f, const std::string& n) {
  f = narrow_int(get_as<int64_t>(v, n), n);
}
inline void from_value(const OptionValue& v, int64_t& f, const std::string& n) {
  f = get_as<int64_t>(v, n);
}
inline void from_value(const OptionValue& v, uint64_t& f, const std::string& n) {
  f = get_as<uint64_t>(v, n);
}
inline void from_value(const OptionValue& v, double& f, const std::string& n) {
  f = get_as<double>(v, n);
}
inline void from_value(const OptionValue& v, std::string& f, const std::string& n) {
  f = get_as<std::string>(v, n);
}
inline void from_value(const OptionValue& v, std::vector<int>& f, const std::string& n) {
  const auto& a = get_as<std::vector<int64_t>>(v, n);
  f.clear();
  for (int64_t x : a) f.push_back(narrow_int(x, n));
}
inline void from_value(const OptionValue& v, std::vector<int64_t>& f, const std::string& n) {
  f = get_as<std::vector<int64_t>>(v, n);
}
inline void from_value(const OptionValue& v, std::vector<double>& f, const std::string& n) {
  f = get_as<std::vector<double>>(v, n);
}
inline void from_value(const OptionValue& v, std::vector<std::string>& f, const std::string& n) {
  f = get_as<std::vector<std::string>>(v, n);
}

}  // namespace options_detail

// The options of one struct S, in declaration order (which is also the order of CLI help and Python listing).
template <class S>
class OptionTable {
 public:
  struct Field {
    OptionSpec spec;
    std::function<OptionValue(const S&)> get;
    std::function<void(S&, const OptionValue&)> set;  // the value must be of spec.kind (checked)
  };

  // An option held by a field of S: `field` is a pointer to member (&S::seeds) or a callable returning a
  // reference to the field. The field is bool, int, int64_t, uint64_t, double, std::string or a vector of
  // int, int64_t, double or std::string.
  template <class F>
  OptionSpec& add(const std::string& name, F field, const std::string& doc) {
    using T = std::remove_cv_t<std::remove_reference_t<std::invoke_result_t<F, S&>>>;
    Field f;
    f.spec.name = name;
    f.spec.doc = doc;
    f.spec.kind = options_detail::KindOf<T>::value;
    f.get = [field](const S& s) { return options_detail::to_value(std::invoke(field, const_cast<S&>(s))); };
    f.set = [field, name](S& s, const OptionValue& v) {
      options_detail::from_value(v, std::invoke(field, s), name);
    };
    return push(std::move(f));
  }

  // An option held by an enum field, written as one of `names` (kText with those choices).
  template <class F, class E>
  OptionSpec& add_choice(const std::string& name, F field, std::vector<std::pair<std::string, E>> names,
                         const std::string& doc) {
    static_assert(std::is_same_v<std::remove_reference_t<std::invoke_result_t<F, S&>>, E>,
                  "add_choice: the field's type must be the enum of `names`");
    Field f;
    f.spec.name = name;
    f.spec.doc = doc;
    f.spec.kind = OptionKind::kText;
    for (const auto& n : names) f.spec.choices.push_back(n.first);
    f.get = [field, names, name](const S& s) -> OptionValue {
      const E e = std::invoke(field, const_cast<S&>(s));
      for (const auto& n : names)
        if (n.second == e) return n.first;
      NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, false, "option %s: value without a name", name.c_str());
      return std::string();
    };
    f.set = [field, names, name](S& s, const OptionValue& v) {
      const std::string& text = options_detail::get_as<std::string>(v, name);
      for (const auto& n : names)
        if (n.first == text) {
          std::invoke(field, s) = n.second;
          return;
        }
      // Not one of the choices: the same message as validation gives.
      OptionSpec spec;
      spec.name = name;
      spec.kind = OptionKind::kText;
      for (const auto& n : names) spec.choices.push_back(n.first);
      check_option_value(spec, v, name);
    };
    return push(std::move(f));
  }

  // The options `names` of a member struct M (`member`: &S::train, or a callable returning it), with M's
  // table's specs (bounds, doc, flag) and S's defaults. Adjust a spec afterwards with spec(name).
  template <class M, class F>
  void include(const OptionTable<M>& table, F member, const std::vector<std::string>& names) {
    for (const std::string& n : names) {
      const typename OptionTable<M>::Field* in = table.find(n);
      NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, in != nullptr, "include: no option %s", n.c_str());
      Field f;
      f.spec = in->spec;
      auto get = in->get;
      auto set = in->set;
      f.get = [member, get](const S& s) { return get(std::invoke(member, const_cast<S&>(s))); };
      f.set = [member, set](S& s, const OptionValue& v) { set(std::invoke(member, s), v); };
      push(std::move(f));
    }
  }

  const std::vector<Field>& fields() const { return fields_; }
  const Field* find(const std::string& name) const {
    for (const Field& f : fields_)
      if (f.spec.name == name) return &f;
    return nullptr;
  }
  // The spec of option `name` (to adjust it while building the table).
  OptionSpec& spec(const std::string& name) {
    for (Field& f : fields_)
      if (f.spec.name == name) return f.spec;
    NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, false, "no option %s", name.c_str());
    return fields_.front().spec;
  }
  std::vector<OptionSpec> specs() const {
    std::vector<OptionSpec> out;
    for (const Field& f : fields_) out.push_back(f.spec);
    return out;
  }

  // Sets option `name` of s (a value of its kind; bounds are checked by validate). Throws on an unknown name.
  void set(S& s, const std::string& name, const OptionValue& value) const {
    const Field* f = find(name);
    NTK_THROW_IF_NOT(f != nullptr, "unknown option '%s'", name.c_str());
    f->set(s, value);
  }

  // Checks every option of s against its spec; messages name the option as `shown` says (default: its name).
  void validate(const S& s, const OptionNamer& shown = {}) const {
    for (const Field& f : fields_) check_option_value(f.spec, f.get(s), shown ? shown(f.spec) : f.spec.name);
  }

 private:
  OptionSpec& push(Field f) {
    for (const Field& g : fields_)
      NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, g.spec.name != f.spec.name, "option %s declared twice",
                            f.spec.name.c_str());
    f.spec.default_value = f.get(S{});
    fields_.push_back(std::move(f));
    return fields_.back().spec;
  }
  std::vector<Field> fields_;
};

}  // namespace ntk
