#include "font.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>

#define STB_TRUETYPE_IMPLEMENTATION
#define STBTT_STATIC
#include <stb/stb_easy_font.h>
#include <stb/stb_truetype.h>

#ifndef PET_BREEDS_FONT_PATH
#define PET_BREEDS_FONT_PATH "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#endif

namespace pet_breeds {

struct Font::TrueType {
  std::vector<unsigned char> file;
  stbtt_fontinfo info{};
};

namespace {

// Decodes UTF-8 into code points; a malformed byte becomes U+FFFD.
std::vector<int> decode_utf8(const std::string& text) {
  std::vector<int> points;
  for (std::size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    int length = byte < 0x80 ? 1 : (byte >> 5) == 0x6 ? 2 : (byte >> 4) == 0xE ? 3
                               : (byte >> 3) == 0x1E  ? 4 : 0;
    if (length == 0 || i + static_cast<std::size_t>(length) > text.size()) {
      points.push_back(0xFFFD);
      ++i;
      continue;
    }
    int point = length == 1 ? byte : byte & (0x7F >> length);
    for (int k = 1; k < length; ++k) point = (point << 6) | (text[i + k] & 0x3F);
    points.push_back(point);
    i += static_cast<std::size_t>(length);
  }
  return points;
}

// The built-in font covers printable ASCII only and indexes a table with each byte, so any
// other byte is replaced before it reaches stb_easy_font.
std::string printable_ascii(const std::string& text) {
  std::string clean;
  for (int point : decode_utf8(text)) clean += point >= 32 && point < 127 ? char(point) : '?';
  return clean;
}

// stb_easy_font draws capitals 7 units tall on a 12-unit line; descenders reach row 9.
constexpr double kBuiltinCapHeight = 7.0;
constexpr double kBuiltinLineHeight = 12.0;

TextMask render_builtin(const std::string& text, double pixel_height) {
  std::string clean = printable_ascii(text);
  const double scale = 0.72 * pixel_height / kBuiltinCapHeight;
  TextMask mask;
  mask.width = static_cast<int>(std::ceil(stb_easy_font_width(clean.data()) * scale)) + 1;
  mask.height = static_cast<int>(std::ceil(kBuiltinLineHeight * scale));
  mask.baseline = static_cast<int>(std::lround((kBuiltinCapHeight + 1.0) * scale));
  mask.coverage.assign(static_cast<std::size_t>(mask.width) * mask.height, 0);

  // Each quad is an axis-aligned rectangle in font units; scale it and add the fraction of
  // every pixel it covers, which anti-aliases the edges.
  std::vector<float> vertices(clean.size() * 400 + 64);
  const int quads = stb_easy_font_print(0, 1, clean.data(), nullptr, vertices.data(),
                                        static_cast<int>(vertices.size() * sizeof(float)));
  std::vector<float> cover(mask.coverage.size(), 0.0f);
  for (int q = 0; q < quads; ++q) {
    const float* v = &vertices[static_cast<std::size_t>(q) * 16];  // 4 vertices of 4 floats
    const double x0 = v[0] * scale, y0 = v[1] * scale;
    const double x1 = v[8] * scale, y1 = v[9] * scale;
    for (int y = std::max(0, int(std::floor(y0))); y < std::min(mask.height, int(std::ceil(y1)));
         ++y) {
      const double dy = std::min<double>(y + 1, y1) - std::max<double>(y, y0);
      for (int x = std::max(0, int(std::floor(x0)));
           x < std::min(mask.width, int(std::ceil(x1))); ++x) {
        const double dx = std::min<double>(x + 1, x1) - std::max<double>(x, x0);
        cover[static_cast<std::size_t>(y) * mask.width + x] += static_cast<float>(dx * dy);
      }
    }
  }
  for (std::size_t i = 0; i < cover.size(); ++i) {
    mask.coverage[i] = static_cast<std::uint8_t>(std::lround(255 * std::min(1.0f, cover[i])));
  }
  return mask;
}

}  // namespace

Font Font::load(const std::string& path) {
  Font font;
  if (path.empty()) return font;
  std::ifstream in(path, std::ios::binary);
  if (!in) return font;
  auto truetype = std::make_shared<TrueType>();
  truetype->file.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  const int offset = stbtt_GetFontOffsetForIndex(truetype->file.data(), 0);
  if (offset < 0 || !stbtt_InitFont(&truetype->info, truetype->file.data(), offset)) return font;
  font.truetype_ = std::move(truetype);
  return font;
}

Font Font::builtin() { return Font(); }

TextMask Font::render(const std::string& text, double pixel_height) const {
  if (!truetype_) return render_builtin(text, pixel_height);
  const stbtt_fontinfo& info = truetype_->info;

  // stb_truetype scales so that ascent - descent equals the requested height; DejaVu's capitals
  // are 0.72 of that, close to the built-in font's proportions.
  const float scale = stbtt_ScaleForPixelHeight(&info, static_cast<float>(pixel_height));
  int ascent = 0, descent = 0, line_gap = 0;
  stbtt_GetFontVMetrics(&info, &ascent, &descent, &line_gap);
  TextMask mask;
  mask.baseline = static_cast<int>(std::ceil(ascent * scale));
  mask.height = mask.baseline + static_cast<int>(std::ceil(-descent * scale)) + 1;
  mask.width = text_width(text, pixel_height) + 2;
  mask.coverage.assign(static_cast<std::size_t>(mask.width) * mask.height, 0);

  // Glyphs are rendered one by one at their sub-pixel position and merged with max(), so
  // overlapping neighbours (kerned pairs) do not erase each other.
  const std::vector<int> points = decode_utf8(text);
  double pen = 1.0;
  std::vector<unsigned char> glyph;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const int point = points[i];
    const float shift = static_cast<float>(pen - std::floor(pen));
    int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    stbtt_GetCodepointBitmapBoxSubpixel(&info, point, scale, scale, shift, 0, &x0, &y0, &x1, &y1);
    const int w = x1 - x0, h = y1 - y0;
    if (w > 0 && h > 0) {
      glyph.assign(static_cast<std::size_t>(w) * h, 0);
      stbtt_MakeCodepointBitmapSubpixel(&info, glyph.data(), w, h, w, scale, scale, shift, 0,
                                        point);
      const int left = static_cast<int>(std::floor(pen)) + x0;
      const int top = mask.baseline + y0;
      for (int y = 0; y < h; ++y) {
        const int my = top + y;
        if (my < 0 || my >= mask.height) continue;
        for (int x = 0; x < w; ++x) {
          const int mx = left + x;
          if (mx < 0 || mx >= mask.width) continue;
          auto& cell = mask.coverage[static_cast<std::size_t>(my) * mask.width + mx];
          cell = std::max(cell, glyph[static_cast<std::size_t>(y) * w + x]);
        }
      }
    }
    int advance = 0, left_bearing = 0;
    stbtt_GetCodepointHMetrics(&info, point, &advance, &left_bearing);
    pen += advance * scale;
    if (i + 1 < points.size()) {
      pen += scale * stbtt_GetCodepointKernAdvance(&info, point, points[i + 1]);
    }
  }
  return mask;
}

int Font::text_width(const std::string& text, double pixel_height) const {
  if (!truetype_) {
    std::string clean = printable_ascii(text);
    const double scale = 0.72 * pixel_height / kBuiltinCapHeight;
    return static_cast<int>(std::ceil(stb_easy_font_width(clean.data()) * scale));
  }
  const stbtt_fontinfo& info = truetype_->info;
  const float scale = stbtt_ScaleForPixelHeight(&info, static_cast<float>(pixel_height));
  const std::vector<int> points = decode_utf8(text);
  double width = 0.0;
  for (std::size_t i = 0; i < points.size(); ++i) {
    int advance = 0, left_bearing = 0;
    stbtt_GetCodepointHMetrics(&info, points[i], &advance, &left_bearing);
    width += advance * scale;
    if (i + 1 < points.size()) {
      width += scale * stbtt_GetCodepointKernAdvance(&info, points[i], points[i + 1]);
    }
  }
  return static_cast<int>(std::ceil(width));
}

std::string font_path() {
  const char* chosen = std::getenv("PET_BREEDS_FONT");
  return chosen != nullptr ? chosen : PET_BREEDS_FONT_PATH;
}

}  // namespace pet_breeds
