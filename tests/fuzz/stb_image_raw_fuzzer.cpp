// libFuzzer harness for stb_image alone, with nn's format restriction (JPEG, PNG, BMP, GIF) but
// without nn's own checks in front of it. It is not part of the test run: it exists to find what
// stb_image 2.27 gets wrong, so that decode_image_fuzzer can show nn's checks stop it. Findings
// are listed in docs/data.md.

#include <cstddef>
#include <cstdint>
#include <limits>

#include "nn/io/detail/stb_image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > static_cast<std::size_t>(std::numeric_limits<int>::max())) return 0;
  const int length = static_cast<int>(size);
  int width = 0, height = 0, channels = 0;
  // Bound memory the way a header check would, but with stb_image's own reader only.
  if (!stbi_info_from_memory(data, length, &width, &height, &channels)) return 0;
  if (static_cast<std::uint64_t>(width) * static_cast<std::uint64_t>(height) > (1u << 22)) return 0;
  stbi_uc* pixels = stbi_load_from_memory(data, length, &width, &height, &channels, 3);
  stbi_image_free(pixels);
  return 0;
}
