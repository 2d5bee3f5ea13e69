// The equivalence plot: deviations against width on log-log axes (left) and f_NN(t) beside f_NTK(t) for a few
// test points (right). SVG is written here directly; PNG goes through python3 + matplotlib with the script
// embedded below, fed the same numbers as JSON.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ntk/equivalence.h"
#include "ntk/error.h"
#include "ntk/io.h"

namespace ntk {

namespace {

const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                         "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

std::string lower_ext(const std::string& path) {
  auto dot = path.find_last_of('.');
  if (dot == std::string::npos) return "";
  std::string e = path.substr(dot + 1);
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::tolower(c); });
  return e;
}

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<')
      o += "&lt;";
    else if (c == '>')
      o += "&gt;";
    else if (c == '&')
      o += "&amp;";
    else
      o += c;
  }
  return o;
}

// The numbers the plot shows, shared by both back ends.
struct PlotData {
  std::vector<double> widths;
  struct Series {
    std::string name;
    std::vector<double> mean, lo, hi;
    double slope = 0;
  };
  std::vector<Series> series;
  // Traces: steps, f_NTK (times x points) and f_NN for the smallest and largest width (seed 0).
  std::vector<double> steps;
  std::vector<std::vector<double>> ntk, nn_small, nn_large;
  int64_t w_small = 0, w_large = 0;
  std::string title;
};

PlotData collect(const EquivalenceResult& r) {
  PlotData p;
  for (int64_t w : r.widths) p.widths.push_back(static_cast<double>(w));
  for (const auto& name : equivalence_deviation_names()) {
    PlotData::Series s;
    s.name = name;
    for (const auto& st : r.stats.at(name)) {
      s.mean.push_back(st.mean);
      s.lo.push_back(st.min);
      s.hi.push_back(st.max);
    }
    auto it = r.slopes.find(name);
    s.slope = it == r.slopes.end() ? std::numeric_limits<double>::quiet_NaN() : it->second;
    p.series.push_back(s);
  }
  if (!r.runs.empty() && !r.runs.front().empty() && !r.runs.back().empty()) {
    const EquivalenceRun& small = r.runs.front().front();
    const EquivalenceRun& large = r.runs.back().front();
    p.w_small = small.width;
    p.w_large = large.width;
    auto rows = [](const Matrix& m) {
      std::vector<std::vector<double>> out(m.cols());
      for (int64_t j = 0; j < m.cols(); ++j)
        for (int64_t i = 0; i < m.rows(); ++i) out[j].push_back(m(i, j));
      return out;  // one vector per traced point
    };
    for (int64_t k : large.trace_at) p.steps.push_back(static_cast<double>(k));
    p.ntk = rows(large.trace_ntk);
    p.nn_large = rows(large.trace_nn);
    if (small.trace_at == large.trace_at) p.nn_small = rows(small.trace_nn);
  }
  p.title = r.options.arch;
  return p;
}

// ---- native SVG ----

struct Axes {
  double x0, y0, w, h;  // pixel box (y0 top)
  double xmin, xmax, ymin, ymax;
  bool logx, logy;
  double tx(double x) const {
    double a = logx ? std::log10(x) : x, lo = logx ? std::log10(xmin) : xmin,
           hi = logx ? std::log10(xmax) : xmax;
    return x0 + (a - lo) / (hi - lo) * w;
  }
  double ty(double y) const {
    double a = logy ? std::log10(y) : y, lo = logy ? std::log10(ymin) : ymin,
           hi = logy ? std::log10(ymax) : ymax;
    return y0 + h - (a - lo) / (hi - lo) * h;
  }
};

std::string fmt_tick(double v) {
  char buf[32];
  if (v != 0 && (std::fabs(v) < 1e-3 || std::fabs(v) >= 1e5))
    std::snprintf(buf, sizeof buf, "%.0e", v);
  else
    std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// About five round tick values (1, 2 or 5 times a power of ten apart) inside [lo, hi].
std::vector<double> nice_ticks(double lo, double hi) {
  std::vector<double> out;
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / 5, mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double step = raw / mag < 1.5   ? mag
                      : raw / mag < 3.5 ? 2 * mag
                      : raw / mag < 7.5 ? 5 * mag
                                        : 10 * mag;
  for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step)
    out.push_back(std::abs(v) < 1e-12 * step ? 0.0 : v);
  return out;
}

