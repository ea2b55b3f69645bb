#pragma once
/// Reading JPEG, PNG, BMP and GIF files into 8-bit RGB pixels, safely.
///
/// Every image becomes 3-channel RGB: grey is replicated, alpha is dropped, palettes are
/// expanded, 16-bit samples keep their high byte, and a GIF gives its first frame. EXIF
/// orientation is ignored, as Keras and tf.io.decode_image ignore it, so a photo taken on its
/// side stays on its side.
///
/// Files are untrusted input. Before stb_image sees the bytes, nn checks them itself:
/// - the content is identified from its signature (the extension is not trusted) and only
///   JPEG, PNG, BMP and GIF get through; stb_image is compiled with those decoders only;
/// - the file size fits stb_image's `int` lengths;
/// - the header's width and height are read first and an image whose pixel count exceeds
///   `max_pixels` (computed in std::uint64_t, overflow-checked) is rejected before any pixel
///   buffer is allocated;
/// - the block structure of JPEG, PNG, BMP and GIF files is walked first, to find truncated
///   files (stb_image fills the missing part of a JPEG, BMP or GIF with zeros and succeeds) and
///   the malformed segments that stb_image 2.27 mishandles.
/// docs/data.md lists the stb_image 2.27 issues these checks guard against.

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "nn/core/errors.hpp"
#include "nn/core/shape.hpp"
#include "nn/io/detail/stb_image.hpp"

