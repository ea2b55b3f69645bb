// libFuzzer harness for nn's image decoding path: signature sniffing, the header and pixel
// limits, the structure checks, stb_image's decoders for JPEG, PNG, BMP and GIF, and the resize
// that follows in the data set. Any crash, leak, sanitizer report or broken invariant is a bug.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "nn/io/image.hpp"
#include "nn/io/resize.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // A small pixel limit keeps each input fast and its memory bounded; the limit itself is what
  // protects real runs from decompression bombs.
  constexpr std::uint64_t kMaxPixels = 1u << 22;

  nn::ImageInfo info;
  const bool header_ok = nn::detail::check_image(data, size, kMaxPixels, info).empty();

  nn::RgbImage image;
  const bool decoded = nn::detail::decode_rgb(data, size, kMaxPixels, image).empty();
  if (!decoded) return 0;

  // What decode_rgb returns must agree with the header it accepted.
  if (!header_ok) std::abort();
  if (image.height != info.height || image.width != info.width) std::abort();
  const auto count = static_cast<std::size_t>(image.height * image.width * 3);
  if (image.pixels.size() != count) std::abort();
  if (static_cast<std::uint64_t>(image.height) * static_cast<std::uint64_t>(image.width) >
      kMaxPixels) {
    std::abort();
  }

  // Resize as the data set does, with and without the aspect-ratio crop.
  const nn::ImageSize size_out{7, 5};
  std::vector<std::uint8_t> out(static_cast<std::size_t>(size_out.height * size_out.width * 3));
  nn::resize_image(image.pixels.data(), image.height, image.width, 3, out.data(), size_out);
  const nn::CropBox crop = nn::center_crop_to_aspect(image.height, image.width, size_out);
  nn::resize_image(image.pixels.data(), image.height, image.width, 3, crop, out.data(), size_out,
                   nn::Interpolation::Nearest);
  return 0;
}
