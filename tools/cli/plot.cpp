#include "plot.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "dynrt/error.h"

namespace dynrt::cli {

void write_svg_plot(const std::string& path, const std::string& title, const std::string& x_label,
                    const std::string& y_label, const std::vector<std::pair<double, double>>& points) {
  const double w = 720, h = 420, left = 70, right = 20, top = 40, bottom = 50;
  double x0 = points.empty() ? 0 : points.front().first, x1 = x0, y1 = 0;
  for (const auto& [x, y] : points) {
    x0 = std::min(x0, x);
    x1 = std::max(x1, x);
    y1 = std::max(y1, y);
  }
  if (x1 == x0) x1 = x0 + 1;
  if (y1 <= 0) y1 = 1;
  y1 *= 1.1;
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * (w - left - right); };
  auto py = [&](double y) { return h - bottom - y / y1 * (h - top - bottom); };
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << w / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">" << title << "</text>\n";
  for (int i = 0; i <= 4; ++i) {  // grid and tick labels
    double yv = y1 * i / 4, xv = x0 + (x1 - x0) * i / 4;
    s << "<line x1=\"" << left << "\" x2=\"" << w - right << "\" y1=\"" << py(yv) << "\" y2=\"" << py(yv)
      << "\" stroke=\"#ddd\"/>\n<text x=\"" << left - 6 << "\" y=\"" << py(yv) + 4 << "\" text-anchor=\"end\">"
      << yv << "</text>\n<text x=\"" << px(xv) << "\" y=\"" << h - bottom + 18 << "\" text-anchor=\"middle\">" << xv
      << "</text>\n";
  }
  s << "<line x1=\"" << left << "\" x2=\"" << left << "\" y1=\"" << top << "\" y2=\"" << h - bottom
    << "\" stroke=\"black\"/>\n<line x1=\"" << left << "\" x2=\"" << w - right << "\" y1=\"" << h - bottom
    << "\" y2=\"" << h - bottom << "\" stroke=\"black\"/>\n";
  s << "<text x=\"" << (left + w - right) / 2 << "\" y=\"" << h - 12 << "\" text-anchor=\"middle\">" << x_label
    << "</text>\n<text x=\"16\" y=\"" << h / 2 << "\" transform=\"rotate(-90 16 " << h / 2
    << ")\" text-anchor=\"middle\">" << y_label << "</text>\n<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"";
  for (const auto& [x, y] : points) s << px(x) << "," << py(y) << " ";
  s << "\"/>\n";
  for (const auto& [x, y] : points) s << "<circle cx=\"" << px(x) << "\" cy=\"" << py(y) << "\" r=\"3\" fill=\"#1f77b4\"/>\n";
  s << "</svg>\n";
  std::ofstream f(path);
  if (!f || !(f << s.str())) throw Error(ErrorCode::kIo, "cannot write '" + path + "'");
}

}  // namespace dynrt::cli
