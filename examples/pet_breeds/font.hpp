#pragma once
/// Text rendering for the example's pictures: a TrueType font, or a built-in bitmap font.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace pet_breeds {

/// A rendered line of text: 8-bit coverage, row-major, `width` x `height`.
struct TextMask {
  int width = 0;
  int height = 0;
  int baseline = 0;  ///< rows from the top of the mask to the baseline
  std::vector<std::uint8_t> coverage;
};

/// A font that renders one line of text into a coverage mask at a given pixel height.
///
/// `load()` reads a TrueType file through stb_truetype. When the file is missing or unreadable
/// it falls back to stb_easy_font, a small built-in bitmap font (ASCII only), so pictures
/// always get their labels, if plainer ones.
class Font {
 public:
  /// Loads the TrueType font at `path`; uses the built-in font when that fails or path is "".
  static Font load(const std::string& path);

  /// The built-in bitmap font.
  static Font builtin();

  /// True when a TrueType file was loaded, false for the built-in font.
  bool is_truetype() const { return truetype_ != nullptr; }

  /// Renders `text` (UTF-8) with capital letters about 0.72 * `pixel_height` tall.
  TextMask render(const std::string& text, double pixel_height) const;

  /// The width in pixels that render() would return.
  int text_width(const std::string& text, double pixel_height) const;

 private:
  struct TrueType;
  std::shared_ptr<const TrueType> truetype_;
};

/// The TrueType font for the pictures: $PET_BREEDS_FONT when set (set it empty to force the
/// built-in font), else the DejaVu Sans file of Debian's fonts-dejavu-core package.
std::string font_path();

}  // namespace pet_breeds
