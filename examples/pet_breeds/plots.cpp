#include "plots.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include <nn/core/errors.hpp>

namespace pet_breeds {

namespace {

constexpr double kTitleSize = 16.0;
constexpr double kLabelSize = 14.0;
constexpr double kTickSize = 12.0;

struct Range {
  double low = 0.0, high = 1.0;
};

// Formats a tick value with just enough decimals for the tick step, e.g. 0.25 or 2.
std::string format_tick(double value, double step) {
  int decimals = 0;
  while (decimals < 6 && std::fabs(step * std::pow(10.0, decimals) -
                                   std::round(step * std::pow(10.0, decimals))) > 1e-6) {
    ++decimals;
  }
  if (std::fabs(value) < step * 1e-6) value = 0.0;  // no "-0.0"
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

// Shortens text with "..." until it fits `width` pixels.
std::string fit_text(const Font& font, const std::string& text, double size, int width) {
  if (font.text_width(text, size) <= width) return text;
  std::string cut = text;
  while (!cut.empty() && font.text_width(cut + "...", size) > width) cut.pop_back();
  return cut + "...";
}

// The data range of all series along one axis, with a 5% margin each side like matplotlib's.
Range data_range(const Chart& chart, bool along_x) {
  double low = std::numeric_limits<double>::infinity();
  double high = -low;
  for (const Series& series : chart.series) {
    for (double v : along_x ? series.x : series.y) {
      if (!std::isfinite(v)) continue;
      low = std::min(low, v);
      high = std::max(high, v);
    }
  }
  if (!std::isfinite(low)) return {0.0, 1.0};
  if (high - low < 1e-12) {
    const double pad = along_x ? 1.0 : std::max(0.05, std::fabs(low) * 0.1);
    return {low - pad, high + pad};
  }
  const double margin = 0.05 * (high - low);
  return {low - margin, high + margin};
}

Color mix(Color a, Color b, double t) {
  const auto channel = [t](std::uint8_t x, std::uint8_t y) {
    return static_cast<std::uint8_t>(std::lround(x + t * (y - x)));
  };
  return {channel(a.r, b.r), channel(a.g, b.g), channel(a.b, b.b)};
}

// Matplotlib's "Blues" colour map, sampled at five stops.
Color blues(double t) {
  static const Color stops[] = {
      {247, 251, 255}, {198, 219, 239}, {107, 174, 214}, {33, 113, 181}, {8, 48, 107}};
  t = std::clamp(t, 0.0, 1.0) * 4.0;
  const int i = std::min(3, static_cast<int>(t));
  return mix(stops[i], stops[i + 1], t - i);
}

}  // namespace

std::vector<double> nice_ticks(double low, double high, int target) {
  if (!(high > low)) high = low + 1.0;
  const double raw = (high - low) / std::max(1, target);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10.0 * magnitude;
  for (double factor : {1.0, 2.0, 2.5, 5.0}) {
    if (factor * magnitude >= raw * (1 - 1e-9)) {
      step = factor * magnitude;
      break;
    }
  }
  std::vector<double> ticks;
  for (double k = std::ceil(low / step - 1e-9); k * step <= high + step * 1e-9; k += 1.0) {
    ticks.push_back(k * step);
  }
  return ticks;
}

void draw_chart(Canvas& canvas, const Font& font, const Chart& chart, int x, int y, int width,
                int height) {
  // Axis ranges: y is clipped to the chart's floor and ceiling, then widened to round ticks
  // where that stays within those limits.
  Range xr = data_range(chart, true);
  Range yr = data_range(chart, false);
  yr.low = std::max(yr.low, chart.y_floor);
  yr.high = std::min(yr.high, chart.y_ceiling);
  if (yr.high <= yr.low) yr.high = yr.low + 1.0;
  if (chart.integer_x) {
    xr.low = std::min(xr.low, std::floor(xr.low + 0.5) - 0.25);
    xr.high = std::max(xr.high, std::ceil(xr.high - 0.5) + 0.25);
  }
  std::vector<double> x_ticks = nice_ticks(xr.low, xr.high, 6);
  if (chart.integer_x) {
    std::vector<double> whole;
    for (double t : x_ticks) {
      if (std::fabs(t - std::round(t)) < 1e-9) whole.push_back(std::round(t));
    }
    x_ticks = whole;
  }
  const std::vector<double> y_ticks = nice_ticks(yr.low, yr.high, 6);
  const double y_step = y_ticks.size() > 1 ? y_ticks[1] - y_ticks[0] : 1.0;
  const double x_step = x_ticks.size() > 1 ? x_ticks[1] - x_ticks[0] : 1.0;

  // Plot area: room on the left for the y tick labels and the rotated axis label.
  int tick_label_width = 0;
  for (double t : y_ticks) {
    tick_label_width = std::max(tick_label_width, font.text_width(format_tick(t, y_step),
                                                                  kTickSize));
  }
  const int left = x + 16 + static_cast<int>(kLabelSize) + 10 + tick_label_width + 8;
  const int right = x + width - 18;
  const int top = y + 40;
  const int bottom = y + height - 56;
  const auto to_px = [&](double vx, double vy) {
    return Point{left + (vx - xr.low) / (xr.high - xr.low) * (right - left),
                 bottom - (vy - yr.low) / (yr.high - yr.low) * (bottom - top)};
  };

  // Grid, ticks and their labels.
  for (double t : y_ticks) {
    if (t < yr.low - 1e-12 || t > yr.high + 1e-12) continue;
    const double py = std::round(to_px(xr.low, t).y) + 0.5;
    canvas.draw_polyline({{double(left), py}, {double(right), py}}, 1.0, colors::kGrid);
    canvas.draw_polyline({{left - 5.0, py}, {double(left), py}}, 1.0, colors::kAxis);
    canvas.draw_text(font, format_tick(t, y_step), left - 8, py, kTickSize, colors::kText,
                     Align::Right, VAlign::Middle);
  }
  for (double t : x_ticks) {
    if (t < xr.low - 1e-12 || t > xr.high + 1e-12) continue;
    const double px = std::round(to_px(t, yr.low).x) + 0.5;
    canvas.draw_polyline({{px, double(top)}, {px, double(bottom)}}, 1.0, colors::kGrid);
    canvas.draw_polyline({{px, double(bottom)}, {px, bottom + 5.0}}, 1.0, colors::kAxis);
    canvas.draw_text(font, format_tick(t, x_step), px, bottom + 9, kTickSize, colors::kText,
                     Align::Center, VAlign::Top);
  }
  canvas.draw_rect(left, top, right + 1, bottom + 1, colors::kAxis);

  // Titles.
  canvas.draw_text(font, chart.title, (left + right) / 2.0, y + 24, kTitleSize, colors::kText,
                   Align::Center, VAlign::Baseline);
  canvas.draw_text(font, chart.x_label, (left + right) / 2.0, y + height - 14, kLabelSize,
                   colors::kText, Align::Center, VAlign::Baseline);
  canvas.draw_text(font, chart.y_label, x + 16 + kLabelSize * 0.8, (top + bottom) / 2.0,
                   kLabelSize, colors::kText, Align::Center, VAlign::Baseline, true);

  // Series: lines broken at non-finite values, with a marker on every point so that a
  // single epoch still shows.
  std::vector<Point> all_points;
  for (const Series& series : chart.series) {
    std::vector<Point> run;
    const std::size_t n = std::min(series.x.size(), series.y.size());
    for (std::size_t i = 0; i <= n; ++i) {
      const bool valid = i < n && std::isfinite(series.x[i]) && std::isfinite(series.y[i]);
      if (valid) {
        const double vy = std::clamp(series.y[i], yr.low, yr.high);
        run.push_back(to_px(series.x[i], vy));
        all_points.push_back(run.back());
        continue;
      }
      canvas.draw_polyline(run, 2.2, series.color);
      for (const Point& p : run) canvas.fill_circle(p, 3.2, series.color);
      run.clear();
    }
  }

  // Legend in the corner that covers the fewest points, trying the preferred corner first.
  if (chart.series.empty()) return;
  int label_width = 0;
  for (const Series& series : chart.series) {
    label_width = std::max(label_width, font.text_width(series.label, kTickSize));
  }
  const int row = 20;
  const int box_width = 12 + 28 + 8 + label_width + 12;
  const int box_height = 8 + row * static_cast<int>(chart.series.size()) + 4;
  const Corner order[] = {chart.legend, Corner::BottomRight, Corner::TopRight,
                          Corner::BottomLeft, Corner::TopLeft};
  Corner best = chart.legend;
  std::size_t fewest = std::numeric_limits<std::size_t>::max();
  int bx = 0, by = 0;
  for (Corner corner : order) {
    const bool is_right = corner == Corner::TopRight || corner == Corner::BottomRight;
    const bool is_bottom = corner == Corner::BottomLeft || corner == Corner::BottomRight;
    const int cx = is_right ? right - 10 - box_width : left + 10;
    const int cy = is_bottom ? bottom - 10 - box_height : top + 10;
    std::size_t covered = 0;
    for (const Point& p : all_points) {
      if (p.x >= cx - 4 && p.x <= cx + box_width + 4 && p.y >= cy - 4 &&
          p.y <= cy + box_height + 4) {
        ++covered;
      }
    }
    if (covered < fewest) {
      fewest = covered;
      best = corner;
      bx = cx;
      by = cy;
    }
  }
  (void)best;
  canvas.fill_rect(bx, by, bx + box_width, by + box_height, colors::kWhite);
  canvas.draw_rect(bx, by, bx + box_width, by + box_height, {200, 200, 200});
  for (std::size_t i = 0; i < chart.series.size(); ++i) {
    const double cy = by + 4 + row * (i + 0.5);
    canvas.draw_polyline({{bx + 12.0, cy}, {bx + 40.0, cy}}, 2.2, chart.series[i].color);
    canvas.fill_circle({bx + 26.0, cy}, 3.2, chart.series[i].color);
    canvas.draw_text(font, chart.series[i].label, bx + 48.0, cy, kTickSize, colors::kText,
                     Align::Left, VAlign::Middle);
  }
}

Canvas draw_training_curves(const Font& font, const std::vector<EpochRecord>& history) {
  Series train_accuracy{"Training Accuracy", {}, {}, colors::kBlue};
  Series val_accuracy{"Validation Accuracy", {}, {}, colors::kOrange};
  Series train_loss{"Training Loss", {}, {}, colors::kBlue};
  Series val_loss{"Validation Loss", {}, {}, colors::kOrange};
  for (const EpochRecord& record : history) {
    for (Series* s : {&train_accuracy, &val_accuracy, &train_loss, &val_loss}) {
      s->x.push_back(record.epoch);
    }
    train_accuracy.y.push_back(record.accuracy);
    val_accuracy.y.push_back(record.val_accuracy);
    train_loss.y.push_back(record.loss);
    val_loss.y.push_back(record.val_loss);
  }

  Chart accuracy{"Training and Validation Accuracy", "Epoch", "Accuracy",
                 {train_accuracy, val_accuracy}, Corner::BottomRight, true, 0.0, 1.0};
  Chart loss{"Training and Validation Loss", "Epoch", "Loss", {train_loss, val_loss},
             Corner::TopRight, true, 0.0, 1e300};
  const int panel_width = 600, panel_height = 500;
  Canvas canvas(2 * panel_width, panel_height);
  draw_chart(canvas, font, accuracy, 0, 0, panel_width, panel_height);
  draw_chart(canvas, font, loss, panel_width, 0, panel_width, panel_height);
  return canvas;
}

Canvas draw_image_grid(const Font& font, const std::vector<LabelledImage>& images, int columns,
                       int rows, int tile, const std::string& title) {
  if (columns < 1 || rows < 1 || tile < 1) {
    throw nn::ShapeError("draw_image_grid: expected positive columns, rows and tile, got " +
                         std::to_string(columns) + ", " + std::to_string(rows) + ", " +
                         std::to_string(tile));
  }
  const int gap = 14;
  const int caption = 26;
  const int title_height = title.empty() ? 0 : 36;
  Canvas canvas(columns * tile + (columns + 1) * gap,
                title_height + rows * (caption + tile) + (rows + 1) * gap - 4);
  if (!title.empty()) {
    canvas.draw_text(font, title, canvas.width() / 2.0, 28, kTitleSize, colors::kText,
                     Align::Center, VAlign::Baseline);
  }

  const std::size_t count = std::min(images.size(), static_cast<std::size_t>(columns * rows));
  for (std::size_t i = 0; i < count; ++i) {
    const LabelledImage& image = images[i];
    if (image.width < 1 || image.height < 1 ||
        image.rgb.size() != static_cast<std::size_t>(image.width) * image.height * 3) {
      throw nn::ShapeError("draw_image_grid: image " + std::to_string(i) +
                           " expected width * height * 3 bytes, got " +
                           std::to_string(image.rgb.size()));
    }
    const int column = static_cast<int>(i) % columns;
    const int row = static_cast<int>(i) / columns;
    const int cell_x = gap + column * (tile + gap);
    const int cell_y = title_height + gap + row * (caption + tile + gap);

    // Scale the long side to the tile and centre the image below its caption.
    const double scale = static_cast<double>(tile) / std::max(image.width, image.height);
    const int out_width = std::max(1, static_cast<int>(std::lround(image.width * scale)));
    const int out_height = std::max(1, static_cast<int>(std::lround(image.height * scale)));
    canvas.draw_text(font, fit_text(font, image.caption, kLabelSize, tile),
                     cell_x + tile / 2.0, cell_y + caption - 9, kLabelSize, colors::kText,
                     Align::Center, VAlign::Baseline);
    canvas.draw_image(image.rgb.data(), image.width, image.height,
                      cell_x + (tile - out_width) / 2, cell_y + caption + (tile - out_height) / 2,
                      out_width, out_height);
  }
  return canvas;
}

Canvas draw_confusion_matrix(const Font& font, const std::vector<std::string>& class_names,
                             const std::vector<std::vector<long>>& counts,
                             const std::string& title) {
  const int n = static_cast<int>(class_names.size());
  if (n < 1 || counts.size() != class_names.size()) {
    throw nn::ShapeError("draw_confusion_matrix: expected one row of counts per class (" +
                         std::to_string(n) + "), got " + std::to_string(counts.size()));
  }
  for (const auto& row : counts) {
    if (row.size() != class_names.size()) {
      throw nn::ShapeError("draw_confusion_matrix: expected " + std::to_string(n) +
                           " counts per row, got " + std::to_string(row.size()));
    }
  }

  // Cells shrink with the class count; labels and numbers follow the cell size.
  const int cell = std::clamp(760 / n, 18, 56);
  const double label_size = std::min(13.0, cell * 0.68);
  const double count_size = std::min(13.0, cell * 0.55);
  int label_width = 0;
  for (const auto& name : class_names) {
    label_width = std::max(label_width, font.text_width(name, label_size));
  }
  const int axis_title = 30;
  const int grid_left = 16 + axis_title + label_width + 10;
  const int grid_top = 52;
  const int grid_size = n * cell;
  const int title_width = font.text_width(title, kTitleSize) + 40;
  Canvas canvas(std::max(grid_left + grid_size + 24, title_width),
                grid_top + grid_size + 10 + label_width + 12 + axis_title + 10);

  // The title is centred over the grid unless it is wider than the space that leaves.
  const double grid_centre = grid_left + grid_size / 2.0;
  const double title_x = grid_centre + title_width / 2.0 <= canvas.width()
                             ? std::max(grid_centre, title_width / 2.0)
                             : canvas.width() / 2.0;
  canvas.draw_text(font, title, title_x, 30, kTitleSize, colors::kText, Align::Center,
                   VAlign::Baseline);

  for (int r = 0; r < n; ++r) {
    long row_total = 0;
    for (long c : counts[static_cast<std::size_t>(r)]) row_total += c;
    for (int c = 0; c < n; ++c) {
      const long value = counts[static_cast<std::size_t>(r)][static_cast<std::size_t>(c)];
      const double fraction = row_total > 0 ? static_cast<double>(value) / row_total : 0.0;
      const int cx = grid_left + c * cell, cy = grid_top + r * cell;
      canvas.fill_rect(cx, cy, cx + cell, cy + cell, blues(fraction));
      if (value > 0) {
        canvas.draw_text(font, std::to_string(value), cx + cell / 2.0, cy + cell / 2.0,
                         count_size, fraction > 0.5 ? colors::kWhite : colors::kText,
                         Align::Center, VAlign::Middle);
      }
    }
  }
  // Thin separators make rows and columns easy to follow across a large matrix.
  for (int i = 1; i < n; ++i) {
    const double offset = i * cell + 0.5;
    canvas.draw_polyline({{grid_left + offset, double(grid_top)},
                          {grid_left + offset, double(grid_top + grid_size)}},
                         1.0, {236, 236, 236});
    canvas.draw_polyline({{double(grid_left), grid_top + offset},
                          {double(grid_left + grid_size), grid_top + offset}},
                         1.0, {236, 236, 236});
  }
  canvas.draw_rect(grid_left, grid_top, grid_left + grid_size + 1, grid_top + grid_size + 1,
                   colors::kAxis);

  // Row labels (true class) on the left, column labels (predicted class) rotated below.
  for (int i = 0; i < n; ++i) {
    const std::string& name = class_names[static_cast<std::size_t>(i)];
    canvas.draw_text(font, name, grid_left - 8, grid_top + (i + 0.5) * cell, label_size,
                     colors::kText, Align::Right, VAlign::Middle);
    canvas.draw_text(font, name, grid_left + (i + 0.5) * cell + 0.36 * label_size,
                     grid_top + grid_size + 8, label_size, colors::kText, Align::Right,
                     VAlign::Baseline, true);
  }
  canvas.draw_text(font, "Predicted class", grid_left + grid_size / 2.0,
                   canvas.height() - 16, kLabelSize, colors::kText, Align::Center,
                   VAlign::Baseline);
  canvas.draw_text(font, "True class", 16 + kLabelSize, grid_top + grid_size / 2.0, kLabelSize,
                   colors::kText, Align::Center, VAlign::Baseline, true);
  return canvas;
}

}  // namespace pet_breeds