void svg_frame(std::ostringstream& o, const Axes& a, const std::vector<double>& xt,
               const std::vector<double>& yt, const std::string& xlabel, const std::string& ylabel,
               const std::string& title) {
  o << "<rect x='" << a.x0 << "' y='" << a.y0 << "' width='" << a.w << "' height='" << a.h
    << "' fill='none' stroke='#333'/>\n";
  for (double x : xt) {
    double px = a.tx(x);
    o << "<line x1='" << px << "' y1='" << a.y0 << "' x2='" << px << "' y2='" << a.y0 + a.h
      << "' stroke='#ddd' stroke-width='0.6'/>\n";
    o << "<text x='" << px << "' y='" << a.y0 + a.h + 16 << "' text-anchor='middle'>" << fmt_tick(x)
      << "</text>\n";
  }
  for (double y : yt) {
    double py = a.ty(y);
    o << "<line x1='" << a.x0 << "' y1='" << py << "' x2='" << a.x0 + a.w << "' y2='" << py
      << "' stroke='#ddd' stroke-width='0.6'/>\n";
    o << "<text x='" << a.x0 - 6 << "' y='" << py + 4 << "' text-anchor='end'>" << fmt_tick(y) << "</text>\n";
  }
  o << "<text x='" << a.x0 + a.w / 2 << "' y='" << a.y0 + a.h + 36 << "' text-anchor='middle'>" << esc(xlabel)
    << "</text>\n";
  o << "<text transform='translate(" << a.x0 - 48 << "," << a.y0 + a.h / 2
    << ") rotate(-90)' text-anchor='middle'>" << esc(ylabel) << "</text>\n";
  o << "<text x='" << a.x0 + a.w / 2 << "' y='" << a.y0 - 10 << "' text-anchor='middle' font-weight='bold'>"
    << esc(title) << "</text>\n";
}

std::string polyline(const Axes& a, const std::vector<double>& x, const std::vector<double>& y,
                     const char* color, const char* extra) {
  std::ostringstream o;
  o << "<polyline fill='none' stroke='" << color << "' " << extra << " points='";
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    if (a.logy && !(y[i] > 0)) continue;
    o << a.tx(x[i]) << "," << a.ty(y[i]) << " ";
  }
  o << "'/>\n";
  return o.str();
}

