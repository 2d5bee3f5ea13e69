// Option tables (ntk/options.h): defaults from the struct, text parsing, bounds and choices with messages
// that name the option, included member structs, and the library's tables checked against their structs.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <set>

#include "ntk/bench_cifar.h"
#include "ntk/equivalence.h"
#include "ntk/error.h"
#include "ntk/experiments_uci.h"
#include "ntk/options.h"
#include "ntk/solvers.h"
#include "ntk/train.h"

namespace ntk {
namespace {

enum class Color { kRed, kBlue };

struct Inner {
  double rate = 0.5;
  bool fast = true;
};

struct Demo {
  int count = 3;
  uint64_t seed = 7;
  double rate = 0.25;
  std::string mode = "a";
  std::vector<int64_t> sizes = {1, 2};
  std::vector<std::string> names = {"x"};
  Color color = Color::kBlue;
  Inner inner;
  bool verbose = false;
};

const OptionTable<Inner>& inner_options() {
  static const OptionTable<Inner> t = [] {
    OptionTable<Inner> t;
    t.add("rate", &Inner::rate, "a rate").above(0).below(1);
    t.add("fast", &Inner::fast, "go fast");
    return t;
  }();
  return t;
}

const OptionTable<Demo>& demo_options() {
  static const OptionTable<Demo> t = [] {
    OptionTable<Demo> t;
    t.add("count", &Demo::count, "how many").at_least(1);
    t.add("seed", &Demo::seed, "seed");
    t.add("mode", &Demo::mode, "mode").one_of({"a", "b"});
    t.add("sizes", &Demo::sizes, "sizes").not_empty().at_least(1).cli("--size");
    t.add("names", &Demo::names, "names").one_of({"x", "y"});
    t.add_choice("color", &Demo::color,
                 std::vector<std::pair<std::string, Color>>{{"red", Color::kRed}, {"blue", Color::kBlue}},
                 "color");
    t.include(inner_options(), &Demo::inner, {"rate"});
    t.add("verbose_output", &Demo::verbose, "talk");
    return t;
  }();
  return t;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.message();
  }
  return "no error";
}

TEST(Options, DefaultsComeFromTheStruct) {
  const auto& t = demo_options();
  ASSERT_EQ(t.fields().size(), 8u);
  EXPECT_EQ(std::get<int64_t>(t.find("count")->spec.default_value), 3);
  EXPECT_EQ(std::get<uint64_t>(t.find("seed")->spec.default_value), 7u);
  EXPECT_EQ(std::get<std::string>(t.find("color")->spec.default_value), "blue");
  // An included option takes the outer struct's default and the inner table's bounds and doc.
  EXPECT_EQ(std::get<double>(t.find("rate")->spec.default_value), 0.5);
  EXPECT_EQ(t.find("rate")->spec.doc, "a rate");
  EXPECT_TRUE(t.find("rate")->spec.max_exclusive);
  EXPECT_EQ(format_option_value(t.find("sizes")->spec.default_value), "1,2");
}

TEST(Options, CliFlagsAreDerivedUnlessSpelled) {
  const auto& t = demo_options();
  EXPECT_EQ(t.find("verbose_output")->spec.cli_flag(), "--verbose-output");
  EXPECT_EQ(t.find("sizes")->spec.cli_flag(), "--size");
  EXPECT_EQ(equivalence_data_options().find("n_train")->spec.cli_flag(), "--train");
  EXPECT_EQ(equivalence_options().find("kernel_seeds")->spec.cli_flag(), "--kernel-seeds");
}

TEST(Options, SetAndGetByName) {
  Demo d;
  const auto& t = demo_options();
  t.set(d, "count", int64_t{5});
  t.set(d, "color", std::string("red"));
  t.set(d, "rate", 0.125);
  t.set(d, "sizes", std::vector<int64_t>{4, 8});
  EXPECT_EQ(d.count, 5);
  EXPECT_EQ(d.color, Color::kRed);
  EXPECT_EQ(d.inner.rate, 0.125);
  EXPECT_EQ(d.sizes, (std::vector<int64_t>{4, 8}));
  EXPECT_EQ(std::get<std::string>(t.find("color")->get(d)), "red");
  EXPECT_EQ(message_of([&] { t.set(d, "colour", std::string("red")); }), "unknown option 'colour'");
  EXPECT_EQ(message_of([&] { t.set(d, "color", std::string("green")); }),
            "color must be one of red, blue; got 'green'");
  // An int field refuses a value it cannot hold.
  EXPECT_NE(message_of([&] { t.set(d, "count", int64_t{1} << 40); }).find("count must be an integer in"),
            std::string::npos);
}

TEST(Options, ValidateNamesTheOption) {
  const auto& t = demo_options();
  Demo d;
  EXPECT_EQ(message_of([&] { t.validate(d); }), "no error");
  d.count = 0;
  EXPECT_EQ(message_of([&] { t.validate(d); }), "count must be >= 1, got 0");
  EXPECT_EQ(message_of([&] { t.validate(d, [](const OptionSpec& s) { return s.cli_flag(); }); }),
            "--count must be >= 1, got 0");
  d = Demo();
  d.inner.rate = 1.0;
  EXPECT_EQ(message_of([&] { t.validate(d); }), "rate must be in (0, 1), got 1");
  d.inner.rate = std::nan("");
  EXPECT_EQ(message_of([&] { t.validate(d); }), "rate must be a finite number, got nan");
  d = Demo();
  d.sizes = {};
  EXPECT_EQ(message_of([&] { t.validate(d); }), "sizes: empty list");
  d.sizes = {3, 0};
  EXPECT_EQ(message_of([&] { t.validate(d); }), "sizes must be >= 1, got 0");
  d = Demo();
  d.names = {"x", "z"};
  EXPECT_EQ(message_of([&] { t.validate(d); }), "names must be one of x, y; got 'z'");
  d = Demo();
  d.mode = "c";
  EXPECT_EQ(message_of([&] { t.validate(d); }), "mode must be one of a, b; got 'c'");
}

TEST(Options, ParseText) {
  const auto& t = demo_options();
  auto parse = [&](const char* name, const std::string& text) {
    return parse_option_value(t.find(name)->spec, text, std::string("--") + name);
  };
  EXPECT_EQ(std::get<int64_t>(parse("count", "12")), 12);
  EXPECT_EQ(std::get<std::vector<int64_t>>(parse("sizes", "64, 128,256")),
            (std::vector<int64_t>{64, 128, 256}));
  EXPECT_EQ(std::get<std::vector<std::string>>(parse("names", "x,y")), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(std::get<double>(parse("rate", "1e-3")), 1e-3);
  EXPECT_EQ(std::get<bool>(parse("verbose_output", "yes")), true);
  EXPECT_EQ(message_of([&] { parse("count", "3.5"); }), "--count: '3.5' is not an integer");
  EXPECT_EQ(message_of([&] { parse("sizes", "64,abc"); }),
            "--sizes: 'abc' is not an integer (expected a comma-separated list such as 64,256,1024)");
  EXPECT_EQ(message_of([&] { parse("seed", "-1"); }), "--seed: '-1' is not a non-negative integer");
  EXPECT_EQ(message_of([&] { parse("rate", "fast"); }), "--rate: 'fast' is not a number");
  EXPECT_EQ(message_of([&] { parse("names", "x,,y"); }), "--names: empty item in 'x,,y'");
  // Reals print in the shortest text that reads back exactly.
  EXPECT_EQ(format_option_value(0.1), "0.1");
  EXPECT_EQ(format_option_value(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(format_option_value(std::numeric_limits<double>::infinity()), "inf");
}

// Every table of the library: unique names, defaults that pass the table's own checks (a default outside its
// bounds would make the defaults unusable), and choices that contain the default.
template <class S>
void check_table(const OptionTable<S>& t, const char* what) {
  std::set<std::string> names, flags;
  for (const auto& f : t.fields()) {
    EXPECT_TRUE(names.insert(f.spec.name).second) << what << ": " << f.spec.name;
    EXPECT_TRUE(flags.insert(f.spec.cli_flag()).second) << what << ": " << f.spec.cli_flag();
    EXPECT_FALSE(f.spec.doc.empty()) << what << ": " << f.spec.name;
    EXPECT_EQ(static_cast<OptionKind>(f.spec.default_value.index()), f.spec.kind)
        << what << ": " << f.spec.name;
  }
  S s;
  if (!std::is_same_v<S, CifarBenchOptions>) {
    EXPECT_EQ(message_of([&] { t.validate(s); }), "no error") << what;
  }
}

TEST(Options, LibraryTablesAreConsistent) {
  check_table(train_options(), "train");
  check_table(equivalence_options(), "equivalence");
  check_table(equivalence_data_options(), "equivalence_data");
  check_table(reg_options(), "reg");
  check_table(svm_options(), "svm");
  check_table(select_options(), "select");
  check_table(predict_options(), "predict");
  check_table(experiments::uci_options(), "uci");
  check_table(cifar_bench_options(), "cifar10");
  // The one option without a usable default says so.
  EXPECT_EQ(message_of([] { cifar_bench_options().validate(CifarBenchOptions()); }), "data must be given");
}

}  // namespace
}  // namespace ntk
