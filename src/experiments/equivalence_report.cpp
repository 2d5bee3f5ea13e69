// The equivalence experiment's report: the JSON document and the CLI's table (see ntk/equivalence.h and the
// keys in docs/equivalence.md).
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "ntk/equivalence.h"
#include "ntk/error.h"

namespace ntk {

namespace {

nlohmann::json num(double x) {
  return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr);
}

// One JSON array per row.
nlohmann::json rows_of(const Matrix& m) {
  nlohmann::json out = nlohmann::json::array();
  for (int64_t i = 0; i < m.rows(); ++i) {
    nlohmann::json row = nlohmann::json::array();
    for (int64_t j = 0; j < m.cols(); ++j) row.push_back(num(m(i, j)));
    out.push_back(row);
  }
  return out;
}

}  // namespace

std::string EquivalenceResult::to_json() const {
  using nlohmann::json;
  json j;
  j["widths"] = widths;
  json sd = json::object(), mn = json::object(), mx = json::object();
  for (const auto& name : equivalence_metric_names()) {
    json m = json::array(), s = json::array(), lo = json::array(), hi = json::array();
    for (const auto& st : stats.at(name)) {
      m.push_back(num(st.mean));
      s.push_back(num(st.std));
      lo.push_back(num(st.min));
      hi.push_back(num(st.max));
    }
    j[name] = m;
    sd[name] = s;
    mn[name] = lo;
    mx[name] = hi;
  }
  j["std"] = sd;
  j["min"] = mn;
  j["max"] = mx;
  json sl = json::object();
  for (const auto& kv : slopes) sl[kv.first] = num(kv.second);
  j["slopes"] = sl;
  const EquivalenceOptions& o = options;
  j["config"] = {{"arch", o.arch},
                 {"data", data_description},
                 {"n_train", n_train},
                 {"n_test", n_test},
                 {"outputs", outputs},
                 {"seeds", o.seeds},
                 {"kernel_seeds", std::max(o.seeds, o.kernel_seeds)},
                 {"seed", o.seed},
                 {"parameterization", parameterization_name(o.parameterization)},
                 {"f0", f0_mode_name(o.f0)},
                 {"steps", o.time > 0 ? json(nullptr) : json(o.train.steps)},
                 {"time", o.time > 0 ? json(o.time) : json(nullptr)},
                 {"learning_rate", o.train.learning_rate > 0 ? json(o.train.learning_rate) : json(nullptr)},
                 {"lr_fraction", o.train.lr_fraction},
                 {"lr_kernel", o.lr_kernel},
                 {"batch_size", o.train.batch_size},
                 {"momentum", o.train.momentum},
                 {"kernel_checkpoints", o.kernel_checkpoints},
                 {"threads", o.ctx.num_threads()}};
  json rs = json::array();
  for (const auto& per_width : runs)
    for (const auto& r : per_width) {
      json jr = {{"width", r.width},           {"seed", r.seed},
                 {"steps", r.steps},           {"learning_rate", r.learning_rate},
                 {"lambda_max", r.lambda_max}, {"lambda_max_exact", r.lambda_max_exact},
                 {"flow_time", r.flow_time},   {"seconds", r.seconds}};
      for (const auto& kv : r.metrics) jr[kv.first] = num(kv.second);
      // The traced test outputs (times x trace points), for the dynamics panel of the figure.
      jr["trace_at"] = r.trace_at;
      jr["trace_nn"] = rows_of(r.trace_nn);
      jr["trace_ntk"] = rows_of(r.trace_ntk);
      rs.push_back(jr);
    }
  j["runs"] = rs;
  j["kernel_init_dev_draws"] = kernel_init_devs;
  j["kernel_seconds"] = kernel_seconds;
  j["seconds"] = seconds;
  return j.dump(2) + "\n";
}

std::string EquivalenceResult::table() const {
  struct Col {
    const char* name;
    const char* header;
    bool spread;
  };
  const std::vector<Col> cols = {{"kernel_init_dev", "kernel_init_dev", true},
                                 {"kernel_train_change", "kernel_train_chg", true},
                                 {"param_change", "param_change", true},
                                 {"pred_gap", "pred_gap", true},
                                 {"pred_gap_lin", "pred_gap_lin", true},
                                 {"nn_train_loss", "nn_train", false},
                                 {"nn_test_mse", "nn_test", false},
                                 {"nn_test_acc", "nn_acc", false},
                                 {"ntk_test_mse", "ntk_test", false},
                                 {"ntk_test_acc", "ntk_acc", false}};
  std::string out;
  out += strprintf("%6s", "width");
  for (const auto& c : cols) out += strprintf(c.spread ? "  %-19s" : "  %8s", c.header);
  out += "\n";
  for (size_t w = 0; w < widths.size(); ++w) {
    out += strprintf("%6lld", (long long)widths[w]);
    for (const auto& c : cols) {
      const EquivalenceStat& s = stats.at(c.name)[w];
      if (c.spread)
        out += strprintf("  %9.3e ± %7.1e", s.mean, s.std);
      else
        out += strprintf("  %8.4f", s.mean);
    }
    out += "\n";
  }
  out += strprintf("%6s", "slope");
  for (const auto& c : cols) {
    auto it = slopes.find(c.name);
    if (it != slopes.end())
      out += strprintf("  %-19s", strprintf("%+.3f", it->second).c_str());
    else
      out += strprintf(c.spread ? "  %-19s" : "  %8s", "");
  }
  out += "\n";
  return out;
}

}  // namespace ntk
