// CLI flags from the library's option tables (ntk/options.h): one flag per option, bound to a field of the
// command's options struct, with the option's doc as help and the struct's default as the shown default.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "ntk/error.h"
#include "ntk/options.h"

namespace ntk::cli {

// How CLI messages call an option: by its flag ("--seeds must be >= 1, got 0").
inline std::string flag_name(const OptionSpec& spec) {
  return spec.cli_flag();
}

// The CLI11 type name shown in --help.
inline const char* option_type_name(OptionKind kind) {
  switch (kind) {
    case OptionKind::kInt:
      return "INT";
    case OptionKind::kUInt:
      return "UINT";
    case OptionKind::kReal:
      return "FLOAT";
    case OptionKind::kIntList:
      return "INT,...";
    case OptionKind::kRealList:
      return "FLOAT,...";
    case OptionKind::kTextList:
      return "TEXT,...";
    default:
      return "TEXT";
  }
}

// Declares the options `names` of `table` (all of them when empty, in table order) on `cmd`, writing into
// `target`, which must outlive the parse. A flag option whose default is false is set by its flag; one whose
// default is true is turned off by its flag (`--no-<name>` unless the table spells it). Values are read as
// the option's kind and checked against its bounds and choices as they are read (an error names the flag).
template <class S>
void add_options(CLI::App* cmd, const OptionTable<S>& table, S& target,
                 const std::vector<std::string>& names = {}) {
  std::vector<const typename OptionTable<S>::Field*> fields;
  if (names.empty()) {
    for (const auto& f : table.fields()) fields.push_back(&f);
  } else {
    for (const std::string& n : names) {
      const auto* f = table.find(n);
      NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, f != nullptr, "no option %s", n.c_str());
      fields.push_back(f);
    }
  }
  for (const auto* f : fields) {
    const OptionSpec& spec = f->spec;
    if (spec.kind == OptionKind::kFlag) {
      const bool on_by_default = std::get<bool>(spec.default_value);
      std::string flag = spec.flag;
      if (flag.empty()) flag = on_by_default ? "--no-" + spec.cli_flag().substr(2) : spec.cli_flag();
      const std::string help = on_by_default ? spec.name + " off (default on): " + spec.doc : spec.doc;
      cmd->add_flag_function(
          flag,
          [f, &target, on_by_default](int64_t count) {
            if (count > 0) f->set(target, !on_by_default);
          },
          help);
      continue;
    }
    const std::string flag = spec.cli_flag();
    CLI::Option* o = cmd->add_option_function<std::string>(
        flag,
        [f, &target, flag](const std::string& text) {
          const OptionValue v = parse_option_value(f->spec, text, flag);
          check_option_value(f->spec, v, flag);
          f->set(target, v);
        },
        spec.doc);
    std::string type = option_type_name(spec.kind);
    if (!spec.choices.empty()) {
      type.clear();
      for (const std::string& c : spec.choices) type += (type.empty() ? "" : "|") + c;
      if (spec.kind == OptionKind::kTextList) type += ",...";
    }
    o->type_name(type);
    if (spec.required)
      o->required();
    else
      o->default_str(format_option_value(spec.default_value));
  }
}

// Checks `s` against its table, naming options by their flags.
template <class S>
void validate_flags(const OptionTable<S>& table, const S& s) {
  table.validate(s, flag_name);
}

}  // namespace ntk::cli