namespace nn {

/// The image file formats nn decodes.
enum class ImageFormat { Jpeg, Png, Bmp, Gif };

inline const char* to_string(ImageFormat format) {
  switch (format) {
    case ImageFormat::Jpeg: return "JPEG";
    case ImageFormat::Png: return "PNG";
    case ImageFormat::Bmp: return "BMP";
    case ImageFormat::Gif: return "GIF";
  }
  return "unknown";
}

/// The size and channel count an image header declares, read without decoding the pixels.
struct ImageInfo {
  ImageFormat format = ImageFormat::Jpeg;
  int width = 0;
  int height = 0;
  int channels = 0;  // as stored: 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA
};

/// A decoded image: height × width pixels of interleaved 8-bit R, G, B, row-major.
struct RgbImage {
  Index height = 0;
  Index width = 0;
  std::vector<std::uint8_t> pixels;  // [height, width, 3]
};

/// Default largest pixel count accepted from a header: 100 megapixels, as in ImageFolderOptions.
inline constexpr std::uint64_t kDefaultMaxPixels = 100'000'000;

namespace detail {

/// Largest byte count stb_image accepts (its lengths are `int`).
inline constexpr std::uint64_t kMaxImageFileBytes =
    static_cast<std::uint64_t>(std::numeric_limits<int>::max());

/// Largest pixel count stb_image's int-sized buffers hold for 4 channels of 16 bits.
inline constexpr std::uint64_t kStbMaxPixels =
    static_cast<std::uint64_t>(std::numeric_limits<int>::max()) / 8;

/// Reads a whole file. Returns an empty string on success, else the reason it failed.
inline std::string read_file_bytes(const std::string& path, std::vector<std::uint8_t>& bytes) {
  bytes.clear();
  // fopen accepts a folder on POSIX systems and ftell then reports a nonsense size; a FIFO
  // would block and a device such as /dev/zero never ends, so only regular files are read.
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!ec && std::filesystem::is_directory(status)) return "cannot open the file (it is a folder)";
  if (!ec && std::filesystem::exists(status) && !std::filesystem::is_regular_file(status)) {
    return "cannot open the file (not a regular file)";
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (!file) return std::string("cannot open the file (") + std::strerror(errno) + ")";
  if (std::fseek(file.get(), 0, SEEK_END) != 0) return "cannot seek in the file";
  const long size = std::ftell(file.get());
  if (size < 0) return "cannot tell the file size";
  if (size == 0) return "the file is empty (0 bytes)";
  if (static_cast<std::uint64_t>(size) > kMaxImageFileBytes) {
    return "the file has " + std::to_string(size) + " bytes; expected at most " +
           std::to_string(kMaxImageFileBytes);
  }
  std::rewind(file.get());
  bytes.resize(static_cast<std::size_t>(size));
  const std::size_t got = std::fread(bytes.data(), 1, bytes.size(), file.get());
  if (got != bytes.size()) {
    bytes.clear();
    return "read " + std::to_string(got) + " of " + std::to_string(size) + " bytes";
  }
  return {};
}

inline bool starts_with(const std::uint8_t* data, std::size_t size, const char* magic,
                        std::size_t n, std::size_t offset = 0) {
  return size >= offset + n && std::memcmp(data + offset, magic, n) == 0;
}

/// Identifies the format from the file's signature. Returns false for anything else and sets
/// `what` to a description of it when the signature is a well-known other format.
inline bool sniff_format(const std::uint8_t* data, std::size_t size, ImageFormat& format,
                         std::string& what) {
  if (starts_with(data, size, "\xFF\xD8\xFF", 3)) format = ImageFormat::Jpeg;
  else if (starts_with(data, size, "\x89PNG\r\n\x1A\n", 8)) format = ImageFormat::Png;
  else if (starts_with(data, size, "BM", 2)) format = ImageFormat::Bmp;
  else if (starts_with(data, size, "GIF87a", 6) || starts_with(data, size, "GIF89a", 6))
    format = ImageFormat::Gif;
  else {
    if (starts_with(data, size, "RIFF", 4) && starts_with(data, size, "WEBP", 4, 8))
      what = "a WebP image";
    else if (starts_with(data, size, "ftyp", 4, 4)) what = "an HEIF/AVIF image";
    else if (starts_with(data, size, "II*\0", 4) || starts_with(data, size, "MM\0*", 4))
      what = "a TIFF image";
    else what = "not an image";
    return false;
  }
  return true;
}

inline std::uint32_t read_le16(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8;
}
inline std::uint32_t read_le32(const std::uint8_t* p) {
  return read_le16(p) | read_le16(p + 2) << 16;
}

/// The tables and frame a JPEG has defined so far, as its marker segments are walked.
struct JpegState {
  bool huffman[2][4] = {};  // [DC = 0 / AC = 1][table id]
  bool quantization[4] = {};
  bool frame = false;
  bool progressive = false;
  int component_ids[4] = {};
  int component_tables[4] = {};  // quantization table of each frame component
  int components = 0;
};

/// Checks the tables of one DHT segment, bytes [begin, end), and records them. stb_image 2.27
/// copies as many Huffman codes as the 16 counts add up to (up to 4080) into arrays of 256 and
/// 257 entries, and reads them on past the end of the segment. Neither a table with more than
/// 256 codes nor one that overruns its segment occurs in a valid JPEG, so both are rejected.
inline std::string check_jpeg_huffman_tables(const std::uint8_t* data, std::size_t begin,
                                             std::size_t end, JpegState& state) {
  std::size_t pos = begin;
  while (pos + 17 <= end) {
    std::size_t codes = 0;
    for (std::size_t i = 1; i <= 16; ++i) codes += data[pos + i];
    if (codes > 256) {
      return "corrupt JPEG: a Huffman table declares " + std::to_string(codes) +
             " codes; at most 256 exist";
    }
    // stb_image reads the code values on past the segment's end, after which it and this walker
    // would disagree on where the next marker is.
    if (pos + 17 + codes > end) return "corrupt JPEG: a Huffman table runs past its segment";
    const int table_class = data[pos] >> 4, id = data[pos] & 15;
    if (table_class <= 1 && id <= 3) state.huffman[table_class][id] = true;
    pos += 17 + codes;
  }
  if (pos != end) return "corrupt JPEG: a Huffman table segment has trailing bytes";
  return {};
}

/// Records the quantization tables of one DQT segment, bytes [begin, end).
inline std::string check_jpeg_quantization_tables(const std::uint8_t* data, std::size_t begin,
                                                  std::size_t end, JpegState& state) {
  std::size_t pos = begin;
  while (pos < end) {
    const std::size_t bytes = (data[pos] >> 4) == 0 ? 64 : 128;
    if (pos + 1 + bytes > end) return "corrupt JPEG: a quantization table runs past its segment";
    if ((data[pos] & 15) <= 3) state.quantization[data[pos] & 15] = true;
    pos += 1 + bytes;
  }
  return {};
}

/// Records the components of a SOF segment, bytes [begin, end).
inline void read_jpeg_frame(const std::uint8_t* data, std::size_t begin, std::size_t end,
                            JpegState& state) {
  if (begin + 6 > end) return;  // stb_image rejects the short header itself
  const int count = data[begin + 5];
  state.frame = true;
  state.components = 0;
  for (int i = 0; i < count && i < 4; ++i) {
    const std::size_t at = begin + 6 + static_cast<std::size_t>(i) * 3;
    if (at + 3 > end) break;
    state.component_ids[i] = data[at];
    state.component_tables[i] = data[at + 2];
    ++state.components;
  }
}

/// Checks that a scan (SOS segment, bytes [begin, end)) uses only tables defined before it.
/// stb_image 2.27 does not check this and decodes with whatever its uninitialised heap memory
/// holds, which the fuzzer turned into an out-of-bounds read in stbi__jpeg_huff_decode. Files
/// that rely on the default Motion-JPEG tables (no DHT at all) are rejected for the same reason.
inline std::string check_jpeg_scan(const std::uint8_t* data, std::size_t begin, std::size_t end,
                                   const JpegState& state) {
  if (begin >= end || !state.frame) return {};  // stb_image rejects these itself
  const std::size_t count = data[begin];
  if (begin + 1 + 2 * count + 3 != end) return "corrupt JPEG: scan header of the wrong length";
  const std::uint8_t spectral_start = data[begin + 1 + 2 * count];
  const int approximation_high = data[begin + 3 + 2 * count] >> 4;
  for (std::size_t i = 0; i < count; ++i) {
    const int id = data[begin + 1 + 2 * i];
    const int dc = data[begin + 2 + 2 * i] >> 4, ac = data[begin + 2 + 2 * i] & 15;
    for (int c = 0; c < state.components; ++c) {
      if (state.component_ids[c] != id) continue;
      const int q = state.component_tables[c];
      if (q <= 3 && !state.quantization[q]) {
        return "corrupt JPEG: a scan uses quantization table " + std::to_string(q) +
               ", which is not defined before it";
      }
    }
    const bool uses_dc = !state.progressive || (spectral_start == 0 && approximation_high == 0);
    const bool uses_ac = !state.progressive || spectral_start > 0;
    if (uses_dc && dc <= 3 && !state.huffman[0][dc]) {
      return "corrupt JPEG: a scan uses DC Huffman table " + std::to_string(dc) +
             ", which is not defined before it";
    }
    if (uses_ac && ac <= 3 && !state.huffman[1][ac]) {
      return "corrupt JPEG: a scan uses AC Huffman table " + std::to_string(ac) +
             ", which is not defined before it";
    }
  }
  return {};
}

/// Walks the JPEG marker segments and entropy-coded scans up to the end-of-image marker,
/// checking the segments stb_image 2.27 mishandles. stb_image reads zeros past the end of its
/// buffer, so a JPEG cut off inside its scan data would otherwise decode "successfully" with a
/// grey bottom.
inline std::string check_jpeg_structure(const std::uint8_t* data, std::size_t size) {
  JpegState state;
  std::size_t pos = 2;  // after SOI
  bool in_scan = false;
  while (pos < size) {
    if (in_scan) {
      // Entropy-coded data: 0xFF is followed by 0x00 (stuffing), a restart marker or the
      // marker that ends the scan.
      const void* hit = std::memchr(data + pos, 0xFF, size - pos);
      if (hit == nullptr) break;
      pos = static_cast<std::size_t>(static_cast<const std::uint8_t*>(hit) - data);
      if (pos + 1 >= size) break;
      const std::uint8_t next = data[pos + 1];
      if (next == 0x00 || (next >= 0xD0 && next <= 0xD7) || next == 0xFF) {
        pos += (next == 0xFF) ? 1 : 2;
        continue;
      }
      in_scan = false;
      continue;
    }
    // Between segments only markers may follow: stb_image skips other bytes while searching
    // for the next marker, after which it and this walker would disagree.
    if (data[pos] != 0xFF) return "corrupt JPEG: expected a marker at byte " + std::to_string(pos);
    while (pos < size && data[pos] == 0xFF) ++pos;  // fill bytes
    if (pos >= size) break;
    const std::uint8_t marker = data[pos++];
    if (marker == 0xD9) return {};  // EOI
    if ((marker >= 0xD0 && marker <= 0xD8) || marker == 0x01) continue;  // no length
    if (pos + 2 > size) break;
    const std::size_t length = static_cast<std::size_t>(data[pos]) << 8 | data[pos + 1];
    if (length < 2) return "corrupt JPEG: segment length " + std::to_string(length);
    if (pos + length > size) break;
    const std::size_t body = pos + 2, end = pos + length;
    std::string error;
    if (marker == 0xC4) error = check_jpeg_huffman_tables(data, body, end, state);
    if (marker == 0xDB) error = check_jpeg_quantization_tables(data, body, end, state);
    if (marker == 0xC0 || marker == 0xC1 || marker == 0xC2) {
      read_jpeg_frame(data, body, end, state);
      state.progressive = marker == 0xC2;
    }
    if (marker == 0xDA) {
      error = check_jpeg_scan(data, body, end, state);
      in_scan = true;  // scan data follows the header
    }
    if (!error.empty()) return error;
    pos = end;
  }
  return "truncated JPEG: the data ends before the end-of-image marker";
}

inline std::uint32_t read_be32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | static_cast<std::uint32_t>(p[3]);
}

/// Walks the PNG chunks up to IEND, so a file cut short gets a clear reason instead of a zlib
/// error. An empty IDAT chunk is rejected because stb_image 2.27 then calls memcpy with a null
/// pointer, which is undefined behaviour, and encoders such as libpng never write one.
inline std::string check_png_structure(const std::uint8_t* data, std::size_t size) {
  std::size_t pos = 8;
  while (pos + 8 <= size) {
    const std::uint64_t length = read_be32(data + pos);
    if (length > 0x7FFFFFFFu) return "corrupt PNG: chunk length " + std::to_string(length);
    const bool idat = std::memcmp(data + pos + 4, "IDAT", 4) == 0;
    const bool iend = std::memcmp(data + pos + 4, "IEND", 4) == 0;
    if (pos + 12 + length > size) break;
    if (idat && length == 0) return "corrupt PNG: empty IDAT chunk";
    if (iend) return {};
    pos += static_cast<std::size_t>(12 + length);
  }
  return "truncated PNG: the data ends before the IEND chunk";
}

/// Checks that every pixel of a paletted PNG names an entry of its PLTE chunk. stb_image 2.27
/// does not check this and colours such pixels from its uninitialised stack palette, so stack
/// bytes would end up in the image. Only files whose palette is shorter than the bit depth
/// allows are inflated (a second time) for this; `cap` bounds that inflate like the decode.
inline std::string check_png_palette_indices(const std::uint8_t* data, std::size_t size,
                                             std::size_t cap) {
  std::uint64_t width = 0, height = 0;
  int depth = 0, color = -1, interlace = 0;
  std::size_t entries = 0;
  bool apple = false;  // CgBI files carry a raw deflate stream without the zlib header
  std::vector<std::uint8_t> compressed;
  for (std::size_t pos = 8; pos + 12 <= size;) {
    const std::size_t length = read_be32(data + pos);
    if (length > size - pos - 12) break;
    const std::uint8_t* type = data + pos + 4;
    const std::uint8_t* body = data + pos + 8;
    if (std::memcmp(type, "IHDR", 4) == 0 && length >= 13) {
      width = read_be32(body);
      height = read_be32(body + 4);
      depth = body[8];
      color = body[9];
      interlace = body[12];
    } else if (std::memcmp(type, "CgBI", 4) == 0) {
      apple = true;
    } else if (std::memcmp(type, "PLTE", 4) == 0) {
      entries = length / 3;
    } else if (std::memcmp(type, "IDAT", 4) == 0) {
      compressed.insert(compressed.end(), body, body + length);
    } else if (std::memcmp(type, "IEND", 4) == 0) {
      break;
    }
    pos += 12 + length;
  }
  // Anything else is either not paletted, cannot index past the palette, or is rejected by
  // stb_image itself.
  if (color != 3 || entries == 0 || compressed.empty() || interlace > 1) return {};
  if (depth != 1 && depth != 2 && depth != 4 && depth != 8) return {};
  if (entries >= (std::size_t{1} << depth)) return {};

  const ScopedStbAllocationCap scoped_cap(cap);
  int raw_length = 0;
  std::unique_ptr<char, void (*)(void*)> raw(
      stbi_zlib_decode_malloc_guesssize_headerflag(
          reinterpret_cast<const char*>(compressed.data()), static_cast<int>(compressed.size()),
          1 << 16, &raw_length, apple ? 0 : 1),
      &stbi_image_free);
  if (!raw) return {};  // stb_image reports the corrupt data when it decodes
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(raw.get());
  const auto available = static_cast<std::size_t>(raw_length);

  // Adam7 passes (x0, y0, dx, dy), or the whole image once.
  static const int passes[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                   {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
  const int pass_count = interlace == 1 ? 7 : 1;
  std::size_t offset = 0;
  for (int p = 0; p < pass_count; ++p) {
    const auto x0 = static_cast<std::uint64_t>(interlace ? passes[p][0] : 0);
    const auto y0 = static_cast<std::uint64_t>(interlace ? passes[p][1] : 0);
    const auto dx = static_cast<std::uint64_t>(interlace ? passes[p][2] : 1);
    const auto dy = static_cast<std::uint64_t>(interlace ? passes[p][3] : 1);
    const std::uint64_t pass_width = width > x0 ? (width - x0 + dx - 1) / dx : 0;
    const std::uint64_t pass_height = height > y0 ? (height - y0 + dy - 1) / dy : 0;
    if (pass_width == 0 || pass_height == 0) continue;
    const auto row_bytes = static_cast<std::size_t>((pass_width * static_cast<std::uint64_t>(depth) + 7) / 8);
    std::vector<std::uint8_t> prior(row_bytes, 0), row(row_bytes, 0);
    for (std::uint64_t y = 0; y < pass_height; ++y) {
      if (offset + 1 + row_bytes > available) return {};  // too short: stb_image rejects it
      const std::uint8_t filter = bytes[offset];
      if (filter > 4) return {};
      const std::uint8_t* in = bytes + offset + 1;
      // Undo the row filter; for palette images the filter unit is one byte.
      for (std::size_t i = 0; i < row_bytes; ++i) {
        const int a = i > 0 ? row[i - 1] : 0, b = prior[i], c = i > 0 ? prior[i - 1] : 0;
        int predictor = 0;
        if (filter == 1) predictor = a;
        if (filter == 2) predictor = b;
        if (filter == 3) predictor = (a + b) / 2;
        if (filter == 4) {
          const int estimate = a + b - c;
          const int pa = std::abs(estimate - a), pb = std::abs(estimate - b),
                    pc = std::abs(estimate - c);
          predictor = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
        }
        row[i] = static_cast<std::uint8_t>(in[i] + predictor);
      }
      for (std::uint64_t x = 0; x < pass_width; ++x) {
        const std::uint64_t bit = x * static_cast<std::uint64_t>(depth);
        const int shift = 8 - depth - static_cast<int>(bit % 8);
        const std::size_t index = (row[static_cast<std::size_t>(bit / 8)] >> shift) &
                                  ((1u << depth) - 1);
        if (index >= entries) {
          return "corrupt PNG: a pixel uses palette entry " + std::to_string(index) +
                 ", but the palette has " + std::to_string(entries) +
                 (entries == 1 ? " entry" : " entries");
        }
      }
      std::swap(prior, row);
      offset += 1 + row_bytes;
    }
  }
  return {};
}

/// Checks that an uncompressed BMP contains all the pixel rows its header declares, because
/// stb_image reads zeros for missing rows.
inline std::string check_bmp_structure(const std::uint8_t* data, std::size_t size) {
  if (size < 26) return "truncated BMP: the header is incomplete";
  const std::uint64_t offset = read_le32(data + 10);
  const std::uint32_t header_size = read_le32(data + 14);
  std::uint64_t width = 0, height = 0, bpp = 0;
  if (header_size == 12) {
    width = read_le16(data + 18);
    height = read_le16(data + 20);
    bpp = read_le16(data + 24);
  } else {
    if (size < 34) return "truncated BMP: the header is incomplete";
    const auto w = static_cast<std::int32_t>(read_le32(data + 18));
    const auto h = static_cast<std::int32_t>(read_le32(data + 22));
    width = static_cast<std::uint64_t>(w < 0 ? -static_cast<std::int64_t>(w) : w);
    height = static_cast<std::uint64_t>(h < 0 ? -static_cast<std::int64_t>(h) : h);
    bpp = read_le16(data + 28);
    const std::uint32_t compression = read_le32(data + 30);
    if (compression == 1 || compression == 2) return "RLE-compressed BMP is not supported";
  }
  if (width > 65535 || height > 65535 || bpp == 0 || bpp > 32) return {};  // stb_image rejects
  const std::uint64_t row_bytes = (width * bpp + 31) / 32 * 4;
  const std::uint64_t needed = offset + row_bytes * height;
  if (needed > size) {
    return "truncated BMP: expected " + std::to_string(needed) + " bytes, got " +
           std::to_string(size);
  }
  return {};
}

/// Skips GIF data sub-blocks starting at `pos`; returns false when the data ends first.
inline bool skip_gif_sub_blocks(const std::uint8_t* data, std::size_t size, std::size_t& pos) {
  while (pos < size) {
    const std::size_t n = data[pos++];
    if (n == 0) return true;
    pos += n;
  }
  return false;
}

/// Walks a GIF's blocks up to the end of its first frame, the only one nn decodes.
inline std::string check_gif_structure(const std::uint8_t* data, std::size_t size) {
  const std::string truncated = "truncated GIF: the data ends before the first frame is complete";
  if (size < 13) return truncated;
  std::size_t pos = 13;
  if (data[10] & 0x80) pos += 3u * (2u << (data[10] & 7));  // global colour table
  while (pos < size) {
    const std::uint8_t block = data[pos++];
    if (block == 0x21) {  // extension: label, then sub-blocks
      ++pos;
      if (!skip_gif_sub_blocks(data, size, pos)) return truncated;
    } else if (block == 0x2C) {  // image descriptor
      if (pos + 9 > size) return truncated;
      const std::uint8_t flags = data[pos + 8];
      pos += 9;
      if (flags & 0x80) pos += 3u * (2u << (flags & 7));  // local colour table
      ++pos;                                               // LZW minimum code size
      if (!skip_gif_sub_blocks(data, size, pos)) return truncated;
      return {};
    } else if (block == 0x3B) {
      return "corrupt GIF: no frame before the trailer";
    } else {
      return "corrupt GIF: unknown block 0x" + std::to_string(block) + " at byte " +
             std::to_string(pos - 1);
    }
  }
  return truncated;
}

/// Reads the header with the decoder of the sniffed format only, so a failure carries that
/// decoder's reason (stbi_info_from_memory tries every format and reports the last one's).
inline bool stb_info(ImageFormat format, const std::uint8_t* data, int length, ImageInfo& info) {
  stbi__context context;
  stbi__start_mem(&context, data, length);
  int* w = &info.width;
  int* h = &info.height;
  int* c = &info.channels;
  switch (format) {
    case ImageFormat::Jpeg: return stbi__jpeg_info(&context, w, h, c) != 0;
    case ImageFormat::Png: return stbi__png_info(&context, w, h, c) != 0;
    case ImageFormat::Bmp: return stbi__bmp_info(&context, w, h, c) != 0;
    case ImageFormat::Gif: return stbi__gif_info(&context, w, h, c) != 0;
  }
  return false;
}

/// The cap on each stb_image allocation while decoding an image of this size from `size` bytes.
/// No buffer of a decoder needs more than 8 bytes per pixel (16-bit RGBA), padded to whole JPEG
/// blocks, or twice the file size (the PNG reader gathers the compressed data in a doubling
/// buffer). The cap is twice that, so a decompression bomb fails early.
inline std::size_t stb_allocation_limit(const ImageInfo& info, std::size_t size) {
  const auto padded = (static_cast<std::size_t>(info.width) + 64) *
                      (static_cast<std::size_t>(info.height) + 64);
  return 16 * padded + 4 * size + (std::size_t{1} << 20);
}

/// Checks the bytes and the header. Returns an empty string and fills `info` when the image may
/// be decoded, else the reason it may not.
inline std::string check_image(const std::uint8_t* data, std::size_t size,
                               std::uint64_t max_pixels, ImageInfo& info) {
  if (size == 0) return "the file is empty (0 bytes)";
  if (size > kMaxImageFileBytes) {
    return "the data has " + std::to_string(size) + " bytes; expected at most " +
           std::to_string(kMaxImageFileBytes);
  }
  std::string what;
  if (!sniff_format(data, size, info.format, what)) {
    return what + ", expected a JPEG, PNG, BMP or GIF file";
  }
  // The structure first: stb_image's own header reader already trips over some malformed
  // segments (see check_jpeg_huffman_tables).
  std::string structure;
  switch (info.format) {
    case ImageFormat::Jpeg: structure = check_jpeg_structure(data, size); break;
    case ImageFormat::Bmp: structure = check_bmp_structure(data, size); break;
    case ImageFormat::Gif: structure = check_gif_structure(data, size); break;
    case ImageFormat::Png: structure = check_png_structure(data, size); break;
  }
  if (!structure.empty()) return structure;

  if (!stb_info(info.format, data, static_cast<int>(size), info)) {
    return std::string("corrupt ") + to_string(info.format) + " header (stb_image: " +
           stbi_failure_reason() + ")";
  }
  if (info.width <= 0 || info.height <= 0) {
    return std::string("corrupt ") + to_string(info.format) + " header: size " +
           std::to_string(info.width) + "x" + std::to_string(info.height);
  }

  // Both sides are positive ints, so the product fits std::uint64_t; still check the multiply
  // explicitly so that a future wider type cannot overflow silently.
  const auto w = static_cast<std::uint64_t>(info.width);
  const auto h = static_cast<std::uint64_t>(info.height);
  if (h > std::numeric_limits<std::uint64_t>::max() / w || w * h > max_pixels) {
    return "image of " + std::to_string(w) + "x" + std::to_string(h) + " pixels exceeds " +
           "max_pixels = " + std::to_string(max_pixels);
  }
  // stb_image 2.27 sizes some buffers in int: the 16-bit PNG conversion allocates
  // width * height * channels * 2 bytes, which overflows above 2^31 and then writes past the
  // buffer. Such images are rejected whatever max_pixels allows.
  if (w * h > kStbMaxPixels) {
    return "image of " + std::to_string(w) + "x" + std::to_string(h) + " pixels is larger " +
           "than stb_image decodes safely (" + std::to_string(kStbMaxPixels) + " pixels)";
  }
  if (info.format == ImageFormat::Png) {
    return check_png_palette_indices(data, size, stb_allocation_limit(info, size));
  }
  return {};
}

/// Decodes checked bytes into RGB. Returns an empty string on success, else the reason.
inline std::string decode_rgb(const std::uint8_t* data, std::size_t size,
                              std::uint64_t max_pixels, RgbImage& image) {
  ImageInfo info;
  std::string error = check_image(data, size, max_pixels, info);
  if (!error.empty()) return error;
  int width = 0, height = 0, channels = 0;

  const ScopedStbAllocationCap cap(stb_allocation_limit(info, size));

  // stbi_load_from_memory decodes the first frame of a GIF; the multi-frame path
  // (stbi_load_gif_from_memory) is never used.
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load_from_memory(data, static_cast<int>(size), &width, &height, &channels, 3),
      &stbi_image_free);
  if (!pixels) {
    if (stb_allocation_cap().rejected != 0) {
      return std::string("corrupt ") + to_string(info.format) + " data: decoding requested " +
             std::to_string(stb_allocation_cap().rejected) + " bytes at once, more than an " +
             "image of " + std::to_string(info.width) + "x" + std::to_string(info.height) +
             " pixels needs";
    }
    return std::string("corrupt ") + to_string(info.format) + " data (stb_image: " +
           stbi_failure_reason() + ")";
  }
  if (width != info.width || height != info.height) {
    return std::string("corrupt ") + to_string(info.format) + ": the header says " +
           std::to_string(info.width) + "x" + std::to_string(info.height) +
           ", the decoder gave " + std::to_string(width) + "x" + std::to_string(height);
  }
  image.height = height;
  image.width = width;
  const auto count = static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 3;
  image.pixels.assign(pixels.get(), pixels.get() + count);
  return {};
}

}  // namespace detail

/// Reads the header of an image held in memory without decoding its pixels.
/// Throws DataError when the bytes are not an acceptable image (see the header comment).
inline ImageInfo read_image_info(const std::uint8_t* data, std::size_t size,
                                 std::uint64_t max_pixels = kDefaultMaxPixels) {
  ImageInfo info;
  const std::string error = detail::check_image(data, size, max_pixels, info);
  if (!error.empty()) throw DataError("read_image_info: cannot read the image: " + error);
  return info;
}

/// Decodes an image held in memory to 8-bit RGB. Throws DataError with the reason on failure.
inline RgbImage decode_image(const std::uint8_t* data, std::size_t size,
                             std::uint64_t max_pixels = kDefaultMaxPixels) {
  RgbImage image;
  const std::string error = detail::decode_rgb(data, size, max_pixels, image);
  if (!error.empty()) throw DataError("decode_image: cannot decode the image: " + error);
  return image;
}

/// Reads and decodes an image file to 8-bit RGB. Throws DataError naming the file and reason.
inline RgbImage load_image(const std::string& path, std::uint64_t max_pixels = kDefaultMaxPixels) {
  std::vector<std::uint8_t> bytes;
  std::string error = detail::read_file_bytes(path, bytes);
  RgbImage image;
  if (error.empty()) error = detail::decode_rgb(bytes.data(), bytes.size(), max_pixels, image);
  if (!error.empty()) throw DataError("load_image: cannot decode \"" + path + "\": " + error);
  return image;
}

}  // namespace nn
