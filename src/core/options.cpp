// Values, parsing and checks of the option tables (see ntk/options.h).
#include "ntk/options.h"

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace ntk {

const char* option_kind_name(OptionKind kind) {
  switch (kind) {
    case OptionKind::kFlag:
      return "flag";
    case OptionKind::kInt:
      return "int";
    case OptionKind::kUInt:
      return "uint";
    case OptionKind::kReal:
      return "real";
    case OptionKind::kText:
      return "text";
    case OptionKind::kIntList:
      return "int list";
    case OptionKind::kRealList:
      return "real list";
    case OptionKind::kTextList:
      return "text list";
  }
  return "?";
}

std::string OptionSpec::cli_flag() const {
  if (!flag.empty()) return flag;
  std::string out = "--" + name;
  for (char& c : out)
    if (c == '_') c = '-';
  return out;
}

bool OptionSpec::has_bounds() const {
  return std::isfinite(min) || std::isfinite(max);
}

namespace options_detail {

int narrow_int(int64_t v, const std::string& name) {
  NTK_THROW_IF_NOT(v >= INT_MIN && v <= INT_MAX, "%s must be an integer in [%d, %d], got %lld", name.c_str(),
                   INT_MIN, INT_MAX, static_cast<long long>(v));
  return static_cast<int>(v);
}

}  // namespace options_detail

namespace {

std::string real_text(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (std::isnan(v)) return "nan";
  char buf[40];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

template <class T>
std::string join(const std::vector<T>& items, std::string (*text)(const T&)) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + text(items[i]);
  return out;
}

std::string int_text(const int64_t& v) {
  return std::to_string(v);
}
std::string real_text_ref(const double& v) {
  return real_text(v);
}
std::string same_text(const std::string& v) {
  return v;
}

std::vector<std::string> split_items(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const size_t b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    out.push_back(b == std::string::npos ? std::string() : item.substr(b, e - b + 1));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

int64_t parse_int(const std::string& item, const std::string& shown, bool list) {
  errno = 0;
  char* end = nullptr;
  const long long v = item.empty() ? 0 : std::strtoll(item.c_str(), &end, 10);
  NTK_THROW_IF_NOT(!item.empty() && end == item.c_str() + item.size() && errno == 0,
                   "%s: '%s' is not an integer%s", shown.c_str(), item.c_str(),
                   list ? " (expected a comma-separated list such as 64,256,1024)" : "");
  return v;
}

uint64_t parse_uint(const std::string& item, const std::string& shown) {
  errno = 0;
  char* end = nullptr;
  const bool digits = !item.empty() && item.find_first_not_of("0123456789") == std::string::npos;
  const unsigned long long v = digits ? std::strtoull(item.c_str(), &end, 10) : 0;
  NTK_THROW_IF_NOT(digits && errno == 0, "%s: '%s' is not a non-negative integer", shown.c_str(),
                   item.c_str());
  return v;
}

double parse_real(const std::string& item, const std::string& shown) {
  char* end = nullptr;
  const double v = item.empty() ? 0 : std::strtod(item.c_str(), &end);
  NTK_THROW_IF_NOT(!item.empty() && end == item.c_str() + item.size(), "%s: '%s' is not a number",
                   shown.c_str(), item.c_str());
  return v;
}

std::string bound_text(const OptionSpec& s) {
  const bool lo = std::isfinite(s.min), hi = std::isfinite(s.max);
  if (lo && hi)
    return strprintf("in %s%s, %s%s", s.min_exclusive ? "(" : "[", real_text(s.min).c_str(),
                     real_text(s.max).c_str(), s.max_exclusive ? ")" : "]");
  if (lo) return strprintf("%s %s", s.min_exclusive ? ">" : ">=", real_text(s.min).c_str());
  return strprintf("%s %s", s.max_exclusive ? "<" : "<=", real_text(s.max).c_str());
}

bool within(const OptionSpec& s, double v) {
  if (s.min_exclusive ? !(v > s.min) : !(v >= s.min)) return false;
  if (s.max_exclusive ? !(v < s.max) : !(v <= s.max)) return false;
  return true;
}

void check_number(const OptionSpec& s, double v, const std::string& text, const std::string& shown) {
  NTK_THROW_IF_NOT(!std::isnan(v) && (s.infinity_allowed || !std::isinf(v)),
                   "%s must be a finite number, got %s", shown.c_str(), text.c_str());
  NTK_THROW_IF_NOT(within(s, v), "%s must be %s, got %s", shown.c_str(), bound_text(s).c_str(), text.c_str());
}

void check_choice(const OptionSpec& s, const std::string& v, const std::string& shown) {
  if (s.choices.empty()) return;
  for (const std::string& c : s.choices)
    if (c == v) return;
  std::string list;
  for (size_t i = 0; i < s.choices.size(); ++i) list += (i ? ", " : "") + s.choices[i];
  NTK_THROW("%s must be one of %s; got '%s'", shown.c_str(), list.c_str(), v.c_str());
}

}  // namespace

std::string format_option_value(const OptionValue& value) {
  switch (static_cast<OptionKind>(value.index())) {
    case OptionKind::kFlag:
      return std::get<bool>(value) ? "true" : "false";
    case OptionKind::kInt:
      return std::to_string(std::get<int64_t>(value));
    case OptionKind::kUInt:
      return std::to_string(std::get<uint64_t>(value));
    case OptionKind::kReal:
      return real_text(std::get<double>(value));
    case OptionKind::kText:
      return std::get<std::string>(value);
    case OptionKind::kIntList:
      return join<int64_t>(std::get<std::vector<int64_t>>(value), int_text);
    case OptionKind::kRealList:
      return join<double>(std::get<std::vector<double>>(value), real_text_ref);
    case OptionKind::kTextList:
      return join<std::string>(std::get<std::vector<std::string>>(value), same_text);
  }
  return "";
}

OptionValue parse_option_value(const OptionSpec& spec, const std::string& text, const std::string& shown) {
  switch (spec.kind) {
    case OptionKind::kFlag: {
      if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
      if (text == "false" || text == "0" || text == "no" || text == "off") return false;
      NTK_THROW("%s: '%s' is not true or false", shown.c_str(), text.c_str());
    }
    case OptionKind::kInt:
      return parse_int(text, shown, false);
    case OptionKind::kUInt:
      return parse_uint(text, shown);
    case OptionKind::kReal:
      return parse_real(text, shown);
    case OptionKind::kText:
      return text;
    case OptionKind::kIntList: {
      std::vector<int64_t> out;
      if (!text.empty())
        for (const std::string& item : split_items(text)) out.push_back(parse_int(item, shown, true));
      return out;
    }
    case OptionKind::kRealList: {
      std::vector<double> out;
      if (!text.empty())
        for (const std::string& item : split_items(text)) out.push_back(parse_real(item, shown));
      return out;
    }
    case OptionKind::kTextList: {
      std::vector<std::string> out;
      if (!text.empty())
        for (const std::string& item : split_items(text)) {
          NTK_THROW_IF_NOT(!item.empty(), "%s: empty item in '%s'", shown.c_str(), text.c_str());
          out.push_back(item);
        }
      return out;
    }
  }
  return text;
}

void check_option_value(const OptionSpec& spec, const OptionValue& value, const std::string& shown) {
  NTK_THROW_KIND_IF_NOT(ErrorKind::kInternal, static_cast<OptionKind>(value.index()) == spec.kind,
                        "option %s: a %s value for a %s option", spec.name.c_str(),
                        option_kind_name(static_cast<OptionKind>(value.index())),
                        option_kind_name(spec.kind));
  switch (spec.kind) {
    case OptionKind::kFlag:
      return;
    case OptionKind::kInt: {
      const int64_t v = std::get<int64_t>(value);
      check_number(spec, static_cast<double>(v), std::to_string(v), shown);
      return;
    }
    case OptionKind::kUInt: {
      const uint64_t v = std::get<uint64_t>(value);
      check_number(spec, static_cast<double>(v), std::to_string(v), shown);
      return;
    }
    case OptionKind::kReal: {
      const double v = std::get<double>(value);
      check_number(spec, v, real_text(v), shown);
      return;
    }
    case OptionKind::kText: {
      const std::string& v = std::get<std::string>(value);
      NTK_THROW_IF_NOT(!spec.required || !v.empty(), "%s must be given", shown.c_str());
      check_choice(spec, v, shown);
      return;
    }
    case OptionKind::kIntList: {
      const auto& v = std::get<std::vector<int64_t>>(value);
      NTK_THROW_IF_NOT(!spec.nonempty || !v.empty(), "%s: empty list", shown.c_str());
      for (int64_t x : v) check_number(spec, static_cast<double>(x), std::to_string(x), shown);
      return;
    }
    case OptionKind::kRealList: {
      const auto& v = std::get<std::vector<double>>(value);
      NTK_THROW_IF_NOT(!spec.nonempty || !v.empty(), "%s: empty list", shown.c_str());
      for (double x : v) check_number(spec, x, real_text(x), shown);
      return;
    }
    case OptionKind::kTextList: {
      const auto& v = std::get<std::vector<std::string>>(value);
      NTK_THROW_IF_NOT(!spec.nonempty || !v.empty(), "%s: empty list", shown.c_str());
      for (const std::string& x : v) check_choice(spec, x, shown);
      return;
    }
  }
}

}  // namespace ntk
