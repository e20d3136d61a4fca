// A line plot as an SVG file (no plotting library needed for one series).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace dynrt::cli {

void write_svg_plot(const std::string& path, const std::string& title, const std::string& x_label,
                    const std::string& y_label, const std::vector<std::pair<double, double>>& points);

}  // namespace dynrt::cli
