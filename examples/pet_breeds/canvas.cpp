#include "canvas.hpp"

#include <algorithm>
#include <cmath>

#include <nn/core/errors.hpp>
#include <nn/io/png.hpp>

namespace pet_breeds {

namespace {

// Distance from p to the segment a-b.
double segment_distance(Point p, Point a, Point b) {
  const double dx = b.x - a.x, dy = b.y - a.y;
  const double length2 = dx * dx + dy * dy;
  double t = length2 > 0 ? ((p.x - a.x) * dx + (p.y - a.y) * dy) / length2 : 0.0;
  t = std::clamp(t, 0.0, 1.0);
  const double ex = p.x - (a.x + t * dx), ey = p.y - (a.y + t * dy);
  return std::sqrt(ex * ex + ey * ey);
}

}  // namespace

Canvas::Canvas(int width, int height, Color background)
    : width_(width), height_(height) {
  if (width < 1 || height < 1) {
    throw nn::ShapeError("Canvas: expected a positive width and height, got " +
                         std::to_string(width) + " x " + std::to_string(height));
  }
  pixels_.resize(static_cast<std::size_t>(width) * height * 3);
  for (std::size_t i = 0; i < pixels_.size(); i += 3) {
    pixels_[i] = background.r;
    pixels_[i + 1] = background.g;
    pixels_[i + 2] = background.b;
  }
}

Color Canvas::pixel(int x, int y) const {
  const std::size_t i = (static_cast<std::size_t>(y) * width_ + x) * 3;
  return {pixels_[i], pixels_[i + 1], pixels_[i + 2]};
}

void Canvas::blend(int x, int y, Color color, double alpha) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_ || alpha <= 0.0) return;
  alpha = std::min(alpha, 1.0);
  std::uint8_t* p = &pixels_[(static_cast<std::size_t>(y) * width_ + x) * 3];
  const std::uint8_t source[3] = {color.r, color.g, color.b};
  for (int c = 0; c < 3; ++c) {
    p[c] = static_cast<std::uint8_t>(std::lround(p[c] + alpha * (source[c] - p[c])));
  }
}

void Canvas::fill_rect(double x0, double y0, double x1, double y1, Color color) {
  const int left = std::max(0, static_cast<int>(std::ceil(x0 - 0.5)));
  const int right = std::min(width_, static_cast<int>(std::ceil(x1 - 0.5)));
  const int top = std::max(0, static_cast<int>(std::ceil(y0 - 0.5)));
  const int bottom = std::min(height_, static_cast<int>(std::ceil(y1 - 0.5)));
  for (int y = top; y < bottom; ++y) {
    for (int x = left; x < right; ++x) blend(x, y, color, 1.0);
  }
}

void Canvas::draw_rect(int x0, int y0, int x1, int y1, Color color) {
  for (int x = x0; x < x1; ++x) {
    blend(x, y0, color, 1.0);
    blend(x, y1 - 1, color, 1.0);
  }
  for (int y = y0; y < y1; ++y) {
    blend(x0, y, color, 1.0);
    blend(x1 - 1, y, color, 1.0);
  }
}

void Canvas::draw_polyline(const std::vector<Point>& points, double width, Color color) {
  if (points.empty()) return;
  const double half = width / 2.0;

  // Coverage of a pixel is how far its centre lies inside the stroke, over one pixel of
  // smoothing. Taking the maximum over all segments before blending keeps joints from being
  // painted twice, which would show as darker dots on a semi-transparent edge.
  double min_x = points[0].x, max_x = points[0].x, min_y = points[0].y, max_y = points[0].y;
  for (const Point& p : points) {
    min_x = std::min(min_x, p.x);
    max_x = std::max(max_x, p.x);
    min_y = std::min(min_y, p.y);
    max_y = std::max(max_y, p.y);
  }
  const int left = std::max(0, static_cast<int>(std::floor(min_x - half - 1)));
  const int right = std::min(width_, static_cast<int>(std::ceil(max_x + half + 1)));
  const int top = std::max(0, static_cast<int>(std::floor(min_y - half - 1)));
  const int bottom = std::min(height_, static_cast<int>(std::ceil(max_y + half + 1)));
  if (left >= right || top >= bottom) return;

  const int box_width = right - left;
  std::vector<float> coverage(static_cast<std::size_t>(box_width) * (bottom - top), 0.0f);
  const std::size_t segments = points.size() > 1 ? points.size() - 1 : 1;
  for (std::size_t s = 0; s < segments; ++s) {
    const Point a = points[s];
    const Point b = points.size() > 1 ? points[s + 1] : points[s];
    const int sx0 = std::max(left, static_cast<int>(std::floor(std::min(a.x, b.x) - half - 1)));
    const int sx1 = std::min(right, static_cast<int>(std::ceil(std::max(a.x, b.x) + half + 1)));
    const int sy0 = std::max(top, static_cast<int>(std::floor(std::min(a.y, b.y) - half - 1)));
    const int sy1 = std::min(bottom, static_cast<int>(std::ceil(std::max(a.y, b.y) + half + 1)));
    for (int y = sy0; y < sy1; ++y) {
      for (int x = sx0; x < sx1; ++x) {
        const double d = segment_distance({x + 0.5, y + 0.5}, a, b);
        const double c = std::clamp(half + 0.5 - d, 0.0, 1.0);
        float& cell = coverage[static_cast<std::size_t>(y - top) * box_width + (x - left)];
        cell = std::max(cell, static_cast<float>(c));
      }
    }
  }
  for (int y = top; y < bottom; ++y) {
    for (int x = left; x < right; ++x) {
      blend(x, y, color, coverage[static_cast<std::size_t>(y - top) * box_width + (x - left)]);
    }
  }
}

