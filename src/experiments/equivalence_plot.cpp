// The equivalence plot as SVG, written here without any dependency: deviations against width on log-log axes
// (left) and f_NN(t) beside f_NTK(t) for a few test points (right). Other formats (PNG, PDF) are drawn by the
// Python package from the JSON report (python3 -m ntk.plot equivalence report.json figure.png), which draws
// the same two panels with matplotlib.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
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

// The numbers the plot shows.
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

}  // namespace

void write_equivalence_plot(const EquivalenceResult& result, const std::string& path) {
  const std::string ext = lower_ext(path);
  NTK_THROW_IF_NOT(
      ext != "png",
      "%s: the library writes the plot as .svg; PNG (or any matplotlib format) is drawn by the Python "
      "package from the JSON report: python3 -m ntk.plot equivalence report.json %s",
      path.c_str(), path.c_str());
  NTK_THROW_IF_NOT(ext == "svg", "%s: the plot must be .svg", path.c_str());
  NTK_THROW_IF_NOT(!result.widths.empty(), "%s: nothing to plot", path.c_str());
  io::AtomicFile out(path);
  out.write(render_svg(collect(result)));
  out.commit();
}

}  // namespace ntk
