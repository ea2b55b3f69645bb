#pragma once
/// A small RGB raster canvas with anti-aliased lines, discs, text and images.

#include <cstdint>
#include <string>
#include <vector>

#include "font.hpp"

namespace pet_breeds {

struct Color {
  std::uint8_t r = 0, g = 0, b = 0;
};

/// Matplotlib's default colours, so the curves look as Keras users know them.
namespace colors {
constexpr Color kWhite{255, 255, 255};
constexpr Color kBlack{0, 0, 0};
constexpr Color kText{34, 34, 34};
constexpr Color kGrid{225, 225, 225};
constexpr Color kAxis{90, 90, 90};
constexpr Color kBlue{31, 119, 180};
constexpr Color kOrange{255, 127, 14};
}  // namespace colors

struct Point {
  double x = 0.0, y = 0.0;
};

enum class Align { Left, Center, Right };
enum class VAlign { Top, Middle, Baseline, Bottom };

/// An RGB image in memory, 8 bits per channel, row-major, origin at the top left.
///
/// Coordinates are in pixels with (x + 0.5, y + 0.5) the centre of pixel (x, y); drawing
/// outside the canvas is clipped.
class Canvas {
 public:
  Canvas(int width, int height, Color background = colors::kWhite);

  int width() const { return width_; }
  int height() const { return height_; }
  const std::vector<std::uint8_t>& pixels() const { return pixels_; }
  Color pixel(int x, int y) const;

  /// Mixes `color` into pixel (x, y) with opacity `alpha` in [0, 1].
  void blend(int x, int y, Color color, double alpha);

  /// Fills the pixels whose centres lie in [x0, x1) x [y0, y1).
  void fill_rect(double x0, double y0, double x1, double y1, Color color);

  /// Draws the 1-pixel outline of the rectangle [x0, x1) x [y0, y1) on whole pixels.
  void draw_rect(int x0, int y0, int x1, int y1, Color color);

  /// Draws connected segments `width` pixels wide with round joins and ends.
  void draw_polyline(const std::vector<Point>& points, double width, Color color);

  void fill_circle(Point centre, double radius, Color color);

  /// Draws one line of text; (x, y) is the anchor selected by `align` and `valign`. With
  /// `vertical` the text runs bottom to top, and `align` applies along the text direction.
  void draw_text(const Font& font, const std::string& text, double x, double y,
                 double pixel_height, Color color, Align align = Align::Left,
                 VAlign valign = VAlign::Baseline, bool vertical = false);

  /// Draws an interleaved RGB image scaled to out_width x out_height at (x, y), bilinearly.
  void draw_image(const std::uint8_t* rgb, int width, int height, int x, int y, int out_width,
                  int out_height);

  /// Writes the canvas as a PNG file, replacing it whole; throws nn::DataError on failure.
  void save_png(const std::string& path) const;

 private:
  int width_;
  int height_;
  std::vector<std::uint8_t> pixels_;
};

}  // namespace pet_breeds
