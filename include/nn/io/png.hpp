#pragma once
/// Writing 8-bit PNG files, from raw pixels or from a tensor with values in 0..255.
///
/// The encoder is stb_image_write (public domain, Debian package libstb-dev). It is compiled
/// here with static linkage, so every translation unit that includes this header gets a private
/// copy, and a program needs no separate .c file and links no duplicate symbols.
///
/// Files are written whole or not at all: the PNG bytes go to a temporary file next to the
/// target, which is renamed over the target only after every byte was written and the file was
/// closed without error. The file is not synced to disk, so a power cut may still lose it.

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "nn/core/errors.hpp"
#include "nn/core/shape.hpp"
#include "nn/core/tensor.hpp"

#if !defined(INCLUDE_STB_IMAGE_WRITE_H)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#if __has_include(<stb/stb_image_write.h>)
#include <stb/stb_image_write.h>
#else
#include <stb_image_write.h>
#endif
#undef STB_IMAGE_WRITE_IMPLEMENTATION
#pragma GCC diagnostic pop
#else
// This header compiles its own static copy of stb_image_write, which an earlier inclusion of
// stb_image_write.h would conflict with.
#error "nn/io/png.hpp: stb_image_write.h was included before; include nn/io/png.hpp first"
#endif

namespace nn {

/// An 8-bit image in memory: rows top to bottom, channels interleaved (gray, gray+alpha, RGB or
/// RGBA for 1 to 4 channels).
struct Image8 {
  Index height = 0;
  Index width = 0;
  Index channels = 0;
  std::vector<std::uint8_t> pixels;  // [height, width, channels], row-major
};

namespace detail {

/// Converts a pixel value in 0..255 to a byte: rounded to the nearest integer, clamped to
/// [0, 255]. The caller rejects NaN and infinities first.
inline std::uint8_t pixel_byte(double value) {
  return static_cast<std::uint8_t>(std::min(255.0, std::max(0.0, std::round(value))));
}

/// Collects the encoder's output chunks into a buffer.
inline void append_png_bytes(void* context, void* data, int size) {
  auto* buffer = static_cast<std::vector<std::uint8_t>*>(context);
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  buffer->insert(buffer->end(), bytes, bytes + size);
}

inline std::string errno_text(int error) { return std::strerror(error); }

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so
/// readers see the old file or the new one, never a partial one. Throws DataError naming the
/// path on any failure and leaves no temporary file behind.
inline void write_file_atomically(const std::string& where, const std::string& path,
                                  const std::vector<std::uint8_t>& bytes) {
  // The temporary name carries the process id and a counter, and O_EXCL makes the creation
  // fail rather than share a file with another writer. The mode 0666 is reduced by the umask,
  // as for any new file.
  static std::atomic<std::uint64_t> counter{0};
  std::string temp_path;
  int fd = -1;
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    const std::uint64_t number = counter++;
    temp_path = path + ".tmp." + std::to_string(static_cast<long long>(::getpid())) + "." +
                std::to_string(number);
    fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    throw DataError(where + ": cannot write \"" + path + "\": creating a temporary file failed (" +
                    errno_text(errno) + "); does the directory exist and is it writable?");
  }

  const std::uint8_t* next = bytes.data();
  std::size_t left = bytes.size();
  int error = 0;
  while (left > 0) {
    const ssize_t written = ::write(fd, next, left);
    if (written < 0) {
      if (errno == EINTR) continue;
      error = errno;
      break;
    }
    next += written;
    left -= static_cast<std::size_t>(written);
  }
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error == 0 && std::rename(temp_path.c_str(), path.c_str()) != 0) error = errno;
  if (error != 0) {
    std::remove(temp_path.c_str());
    throw DataError(where + ": cannot write \"" + path + "\": " + errno_text(error));
  }
}

}  // namespace detail

