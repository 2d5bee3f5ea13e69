// Bindings of the solvers: Cholesky, gradient flow, GP inference, one-hot regression, SVM, model selection.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common.h"
#include "ntk/error.h"
#include "ntk/solvers.h"
#include "options.h"

namespace ntk::py_bindings {

void init_solvers(py::module_& m) {
  m.def("cholesky_solve", [](const DArr& k, const DArr& b, double diag_reg, bool absolute) {
    Matrix km = to_matrix(k, "k"), bm = to_matrix(b, "b", true);
    SolveInfo info;
    Matrix x;
    {
      py::gil_scoped_release release;
      x = cholesky_solve(km, bm, make_reg(diag_reg, absolute), &info);
    }
    return py::make_tuple(own_matrix(std::move(x)), info.diag_added, info.jitter, info.warning);
  });
  py::class_<GradientFlow>(m, "GradientFlow")
      .def(py::init([](const DArr& theta, double lr, double diag_reg, bool absolute) {
        return std::make_unique<GradientFlow>(to_matrix(theta, "k_train_train"), lr,
                                              make_reg(diag_reg, absolute));
      }))
      .def("predict_train",
           [](const GradientFlow& g, double t, const DArr& y, const std::optional<DArr>& f0) {
             Matrix ym = to_matrix(y, "y_train", true);
             auto f0m = to_opt_matrix(f0, "f0_train", true);
             py::gil_scoped_release release;
             Matrix out = g.predict_train(t, ym, ptr(f0m));
             py::gil_scoped_acquire acquire;
             return own_matrix(std::move(out));
           })
      .def("predict_test",
           [](const GradientFlow& g, double t, const DArr& kt, const DArr& y, const std::optional<DArr>& f0tr,
              const std::optional<DArr>& f0te) {
             Matrix ktm = to_matrix(kt, "k_test_train"), ym = to_matrix(y, "y_train", true);
             auto a = to_opt_matrix(f0tr, "f0_train", true), b = to_opt_matrix(f0te, "f0_test", true);
             py::gil_scoped_release release;
             Matrix out = g.predict_test(t, ktm, ym, ptr(a), ptr(b));
             py::gil_scoped_acquire acquire;
             return own_matrix(std::move(out));
           })
      .def("predict_train_steps",
           [](const GradientFlow& g, int64_t steps, const DArr& y, const std::optional<DArr>& f0) {
             Matrix ym = to_matrix(y, "y_train", true);
             auto f0m = to_opt_matrix(f0, "f0_train", true);
             py::gil_scoped_release release;
             Matrix out = g.predict_train_steps(steps, ym, ptr(f0m));
             py::gil_scoped_acquire acquire;
             return own_matrix(std::move(out));
           })
      .def("predict_test_steps",
           [](const GradientFlow& g, int64_t steps, const DArr& kt, const DArr& y,
              const std::optional<DArr>& f0tr, const std::optional<DArr>& f0te) {
             Matrix ktm = to_matrix(kt, "k_test_train"), ym = to_matrix(y, "y_train", true);
             auto a = to_opt_matrix(f0tr, "f0_train", true), b = to_opt_matrix(f0te, "f0_test", true);
             py::gil_scoped_release release;
             Matrix out = g.predict_test_steps(steps, ktm, ym, ptr(a), ptr(b));
             py::gil_scoped_acquire acquire;
             return own_matrix(std::move(out));
           })
      .def_property_readonly("learning_rate", &GradientFlow::learning_rate)
      // What the factorisations so far had to do (the library does not print; ntk.predict warns).
      .def_property_readonly("warning", [](const GradientFlow& g) { return g.info().warning; });
  m.def("gradient_descent_steps",
        [](const DArr& ktt, const std::optional<DArr>& kt, const DArr& y, double lr, int64_t steps,
           const std::optional<DArr>& f0tr, const std::optional<DArr>& f0te) {
          NTK_THROW_IF_NOT(steps >= 0, "steps must be >= 0, got %lld", static_cast<long long>(steps));
          Matrix kttm = to_matrix(ktt, "k_train_train"), ym = to_matrix(y, "y_train", true);
          auto ktm = to_opt_matrix(kt, "k_test_train");
          auto a = to_opt_matrix(f0tr, "f0_train", true), b = to_opt_matrix(f0te, "f0_test", true);
          GdTrajectory r;
          {
            py::gil_scoped_release release;
            r = gradient_descent_steps(kttm, ptr(ktm), ym, lr, steps, ptr(a), ptr(b));
          }
          return py::make_tuple(own_matrix(std::move(r.train)), opt_matrix(std::move(r.test)));
        });
  auto gp_tuple = [](GpPrediction&& p) {
    return py::make_tuple(own_matrix(std::move(p.mean)), opt_matrix(std::move(p.covariance)),
                          p.variance.size() ? py::object(own_vector(std::move(p.variance))) : py::none(),
                          p.info.warning);
  };
  m.def("nngp_posterior", [gp_tuple](const DArr& ktt, const DArr& kt, const DArr& y,
                                     const std::optional<DArr>& kss, const std::optional<DArr>& kdiag,
                                     double diag_reg, bool absolute) {
    Matrix kttm = to_matrix(ktt, "k_train_train"), ktm = to_matrix(kt, "k_test_train"),
           ym = to_matrix(y, "y_train", true);
    auto kssm = to_opt_matrix(kss, "k_test_test");
    std::optional<Vector> diag;
    if (kdiag) {
      Matrix dm = to_matrix(*kdiag, "k_test_diag", true);
      diag = Eigen::Map<const Vector>(dm.data(), dm.size());
    }
    GpPrediction p;
    {
      py::gil_scoped_release release;
      p = nngp_posterior(kttm, ktm, ym, ptr(kssm), diag ? &*diag : nullptr, make_reg(diag_reg, absolute));
    }
    return gp_tuple(std::move(p));
  });
  m.def("ntk_gp",
        [gp_tuple](double t, const DArr& ntk_tt, const DArr& nngp_tt, const DArr& ntk_st, const DArr& nngp_st,
                   const DArr& y, const std::optional<DArr>& nngp_ss, const std::optional<DArr>& nngp_diag,
                   double lr, double diag_reg, bool absolute) {
          Matrix a = to_matrix(ntk_tt, "ntk_train_train"), b = to_matrix(nngp_tt, "nngp_train_train"),
                 c = to_matrix(ntk_st, "ntk_test_train"), d = to_matrix(nngp_st, "nngp_test_train"),
                 ym = to_matrix(y, "y_train", true);
          auto ss = to_opt_matrix(nngp_ss, "nngp_test_test");
          std::optional<Vector> diag;
          if (nngp_diag) {
            Matrix dm = to_matrix(*nngp_diag, "nngp_test_diag", true);
            diag = Eigen::Map<const Vector>(dm.data(), dm.size());
          }
          GpPrediction p;
          {
            py::gil_scoped_release release;
            NtkGpEnsemble ens(a, b, lr, make_reg(diag_reg, absolute));
            p = ens.predict(t, c, d, ym, ptr(ss), diag ? &*diag : nullptr);
          }
          return gp_tuple(std::move(p));
        });
  m.def("one_hot", [](const LArr& labels, int num_classes, double off, double on) {
    std::vector<int> l = to_labels(labels, "labels");
    if (num_classes <= 0) num_classes = count_classes(l);
    for (int v : l)
      NTK_THROW_IF_NOT(v < num_classes, "labels: label %d is >= num_classes %d", v, num_classes);
    return own_matrix(one_hot(l, num_classes, off, on));
  });
  m.def("one_hot_regression", [](const DArr& ktt, const DArr& kt, const LArr& labels, int num_classes,
                                 double off, double on, double diag_reg, bool absolute) {
    Matrix kttm = to_matrix(ktt, "k_train_train"), ktm = to_matrix(kt, "k_test_train");
    std::vector<int> l = to_labels(labels, "y_train");
    if (num_classes <= 0) num_classes = count_classes(l);
    NTK_THROW_IF_NOT(static_cast<int64_t>(l.size()) == kttm.rows(),
                     "y_train has %zu labels but k_train_train has %lld rows", l.size(),
                     static_cast<long long>(kttm.rows()));
    NTK_THROW_IF_NOT(ktm.cols() == kttm.rows(),
                     "k_test_train has %lld columns but k_train_train has %lld rows",
                     static_cast<long long>(ktm.cols()), static_cast<long long>(kttm.rows()));
    for (int v : l)
      NTK_THROW_IF_NOT(v < num_classes, "y_train: label %d is >= num_classes %d", v, num_classes);
    Matrix pred;
    std::vector<int> cls;
    SolveInfo info;
    {
      py::gil_scoped_release release;
      // As `ntk regress --solver exact`.
      pred =
          ktm * cholesky_solve(kttm, one_hot(l, num_classes, off, on), make_reg(diag_reg, absolute), &info);
      cls = argmax_rows(pred);
    }
    return py::make_tuple(int_array(cls), own_matrix(std::move(pred)), info.warning);
  });

  py::class_<PrecomputedSvm>(m, "PrecomputedSvm")
      .def(py::init<>())
      .def("fit",
           // options: those of svm_options() by name (the rest keep SvmOptions' defaults).
           [](PrecomputedSvm& s, const DArr& k, const LArr& labels, const py::dict& options) {
             Matrix km = to_matrix(k, "k_train_train");
             std::vector<int> l = to_labels(labels, "y_train");
             py::dict rest(options);
             SvmOptions o;
             take_options(svm_options(), o, rest);
             reject_unknown(rest, "SVM");
             py::gil_scoped_release release;
             s.fit(km, l, o);
           })
      .def("predict",
           [](const PrecomputedSvm& s, const DArr& k) {
             Matrix km = to_matrix(k, "k_test_train");
             std::vector<int> p;
             {
               py::gil_scoped_release release;
               p = s.predict(km);
             }
             return int_array(p);
           })
      .def("decision_function",
           [](const PrecomputedSvm& s, const DArr& k) {
             Matrix km = to_matrix(k, "k_test_train");
             Matrix d;
             {
               py::gil_scoped_release release;
               d = s.decision_function(km);
             }
             return own_matrix(std::move(d));
           })
      .def_property_readonly("classes", [](const PrecomputedSvm& s) { return int_array(s.classes()); })
      .def_property_readonly("num_support_vectors", &PrecomputedSvm::num_support_vectors)
      .def_property_readonly("fitted", &PrecomputedSvm::fitted);
  m.def("svm_accuracy_path", [](const DArr& ktt, const LArr& ytr, const DArr& kt, const LArr& yte,
                                const std::vector<double>& cs, const py::dict& options, int threads) {
    Matrix a = to_matrix(ktt, "k_train_train"), b = to_matrix(kt, "k_test_train");
    std::vector<int> l1 = to_labels(ytr, "y_train"), l2 = to_labels(yte, "y_test");
    py::dict rest(options);
    SvmOptions o;
    take_options(svm_options(), o, rest);
    reject_unknown(rest, "svm_accuracy_path");
    Context ctx = make_context(threads, "float64", "cpu", false);
    py::gil_scoped_release release;
    return svm_accuracy_path(a, l1, b, l2, cs, o, ctx);
  });
  m.def("kfold_splits", [](int64_t n, int k, bool shuffle, uint64_t seed) {
    py::list out;
    for (const Split& s : kfold_splits(n, k, shuffle, seed))
      out.append(py::make_tuple(int_array(s.train), int_array(s.test)));
    return out;
  });
  m.def("select_model", [](const py::list& kernels, const LArr& labels, const std::optional<DArr>& targets,
                           const py::list& splits, const py::dict& options, int threads) {
    std::vector<DepthKernel> ks;
    for (const auto& item : kernels) {
      py::tuple t = py::cast<py::tuple>(item);
      DepthKernel k;
      k.depth = t[0].cast<int>();
      k.fixed = t[1].cast<int>();
      k.ntk = to_matrix(t[2].cast<DArr>(), strprintf("kernel (depth %d, fixed %d)", k.depth, k.fixed));
      ks.push_back(std::move(k));
    }
    std::vector<int> l = to_labels(labels, "labels");
    Matrix tm = targets ? to_matrix(*targets, "targets", true) : Matrix();
    std::vector<Split> ss;
    for (const auto& item : splits) {
      py::tuple t = py::cast<py::tuple>(item);
      LArr a = t[0].cast<LArr>(), b = t[1].cast<LArr>();
      Split s;
      s.train.assign(a.data(), a.data() + a.size());
      s.test.assign(b.data(), b.data() + b.size());
      ss.push_back(std::move(s));
    }
    // options: those of select_options() by name (the rest keep SelectOptions' defaults).
    py::dict rest(options);
    SelectOptions o;
    take_options(select_options(), o, rest);
    reject_unknown(rest, "select_model");
    o.ctx = make_context(threads, "float64", "cpu", false);
    Selection sel;
    {
      py::gil_scoped_release release;
      sel = select_model(ks, l, tm, ss, o);
    }
    auto row = [](const GridScore& g) { return py::make_tuple(g.depth, g.fixed, g.value, g.score); };
    py::list grid;
    for (const auto& g : sel.grid) grid.append(row(g));
    return py::make_tuple(grid, row(sel.best));
  });
}

}  // namespace ntk::py_bindings