std::string render_svg(const PlotData& p) {
  std::ostringstream o;
  o.precision(6);
  const double W = 1200, H = 520;
  o << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H << "' viewBox='0 0 " << W
    << " " << H << "' font-family='sans-serif' font-size='12'>\n";
  o << "<rect width='100%' height='100%' fill='white'/>\n";

  // Left: deviations vs width.
  double ymin = std::numeric_limits<double>::infinity(), ymax = 0;
  for (const auto& s : p.series)
    for (size_t i = 0; i < s.mean.size(); ++i)
      for (double v : {s.lo[i], s.hi[i], s.mean[i]})
        if (v > 0 && std::isfinite(v)) ymin = std::min(ymin, v), ymax = std::max(ymax, v);
  if (!(ymax > 0)) ymin = 1e-3, ymax = 1;
  const double ylo = std::pow(10.0, std::floor(std::log10(ymin))),
               yhi = std::pow(10.0, std::ceil(std::log10(ymax)));
  const double xlo = p.widths.front() / 1.3, xhi = p.widths.back() * 1.3;
  Axes a{80, 40, 440, 400, xlo, xhi, ylo, yhi, true, true};
  std::vector<double> yt;
  for (double y = ylo; y <= yhi * 1.0001; y *= 10) yt.push_back(y);
  svg_frame(o, a, p.widths, yt, "width", "relative deviation", "deviation from the infinite-width limit");
  // Reference slope −1/2 through the first kernel_init_dev point.
  if (!p.series.empty() && p.series[0].mean.front() > 0) {
    const double y0 = p.series[0].mean.front() * 0.6;
    std::vector<double> xs = {p.widths.front(), p.widths.back()};
    std::vector<double> ys = {y0, y0 * std::pow(p.widths.back() / p.widths.front(), -0.5)};
    o << polyline(a, xs, ys, "#999", "stroke-dasharray='6,4' stroke-width='1.2'");
  }
  for (size_t si = 0; si < p.series.size(); ++si) {
    const auto& s = p.series[si];
    const char* c = kColors[si % 8];
    o << polyline(a, p.widths, s.mean, c, "stroke-width='1.8'");
    for (size_t i = 0; i < s.mean.size(); ++i) {
      if (!(s.mean[i] > 0)) continue;
      const double px = a.tx(p.widths[i]);
      if (s.lo[i] > 0 && s.hi[i] > 0)
        o << "<line x1='" << px << "' y1='" << a.ty(s.lo[i]) << "' x2='" << px << "' y2='" << a.ty(s.hi[i])
          << "' stroke='" << c << "' stroke-width='1.2'/>\n";
      o << "<circle cx='" << px << "' cy='" << a.ty(s.mean[i]) << "' r='3.5' fill='" << c << "'/>\n";
    }
    const double ly = a.y0 + a.h - 12 - 16.0 * (p.series.size() - si);
    o << "<line x1='" << a.x0 + 10 << "' y1='" << ly << "' x2='" << a.x0 + 30 << "' y2='" << ly
      << "' stroke='" << c << "' stroke-width='2'/>\n";
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s (slope %+.2f)", s.name.c_str(), s.slope);
    o << "<text x='" << a.x0 + 36 << "' y='" << ly + 4 << "'>" << esc(buf) << "</text>\n";
  }
  o << "<text x='" << a.x0 + a.w - 8 << "' y='" << a.y0 + 16
    << "' text-anchor='end' fill='#777'>dashed: slope -1/2"
    << "</text>\n";

  // Right: traces.
  if (!p.steps.empty() && !p.ntk.empty()) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const auto* set : {&p.ntk, &p.nn_large, &p.nn_small})
      for (const auto& v : *set)
        for (double x : v) lo = std::min(lo, x), hi = std::max(hi, x);
    const double pad = 0.08 * std::max(hi - lo, 1e-9);
    Axes b{680,      40,       480,   400,  p.steps.front(), std::max(p.steps.back(), p.steps.front() + 1),
           lo - pad, hi + pad, false, false};
    const std::vector<double> xt = nice_ticks(b.xmin, b.xmax), ytk = nice_ticks(b.ymin, b.ymax);
    svg_frame(o, b, xt, ytk, "gradient-descent step", "output f(x) on test points",
              "training dynamics: network vs exact NTK");
    for (size_t j = 0; j < p.ntk.size(); ++j) {
      const char* c = kColors[j % 8];
      o << polyline(b, p.steps, p.ntk[j], c, "stroke-width='2'");
      if (j < p.nn_small.size())
        o << polyline(b, p.steps, p.nn_small[j], c, "stroke-dasharray='4,3' stroke-width='1'");
      if (j < p.nn_large.size())
        for (size_t i = 0; i < p.steps.size(); ++i)
          o << "<circle cx='" << b.tx(p.steps[i]) << "' cy='" << b.ty(p.nn_large[j][i])
            << "' r='2.6' fill='none' "
            << "stroke='" << c << "'/>\n";
    }
    const double lx = b.x0 + b.w - 200, ly = b.y0 + b.h - 58;
    o << "<rect x='" << lx - 6 << "' y='" << ly - 14
      << "' width='200' height='56' fill='white' stroke='#ccc'/>\n";
    o << "<line x1='" << lx << "' y1='" << ly << "' x2='" << lx + 20 << "' y2='" << ly
      << "' stroke='#333' stroke-width='2'/><text x='" << lx + 26 << "' y='" << ly + 4
      << "'>exact NTK predictor</text>\n";
    o << "<circle cx='" << lx + 10 << "' cy='" << ly + 17 << "' r='2.6' fill='none' stroke='#333'/><text x='"
      << lx + 26 << "' y='" << ly + 21 << "'>network, width " << p.w_large << "</text>\n";
    if (!p.nn_small.empty())
      o << "<line x1='" << lx << "' y1='" << ly + 34 << "' x2='" << lx + 20 << "' y2='" << ly + 34
        << "' stroke='#333' stroke-dasharray='4,3'/><text x='" << lx + 26 << "' y='" << ly + 38
        << "'>network, width " << p.w_small << "</text>\n";
  }
  o << "<text x='" << W / 2 << "' y='" << H - 12 << "' text-anchor='middle' fill='#555'>" << esc(p.title)
    << "</text>\n";
  o << "</svg>\n";
  return o.str();
}

// ---- PNG through matplotlib ----

const char* kMatplotlibScript = R"PY(
import json, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker
d = json.load(open(sys.argv[1]))
fig, (a, b) = plt.subplots(1, 2, figsize=(13, 5.2))
w = d["widths"]
for s in d["series"]:
    m = [x if x and x > 0 else float("nan") for x in s["mean"]]
    lo = [max(mm - l, 0) if l and l > 0 else 0 for mm, l in zip(m, s["lo"])]
    hi = [h - mm if h and h > 0 else 0 for mm, h in zip(m, s["hi"])]
    a.errorbar(w, m, yerr=[lo, hi], marker="o", capsize=3, label="%s (slope %+.2f)" % (s["name"], s["slope"] if s["slope"] is not None else float("nan")))
if d["series"] and d["series"][0]["mean"][0]:
    y0 = d["series"][0]["mean"][0] * 0.6
    a.plot([w[0], w[-1]], [y0, y0 * (w[-1] / w[0]) ** -0.5], "--", color="grey", label="slope -1/2")
