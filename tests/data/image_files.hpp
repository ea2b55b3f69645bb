#pragma once
// Test helpers that write small image files of every colour layout nn reads, and temporary
// folder trees to hold them.
//
// PNG, GIF and paletted BMP are encoded here by hand so that the tests control the exact layout
// (16-bit samples, palettes, grey with alpha, several GIF frames); 24-bit BMP comes from
// stb_image_write, JPEG from small files under tests/data/jpeg/.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#if !defined(INCLUDE_STB_IMAGE_WRITE_H)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>
#undef STB_IMAGE_WRITE_IMPLEMENTATION
#pragma GCC diagnostic pop
#endif

namespace nn_test {

using Bytes = std::vector<std::uint8_t>;

/// A fresh folder under the system's temporary directory, removed with its contents at the end.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "nn_data_XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  std::filesystem::path operator/(const std::string& relative) const { return path_ / relative; }

 private:
  std::filesystem::path path_;
};

/// Writes `bytes` to `path`, creating the parent folders.
inline void write_file(const std::filesystem::path& path, const Bytes& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

inline void write_file(const std::filesystem::path& path, const std::string& text) {
  write_file(path, Bytes(text.begin(), text.end()));
}

inline Bytes read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void put_be32(Bytes& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
}
inline void put_le16(Bytes& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
}
inline void put_le32(Bytes& out, std::uint32_t v) {
  put_le16(out, v & 0xFFFF);
  put_le16(out, v >> 16);
}

inline std::uint32_t crc32(const std::uint8_t* data, std::size_t n) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) {
    crc ^= data[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return crc ^ 0xFFFFFFFFu;
}

/// PNG colour types.
enum class PngColor : std::uint8_t { Grey = 0, Rgb = 2, Palette = 3, GreyAlpha = 4, Rgba = 6 };

/// Encodes a PNG with stored (uncompressed) deflate blocks. `samples` holds height × width ×
/// channels values (palette indices for Palette), each < 2^bit_depth.
inline Bytes encode_png(int width, int height, PngColor color, int bit_depth,
                        const std::vector<std::uint16_t>& samples,
                        const std::vector<std::uint8_t>& palette_rgb = {}) {
  const int channels = color == PngColor::Grey || color == PngColor::Palette ? 1
                       : color == PngColor::GreyAlpha                       ? 2
                       : color == PngColor::Rgb                             ? 3
                                                                            : 4;
  const int bytes_per_sample = bit_depth == 16 ? 2 : 1;
  Bytes raw;
  std::size_t k = 0;
  for (int y = 0; y < height; ++y) {
    raw.push_back(0);  // filter: none
    for (int x = 0; x < width * channels; ++x) {
      const std::uint16_t v = samples[k++];
      if (bytes_per_sample == 2) raw.push_back(static_cast<std::uint8_t>(v >> 8));
      raw.push_back(static_cast<std::uint8_t>(v));
    }
  }
  // zlib stream of stored blocks.
  Bytes z{0x78, 0x01};
  for (std::size_t pos = 0; pos < raw.size() || pos == 0;) {
    const std::size_t n = std::min<std::size_t>(65535, raw.size() - pos);
    const bool last = pos + n == raw.size();
    z.push_back(last ? 1 : 0);
    put_le16(z, static_cast<std::uint32_t>(n));
    put_le16(z, static_cast<std::uint32_t>(~n & 0xFFFF));
    z.insert(z.end(), raw.begin() + static_cast<std::ptrdiff_t>(pos),
             raw.begin() + static_cast<std::ptrdiff_t>(pos + n));
    pos += n;
    if (last) break;
  }
  std::uint32_t a = 1, b = 0;
  for (std::uint8_t v : raw) {
    a = (a + v) % 65521;
    b = (b + a) % 65521;
  }
  put_be32(z, b << 16 | a);

  Bytes png{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  auto chunk = [&png](const char* type, const Bytes& body) {
    put_be32(png, static_cast<std::uint32_t>(body.size()));
    const std::size_t start = png.size();
    png.insert(png.end(), type, type + 4);
    png.insert(png.end(), body.begin(), body.end());
    put_be32(png, crc32(png.data() + start, png.size() - start));
  };
  Bytes ihdr;
  put_be32(ihdr, static_cast<std::uint32_t>(width));
  put_be32(ihdr, static_cast<std::uint32_t>(height));
  ihdr.push_back(static_cast<std::uint8_t>(bit_depth));
  ihdr.push_back(static_cast<std::uint8_t>(color));
  ihdr.push_back(0);
  ihdr.push_back(0);
  ihdr.push_back(0);
  chunk("IHDR", ihdr);
  if (color == PngColor::Palette) chunk("PLTE", palette_rgb);
  chunk("IDAT", z);
  chunk("IEND", {});
  return png;
}

/// A zlib stream that inflates to 2 + 258 * repeats zero bytes: two literals, then matches of
/// length 258 at distance 1, with the fixed Huffman codes of deflate (13 bits per match).
inline Bytes zlib_zero_bomb(std::size_t repeats) {
  Bytes out{0x78, 0x01};
  std::uint32_t bits = 0;
  int count = 0;
  auto put = [&](std::uint32_t value, int n, bool msb_first) {
    for (int i = 0; i < n; ++i) {
      const int shift = msb_first ? n - 1 - i : i;
      bits |= ((value >> shift) & 1u) << count;
      if (++count == 8) {
        out.push_back(static_cast<std::uint8_t>(bits));
        bits = 0;
        count = 0;
      }
    }
  };
  put(1, 1, false);     // final block
  put(1, 2, false);     // fixed Huffman codes
  put(0x30, 8, true);   // literal 0
  put(0x30, 8, true);   // literal 0
  for (std::size_t i = 0; i < repeats; ++i) {
    put(0xC5, 8, true);  // length symbol 285: 258 bytes
    put(0, 5, true);     // distance symbol 0: distance 1
  }
  put(0, 7, true);  // end of block
  if (count > 0) out.push_back(static_cast<std::uint8_t>(bits));
  const std::uint64_t n = 2 + 258 * static_cast<std::uint64_t>(repeats);
  put_be32(out, static_cast<std::uint32_t>((n % 65521) << 16 | 1));  // Adler-32 of n zeros
  return out;
}

/// A 1x1 grey PNG whose IDAT chunk holds `zlib` as its compressed data.
inline Bytes png_with_zlib(const Bytes& zlib) {
  Bytes png = encode_png(1, 1, PngColor::Grey, 8, {0});
  // Replace the IDAT chunk, which follows the 8-byte signature and the 25-byte IHDR chunk.
  const std::size_t idat = 33;
  const std::size_t old_length = (static_cast<std::size_t>(png[idat]) << 24) |
                                 (static_cast<std::size_t>(png[idat + 1]) << 16) |
                                 (static_cast<std::size_t>(png[idat + 2]) << 8) | png[idat + 3];
  Bytes chunk;
  put_be32(chunk, static_cast<std::uint32_t>(zlib.size()));
  chunk.insert(chunk.end(), {'I', 'D', 'A', 'T'});
  chunk.insert(chunk.end(), zlib.begin(), zlib.end());
  put_be32(chunk, crc32(chunk.data() + 4, chunk.size() - 4));
  png.erase(png.begin() + static_cast<std::ptrdiff_t>(idat),
            png.begin() + static_cast<std::ptrdiff_t>(idat + 12 + old_length));
  png.insert(png.begin() + static_cast<std::ptrdiff_t>(idat), chunk.begin(), chunk.end());
  return png;
}

/// Returns `png` with the body of its first chunk of type `type` replaced by `body`.
inline Bytes replace_png_chunk(const Bytes& png, const char* type, const Bytes& body) {
  Bytes out(png.begin(), png.begin() + 8);
  for (std::size_t pos = 8; pos + 12 <= png.size();) {
    const std::size_t length = (static_cast<std::size_t>(png[pos]) << 24) |
                               (static_cast<std::size_t>(png[pos + 1]) << 16) |
                               (static_cast<std::size_t>(png[pos + 2]) << 8) | png[pos + 3];
    const bool match = std::equal(type, type + 4, png.begin() + static_cast<std::ptrdiff_t>(pos + 4));
    Bytes chunk;
    put_be32(chunk, static_cast<std::uint32_t>(match ? body.size() : length));
    chunk.insert(chunk.end(), png.begin() + static_cast<std::ptrdiff_t>(pos + 4),
                 png.begin() + static_cast<std::ptrdiff_t>(pos + 8));
    if (match) {
      chunk.insert(chunk.end(), body.begin(), body.end());
    } else {
      chunk.insert(chunk.end(), png.begin() + static_cast<std::ptrdiff_t>(pos + 8),
                   png.begin() + static_cast<std::ptrdiff_t>(pos + 8 + length));
    }
    put_be32(chunk, crc32(chunk.data() + 4, chunk.size() - 4));
    out.insert(out.end(), chunk.begin(), chunk.end());
    pos += 12 + length;
  }
  return out;
}

/// A PNG fixture from tests/data/png/.
inline Bytes png_fixture(const std::string& name) {
  const Bytes bytes = read_file(std::filesystem::path(NN_TEST_DATA_DIR) / "png" / name);
  if (bytes.empty()) throw std::runtime_error("missing test fixture png/" + name);
  return bytes;
}

/// An 8-bit RGB PNG from interleaved bytes.
inline Bytes rgb_png(int width, int height, const std::vector<std::uint8_t>& rgb) {
  return encode_png(width, height, PngColor::Rgb, 8,
                    std::vector<std::uint16_t>(rgb.begin(), rgb.end()));
}

/// A PNG of one colour.
inline Bytes solid_png(int width, int height, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  std::vector<std::uint8_t> rgb;
  for (int i = 0; i < width * height; ++i) rgb.insert(rgb.end(), {r, g, b});
  return rgb_png(width, height, rgb);
}

inline void append_to(void* context, void* data, int size) {
  auto* out = static_cast<Bytes*>(context);
  const auto* p = static_cast<const std::uint8_t*>(data);
  out->insert(out->end(), p, p + size);
}

/// A JPEG fixture from tests/data/jpeg/ (baseline JPEGs written once with stb_image_write,
/// whose encoder shifts negative values and so cannot run under UBSan).
inline Bytes jpeg_fixture(const std::string& name) {
  const Bytes bytes = read_file(std::filesystem::path(NN_TEST_DATA_DIR) / "jpeg" / name);
  if (bytes.empty()) throw std::runtime_error("missing test fixture jpeg/" + name);
  return bytes;
}

/// A 24-bit (3 channels) or 32-bit (4 channels) BMP from stb_image_write.
inline Bytes encode_bmp(int width, int height, int channels, const std::vector<std::uint8_t>& px) {
  Bytes out;
  stbi_write_bmp_to_func(append_to, &out, width, height, channels, px.data());
  return out;
}

/// An 8-bit paletted BMP, bottom-up rows padded to 4 bytes.
inline Bytes encode_bmp_paletted(int width, int height, const std::vector<std::uint8_t>& indices,
                                 const std::vector<std::uint8_t>& palette_rgb) {
  const auto colors = static_cast<std::uint32_t>(palette_rgb.size() / 3);
  const auto row = static_cast<std::uint32_t>((width + 3) / 4 * 4);
  const std::uint32_t offset = 14 + 40 + colors * 4;
  Bytes out{'B', 'M'};
  put_le32(out, offset + row * static_cast<std::uint32_t>(height));
  put_le32(out, 0);
  put_le32(out, offset);
  put_le32(out, 40);
  put_le32(out, static_cast<std::uint32_t>(width));
  put_le32(out, static_cast<std::uint32_t>(height));
  put_le16(out, 1);
  put_le16(out, 8);
  put_le32(out, 0);  // BI_RGB
  put_le32(out, row * static_cast<std::uint32_t>(height));
  put_le32(out, 2835);
  put_le32(out, 2835);
  put_le32(out, colors);
  put_le32(out, 0);
  for (std::uint32_t c = 0; c < colors; ++c) {
    out.push_back(palette_rgb[c * 3 + 2]);
    out.push_back(palette_rgb[c * 3 + 1]);
    out.push_back(palette_rgb[c * 3]);
    out.push_back(0);
  }
  for (int y = height - 1; y >= 0; --y) {
    for (std::uint32_t x = 0; x < row; ++x) {
      out.push_back(x < static_cast<std::uint32_t>(width)
                        ? indices[static_cast<std::size_t>(y * width) + x]
                        : 0);
    }
  }
  return out;
}

/// A GIF with a 4-colour global palette and one frame per entry of `frames` (palette indices,
/// width × height each). The LZW stream sends a clear code every two pixels, so codes stay
/// 3 bits wide and no compression logic is needed.
inline Bytes encode_gif(int width, int height, const std::vector<std::uint8_t>& palette_rgb,
                        const std::vector<std::vector<std::uint8_t>>& frames) {
  Bytes out{'G', 'I', 'F', '8', '9', 'a'};
  put_le16(out, static_cast<std::uint32_t>(width));
  put_le16(out, static_cast<std::uint32_t>(height));
  out.push_back(0x80 | 0x01);  // global colour table of 2^(1+1) = 4 entries
  out.push_back(0);
  out.push_back(0);
  for (int i = 0; i < 12; ++i) out.push_back(palette_rgb[static_cast<std::size_t>(i)]);
  for (const auto& frame : frames) {
    out.push_back(0x2C);
    put_le16(out, 0);
    put_le16(out, 0);
    put_le16(out, static_cast<std::uint32_t>(width));
    put_le16(out, static_cast<std::uint32_t>(height));
    out.push_back(0);
    out.push_back(2);  // LZW minimum code size: clear = 4, end = 5
    Bytes lzw;
    std::uint32_t bits = 0;
    int nbits = 0;
    auto emit = [&](std::uint32_t code) {
      bits |= code << nbits;
      nbits += 3;
      while (nbits >= 8) {
        lzw.push_back(static_cast<std::uint8_t>(bits));
        bits >>= 8;
        nbits -= 8;
      }
    };
    for (std::size_t i = 0; i < frame.size(); ++i) {
      if (i % 2 == 0) emit(4);
      emit(frame[i]);
    }
    emit(5);
    if (nbits > 0) lzw.push_back(static_cast<std::uint8_t>(bits));
    for (std::size_t pos = 0; pos < lzw.size(); pos += 255) {
      const std::size_t n = std::min<std::size_t>(255, lzw.size() - pos);
      out.push_back(static_cast<std::uint8_t>(n));
      out.insert(out.end(), lzw.begin() + static_cast<std::ptrdiff_t>(pos),
                 lzw.begin() + static_cast<std::ptrdiff_t>(pos + n));
    }
    out.push_back(0);
  }
  out.push_back(0x3B);
  return out;
}

}  // namespace nn_test