void Canvas::fill_circle(Point centre, double radius, Color color) {
  const int left = static_cast<int>(std::floor(centre.x - radius - 1));
  const int right = static_cast<int>(std::ceil(centre.x + radius + 1));
  const int top = static_cast<int>(std::floor(centre.y - radius - 1));
  const int bottom = static_cast<int>(std::ceil(centre.y + radius + 1));
  for (int y = top; y < bottom; ++y) {
    for (int x = left; x < right; ++x) {
      const double d = std::hypot(x + 0.5 - centre.x, y + 0.5 - centre.y);
      blend(x, y, color, std::clamp(radius + 0.5 - d, 0.0, 1.0));
    }
  }
}

void Canvas::draw_text(const Font& font, const std::string& text, double x, double y,
                       double pixel_height, Color color, Align align, VAlign valign,
                       bool vertical) {
  if (text.empty()) return;
  const TextMask mask = font.render(text, pixel_height);

  // Offsets of the mask's top-left corner from the anchor, in the text's own frame.
  double along = 0.0;
  if (align == Align::Center) along = -mask.width / 2.0;
  if (align == Align::Right) along = -mask.width;
  // The visual middle of a line of mixed-case text sits half the cap height above the
  // baseline; capitals are 0.72 of the pixel height in both fonts.
  double across = -mask.baseline;
  if (valign == VAlign::Top) across = -(mask.baseline - 0.72 * pixel_height);
  if (valign == VAlign::Middle) across = -(mask.baseline - 0.36 * pixel_height);
  if (valign == VAlign::Bottom) across = -mask.height;

  const int ox = static_cast<int>(std::lround(x + (vertical ? across : along)));
  const int oy = static_cast<int>(std::lround(y + (vertical ? -along : across)));
  for (int my = 0; my < mask.height; ++my) {
    for (int mx = 0; mx < mask.width; ++mx) {
      const std::uint8_t c = mask.coverage[static_cast<std::size_t>(my) * mask.width + mx];
      if (c == 0) continue;
      // Rotating by 90 degrees counter-clockwise maps the mask's (mx, my) to (my, -mx).
      if (vertical) {
        blend(ox + my, oy - mx - 1, color, c / 255.0);
      } else {
        blend(ox + mx, oy + my, color, c / 255.0);
      }
    }
  }
}

void Canvas::draw_image(const std::uint8_t* rgb, int width, int height, int x, int y,
                        int out_width, int out_height) {
  for (int oy = 0; oy < out_height; ++oy) {
    // Sample positions use pixel centres so that scaling by 1 copies the image exactly.
    const double sy = std::clamp((oy + 0.5) * height / out_height - 0.5, 0.0, height - 1.0);
    const int y0 = static_cast<int>(sy);
    const int y1 = std::min(y0 + 1, height - 1);
    const double fy = sy - y0;
    for (int ox = 0; ox < out_width; ++ox) {
      const double sx = std::clamp((ox + 0.5) * width / out_width - 0.5, 0.0, width - 1.0);
      const int x0 = static_cast<int>(sx);
      const int x1 = std::min(x0 + 1, width - 1);
      const double fx = sx - x0;
      std::uint8_t mixed[3];
      for (int c = 0; c < 3; ++c) {
        const auto at = [&](int px, int py) {
          return static_cast<double>(rgb[(static_cast<std::size_t>(py) * width + px) * 3 + c]);
        };
        const double top = at(x0, y0) + fx * (at(x1, y0) - at(x0, y0));
        const double bottom = at(x0, y1) + fx * (at(x1, y1) - at(x0, y1));
        mixed[c] = static_cast<std::uint8_t>(std::lround(top + fy * (bottom - top)));
      }
      blend(x + ox, y + oy, {mixed[0], mixed[1], mixed[2]}, 1.0);
    }
  }
}

void Canvas::save_png(const std::string& path) const {
  nn::Image8 image;
  image.height = height_;
  image.width = width_;
  image.channels = 3;
  image.pixels = pixels_;
  nn::write_png(path, image);
}

}  // namespace pet_breeds