a.set_xscale("log", base=2); a.set_yscale("log")
a.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
a.set_xticks(w); a.set_xticklabels([str(int(x)) for x in w])
a.set_xlabel("width"); a.set_ylabel("relative deviation"); a.set_title("deviation from the infinite-width limit")
a.grid(True, which="both", alpha=0.3); a.legend(fontsize=8)
if d["steps"]:
    for j, f in enumerate(d["ntk"]):
        c = "C%d" % j
        b.plot(d["steps"], f, "-", color=c, lw=2, label="exact NTK" if j == 0 else None)
        if j < len(d["nn_large"]):
            b.plot(d["steps"], d["nn_large"][j], "o", mfc="none", color=c, ms=4,
                   label="network, width %d" % d["w_large"] if j == 0 else None)
        if j < len(d["nn_small"]):
            b.plot(d["steps"], d["nn_small"][j], "--", color=c, lw=1,
                   label="network, width %d" % d["w_small"] if j == 0 else None)
    b.set_xlabel("gradient-descent step"); b.set_ylabel("output f(x) on test points")
    b.set_title("training dynamics: network vs exact NTK"); b.grid(True, alpha=0.3); b.legend(fontsize=8)
fig.suptitle(d["title"], fontsize=9)
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=110)
)PY";

void render_png(const PlotData& p, const std::string& path) {
  using nlohmann::json;
  auto nums = [](const std::vector<double>& v) {
    json a = json::array();
    for (double x : v) a.push_back(std::isfinite(x) ? json(x) : json(nullptr));
    return a;
  };
  json j;
  j["widths"] = p.widths;
  j["series"] = json::array();
  for (const auto& s : p.series)
    j["series"].push_back({{"name", s.name},
                           {"mean", nums(s.mean)},
                           {"lo", nums(s.lo)},
                           {"hi", nums(s.hi)},
                           {"slope", std::isfinite(s.slope) ? json(s.slope) : json(nullptr)}});
  j["steps"] = p.steps;
  j["ntk"] = p.ntk;
  j["nn_large"] = p.nn_large;
  j["nn_small"] = p.nn_small;
  j["w_large"] = p.w_large;
  j["w_small"] = p.w_small;
  j["title"] = p.title;

  char dir_template[] = "/tmp/ntk-plot-XXXXXX";
  NTK_THROW_KIND_IF_NOT(ErrorKind::kIo, mkdtemp(dir_template) != nullptr,
                        "%s: cannot create a temporary folder", path.c_str());
  const std::string dir = dir_template, data_path = dir + "/data.json", script_path = dir + "/plot.py";
  const std::string tmp_png = dir + "/plot.png";
  { std::ofstream(data_path) << j.dump(); }
  { std::ofstream(script_path) << kMatplotlibScript; }
  int status = -1;
  const std::string log_path = dir + "/log.txt";
  const pid_t pid = fork();
  if (pid == 0) {
    // Only async-signal-safe calls before exec; python's own errors go to a log read back below.
    const int err_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int null_fd = open("/dev/null", O_WRONLY);
    if (err_fd >= 0) dup2(err_fd, STDERR_FILENO);
    if (null_fd >= 0) dup2(null_fd, STDOUT_FILENO);
    execlp("python3", "python3", script_path.c_str(), data_path.c_str(), tmp_png.c_str(), (char*)nullptr);
    _exit(127);
  }
  if (pid > 0) waitpid(pid, &status, 0);
  std::string err;
  {
    std::ifstream in(dir + "/log.txt");
    std::string line;
    while (std::getline(in, line))
      if (!line.empty()) err = line;  // the last line names the exception
  }
  const bool ok = pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  std::string bytes;
  if (ok) {
    std::ifstream in(tmp_png, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    bytes = ss.str();
  }
  for (const char* f : {"data.json", "plot.py", "plot.png", "log.txt"}) std::remove((dir + "/" + f).c_str());
  rmdir(dir.c_str());
  NTK_THROW_KIND_IF_NOT(ErrorKind::kIo, ok && !bytes.empty(),
                        "%s: PNG plots need python3 with matplotlib (%s); write an .svg instead",
                        path.c_str(), err.empty() ? "python3 not found" : err.c_str());
  io::AtomicFile out(path);
  out.write(bytes.data(), bytes.size());
  out.commit();
}

}  // namespace

void write_equivalence_plot(const EquivalenceResult& result, const std::string& path) {
  const std::string ext = lower_ext(path);
  NTK_THROW_IF_NOT(ext == "svg" || ext == "png", "%s: the plot must be .svg or .png", path.c_str());
  NTK_THROW_IF_NOT(!result.widths.empty(), "%s: nothing to plot", path.c_str());
  const PlotData p = collect(result);
  if (ext == "svg") {
    io::AtomicFile out(path);
    out.write(render_svg(p));
    out.commit();
  } else {
    render_png(p, path);
  }
}

}  // namespace ntk
