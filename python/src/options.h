// The library's option tables (ntk/options.h) in Python: specs as dicts (ntk._ntk.option_specs), values to
// and from Python objects, and options structs set from keyword arguments by name. Header-only: every binding
// file that takes options includes it.
#pragma once

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <string>
#include <vector>

#include "ntk/error.h"
#include "ntk/options.h"

namespace ntk::py_bindings {

namespace py = pybind11;

inline py::object option_to_py(const OptionValue& v) {
  return std::visit([](const auto& x) -> py::object { return py::cast(x); }, v);
}

namespace options_detail {

inline std::string repr_of(const py::handle& h) {
  return py::str(py::repr(h)).cast<std::string>();
}

inline bool is_int(const py::handle& h) {
  // Python ints and NumPy integers (operator.index), not bools.
  return !PyBool_Check(h.ptr()) && PyIndex_Check(h.ptr()) && !PyFloat_Check(h.ptr());
}

inline int64_t int_of(const OptionSpec& s, const py::handle& h) {
  NTK_THROW_IF_NOT(is_int(h), "%s must be an integer, got %s", s.name.c_str(), repr_of(h).c_str());
  try {
    return py::cast<int64_t>(py::reinterpret_steal<py::object>(PyNumber_Index(h.ptr())));
  } catch (const py::cast_error&) {
    NTK_THROW("%s: %s does not fit in 64 bits", s.name.c_str(), repr_of(h).c_str());
  }
}

inline double real_of(const OptionSpec& s, const py::handle& h) {
  const bool number = !PyBool_Check(h.ptr()) &&
                      (PyFloat_Check(h.ptr()) || PyIndex_Check(h.ptr()) || py::hasattr(h, "__float__"));
  NTK_THROW_IF_NOT(number && !py::isinstance<py::str>(h), "%s must be a number, got %s", s.name.c_str(),
                   repr_of(h).c_str());
  return py::cast<double>(py::reinterpret_steal<py::object>(PyNumber_Float(h.ptr())));
}

inline std::string text_of(const OptionSpec& s, const py::handle& h) {
  NTK_THROW_IF_NOT(py::isinstance<py::str>(h), "%s must be a string, got %s", s.name.c_str(),
                   repr_of(h).c_str());
  return h.cast<std::string>();
}

inline std::vector<py::handle> items_of(const OptionSpec& s, const py::handle& h) {
  NTK_THROW_IF_NOT(!py::isinstance<py::str>(h) && py::isinstance<py::iterable>(h),
                   "%s must be a sequence, got %s", s.name.c_str(), repr_of(h).c_str());
  std::vector<py::handle> out;
  for (const py::handle& item : h) out.push_back(item);
  return out;
}

}  // namespace options_detail

// A Python value for option `spec` (ints for int options, any real number for real ones, str, sequences for
// lists; NumPy scalars and arrays are fine). Throws ntk::Error (ValueError) naming the option.
inline OptionValue option_from_py(const OptionSpec& spec, const py::handle& h) {
  using namespace options_detail;
  switch (spec.kind) {
    case OptionKind::kFlag: {
      const bool ok = PyBool_Check(h.ptr()) || (py::hasattr(h, "dtype") && py::hasattr(h, "__bool__"));
      NTK_THROW_IF_NOT(ok, "%s must be True or False, got %s", spec.name.c_str(), repr_of(h).c_str());
      return PyObject_IsTrue(h.ptr()) == 1;
    }
    case OptionKind::kInt:
      return int_of(spec, h);
    case OptionKind::kUInt: {
      const int64_t v = int_of(spec, h);
      NTK_THROW_IF_NOT(v >= 0, "%s must be >= 0, got %lld", spec.name.c_str(), static_cast<long long>(v));
      return static_cast<uint64_t>(v);
    }
    case OptionKind::kReal:
      return real_of(spec, h);
    case OptionKind::kText:
      return text_of(spec, h);
    case OptionKind::kIntList: {
      std::vector<int64_t> v;
      for (const py::handle& x : items_of(spec, h)) v.push_back(int_of(spec, x));
      return v;
    }
    case OptionKind::kRealList: {
      std::vector<double> v;
      for (const py::handle& x : items_of(spec, h)) v.push_back(real_of(spec, x));
      return v;
    }
    case OptionKind::kTextList: {
      std::vector<std::string> v;
      for (const py::handle& x : items_of(spec, h)) v.push_back(text_of(spec, x));
      return v;
    }
  }
  return std::string();
}

// {name, kind, default, doc, cli, min, max, min_exclusive, max_exclusive, choices, nonempty, required}; min
// and max are None when unbounded.
inline py::dict option_spec_dict(const OptionSpec& s) {
  py::dict d;
  d["name"] = s.name;
  d["kind"] = option_kind_name(s.kind);
  d["default"] = option_to_py(s.default_value);
  d["doc"] = s.doc;
  d["cli"] = s.cli_flag();
  d["min"] = std::isfinite(s.min) ? py::object(py::float_(s.min)) : py::object(py::none());
  d["max"] = std::isfinite(s.max) ? py::object(py::float_(s.max)) : py::object(py::none());
  d["min_exclusive"] = s.min_exclusive;
  d["max_exclusive"] = s.max_exclusive;
  d["choices"] = s.choices;
  d["nonempty"] = s.nonempty;
  d["required"] = s.required;
  return d;
}

template <class S>
py::list option_spec_list(const OptionTable<S>& table) {
  py::list out;
  for (const OptionSpec& s : table.specs()) out.append(option_spec_dict(s));
  return out;
}

// Sets every option of `table` named in `kwargs` (removing it from kwargs) and checks the struct against the
// table; the keys left are not options of this table.
template <class S>
void take_options(const OptionTable<S>& table, S& target, py::dict& kwargs) {
  for (const auto& f : table.fields()) {
    const py::str key(f.spec.name);
    if (!kwargs.contains(key)) continue;
    const OptionValue v = option_from_py(f.spec, kwargs[key]);
    check_option_value(f.spec, v, f.spec.name);
    f.set(target, v);
    PyDict_DelItem(kwargs.ptr(), key.ptr());
  }
}

// Throws naming the first key left over (an option no table knows).
inline void reject_unknown(const py::dict& kwargs, const char* what) {
  for (const auto& item : kwargs)
    NTK_THROW("%s: unknown option '%s'", what, py::str(item.first).cast<std::string>().c_str());
}

}  // namespace ntk::py_bindings
