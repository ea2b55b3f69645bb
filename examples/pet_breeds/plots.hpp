#pragma once
/// The pictures that pet_breeds writes: training curves, image grids and a confusion matrix.

#include <cstdint>
#include <string>
#include <vector>

#include "canvas.hpp"
#include "font.hpp"

namespace pet_breeds {

/// The metrics of one finished epoch, as Keras' History holds them.
struct EpochRecord {
  int epoch = 0;  ///< 1-based
  double loss = 0.0;
  double accuracy = 0.0;
  double val_loss = 0.0;
  double val_accuracy = 0.0;
  double seconds = 0.0;
};

/// An 8-bit interleaved RGB picture with a caption, for image grids.
struct LabelledImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> rgb;  ///< width * height * 3 bytes
  std::string caption;
};

/// A line series on a chart.
struct Series {
  std::string label;
  std::vector<double> x;
  std::vector<double> y;
  Color color;
};

/// Where a chart's legend goes; Best picks the corner that hides the fewest data points,
/// trying `preferred` first.
enum class Corner { TopLeft, TopRight, BottomLeft, BottomRight };

/// One chart panel: a title, axis labels and line series.
struct Chart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<Series> series;
  Corner legend = Corner::BottomRight;
  bool integer_x = false;  ///< ticks only at whole numbers, e.g. epochs
  double y_floor = -1e300;  ///< the y axis never goes below this, e.g. 0 for accuracy
  double y_ceiling = 1e300;  ///< ... nor above this, e.g. 1 for accuracy
};

/// Draws `chart` into the rectangle [x, x + width) x [y, y + height) of the canvas.
void draw_chart(Canvas& canvas, const Font& font, const Chart& chart, int x, int y, int width,
                int height);

/// Draws Keras' two panels: training and validation accuracy, training and validation loss.
Canvas draw_training_curves(const Font& font, const std::vector<EpochRecord>& history);

/// Draws up to `columns` x `rows` images, each scaled to `tile` pixels on its long side, with
/// its caption above it and an optional title over the grid.
Canvas draw_image_grid(const Font& font, const std::vector<LabelledImage>& images, int columns,
                       int rows, int tile, const std::string& title);

/// Draws a confusion matrix: rows are true classes, columns predicted ones, counts in cells
/// shaded by the fraction of the row, so a good model shows a dark diagonal.
Canvas draw_confusion_matrix(const Font& font, const std::vector<std::string>& class_names,
                             const std::vector<std::vector<long>>& counts,
                             const std::string& title);

/// Returns about `target` evenly spaced round tick values (1, 2, 2.5 or 5 times a power of
/// ten) covering [low, high].
std::vector<double> nice_ticks(double low, double high, int target);

}  // namespace pet_breeds