/// Encodes an 8-bit image as PNG and writes it to `path`, replacing any existing file.
///
/// Throws ShapeError when the extents are not positive or the channel count is not 1 to 4, and
/// DataError naming the path when the file cannot be written.
inline void write_png(const std::string& path, const Image8& image) {
  const std::string where = "write_png";
  if (image.height <= 0 || image.width <= 0) {
    throw ShapeError(where + ": expected a non-empty image, got height " +
                     std::to_string(image.height) + " and width " + std::to_string(image.width) +
                     " for \"" + path + "\"");
  }
  if (image.channels < 1 || image.channels > 4) {
    throw ShapeError(where + ": expected 1 to 4 channels (gray, gray+alpha, RGB, RGBA), got " +
                     std::to_string(image.channels) + " for \"" + path + "\"");
  }
  const Index expected = image.height * image.width * image.channels;
  if (static_cast<Index>(image.pixels.size()) != expected) {
    throw ShapeError(where + ": expected " + std::to_string(expected) + " bytes for a " +
                     std::to_string(image.height) + "x" + std::to_string(image.width) + "x" +
                     std::to_string(image.channels) + " image, got " +
                     std::to_string(image.pixels.size()) + " for \"" + path + "\"");
  }
  // stb_image_write takes int extents and an int row stride.
  const Index int_max = 0x7fffffff;
  if (image.width * image.channels > int_max || image.height > int_max) {
    throw ShapeError(where + ": image of " + std::to_string(image.height) + "x" +
                     std::to_string(image.width) + " pixels is too large for the PNG encoder");
  }

  std::vector<std::uint8_t> bytes;
  const int w = static_cast<int>(image.width);
  const int h = static_cast<int>(image.height);
  const int c = static_cast<int>(image.channels);
  if (stbi_write_png_to_func(detail::append_png_bytes, &bytes, w, h, c, image.pixels.data(),
                             w * c) == 0) {
    throw DataError(where + ": cannot write \"" + path + "\": the PNG encoder failed");
  }
  detail::write_file_atomically(where, path, bytes);
}

/// Converts an image tensor with values in 0..255 to 8 bits: values are rounded to the nearest
/// integer and clamped to [0, 255]. Accepts [H, W, C] or a single-image batch [1, H, W, C].
///
/// Throws ShapeError for any other shape and for NaN or infinite values, naming the element.
template <typename Scalar>
Image8 to_image8(const Tensor<Scalar>& image) {
  const std::string where = "to_image8";
  const Shape& shape = image.shape();
  const bool single = shape.rank() == 3 || (shape.rank() == 4 && shape[0] == 1);
  if (!single) {
    throw ShapeError(where + ": expected an image [H, W, C] or [1, H, W, C], got " +
                     shape.to_string());
  }
  const Index offset = shape.rank() - 3;
  Image8 result;
  result.height = shape[offset];
  result.width = shape[offset + 1];
  result.channels = shape[offset + 2];
  result.pixels.resize(static_cast<std::size_t>(image.size()));
  for (Index i = 0; i < image.size(); ++i) {
    const double value = static_cast<double>(image[i]);
    if (!std::isfinite(value)) {
      const Index channel = i % result.channels;
      const Index x = (i / result.channels) % result.width;
      const Index y = i / (result.channels * result.width);
      throw ShapeError(where + ": expected finite pixel values, got " + std::to_string(value) +
                       " at [y, x, c] = [" + std::to_string(y) + ", " + std::to_string(x) + ", " +
                       std::to_string(channel) + "]");
    }
    result.pixels[static_cast<std::size_t>(i)] = detail::pixel_byte(value);
  }
  return result;
}

/// Writes an image tensor [H, W, C] or [1, H, W, C] with values in 0..255 (C from 1 to 4) as
/// an 8-bit PNG; see to_image8() for the conversion.
template <typename Scalar>
void write_png(const std::string& path, const Tensor<Scalar>& image) {
  write_png(path, to_image8(image));
}

}  // namespace nn
