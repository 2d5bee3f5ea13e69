// The option tables of the solvers (see ntk/options.h and ntk/solvers.h).
#include <cmath>

#include "ntk/solvers.h"

namespace ntk {

const OptionTable<RegOptions>& reg_options() {
  static const OptionTable<RegOptions> table = [] {
    using R = RegOptions;
    OptionTable<R> t;
    t.add("diag_reg", &R::diag_reg,
          "diagonal regulariser, times the mean kernel diagonal unless reg_absolute (GP inference: the noise "
          "variance)")
        .at_least(0);
    t.add("reg_absolute", &R::absolute, "diag_reg is an absolute amount");
    t.add("jitter_start", &R::jitter_start,
          "first jitter (times the mean diagonal) added when the kernel is not numerically positive definite")
        .above(0);
    t.add("jitter_growth", &R::jitter_growth, "factor between jitter attempts").above(1);
    t.add("max_jitter_steps", &R::max_jitter_steps, "jitter attempts before giving up").at_least(0);
    return t;
  }();
  return table;
}

const OptionTable<SvmOptions>& svm_options() {
  static const OptionTable<SvmOptions> table = [] {
    using V = SvmOptions;
    OptionTable<V> t;
    t.add("C", &V::C, "SVM penalty C").above(0);
    t.add("tol", &V::tol, "libsvm stopping tolerance (scikit-learn's tol)").above(0);
    t.add("cache_mb", &V::cache_mb, "libsvm kernel cache in MB").above(0);
    t.add("shrinking", &V::shrinking, "libsvm's shrinking heuristics");
    return t;
  }();
  return table;
}

std::vector<double> default_select_values(SelectMethod method) {
  if (method == SelectMethod::kSvm) return {1e-2, 1e-1, 1e0, 1e1, 1e2, 1e3, 1e4};
  return {0.0, 1e-4, 1e-3, 1e-2, 1e-1, 1e0};
}

const OptionTable<SelectOptions>& select_options() {
  static const OptionTable<SelectOptions> table = [] {
    using S = SelectOptions;
    OptionTable<S> t;
    t.add_choice("method", &S::method,
                 std::vector<std::pair<std::string, SelectMethod>>{{"svm", SelectMethod::kSvm},
                                                                   {"regression", SelectMethod::kRegression}},
                 "svm (C grid) | regression (kernel regression, diag_reg grid)");
    t.add("values", &S::values,
          "grid of C (svm; default 1e-2..1e4) or diag_reg (regression; default 0,1e-4..1, relative to the "
          "mean "
          "diagonal unless reg_absolute)")
        .at_least(0);
    t.add("reg_absolute", &S::absolute_reg, "diag_reg values are absolute");
    t.add("classification", &S::classification,
          "regression method: score by the accuracy of one-hot regression (false: by -MSE on the targets)");
    t.add("target_off", &S::target_off, "one-hot target value off the class");
    t.add("target_on", &S::target_on, "one-hot target value of the class");
    t.include(svm_options(), &S::svm, {"tol"});
    return t;
  }();
  return table;
}

const OptionTable<PredictOptions>& predict_options() {
  static const OptionTable<PredictOptions> table = [] {
    using P = PredictOptions;
    OptionTable<P> t;
    t.add("time", &P::time, "training time t of the gradient flow (inf: converged, i.e. kernel regression)")
        .at_least(0)
        .allow_infinity();
    t.add("learning_rate", &P::learning_rate, "learning rate η").above(0).cli("--lr");
    t.add("steps", &P::steps, "discrete gradient-descent steps").at_least(0);
    t.include(reg_options(), &P::reg, {"diag_reg", "reg_absolute"});
    t.add("target_off", &P::target_off, "classification: one-hot target value off the class");
    t.add("target_on", &P::target_on,
          "classification: one-hot target value of the class (Arora et al. 2019: -0.1 / 0.9)");
    return t;
  }();
  return table;
}

}  // namespace ntk
