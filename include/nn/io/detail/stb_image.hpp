#pragma once
/// stb_image compiled into every translation unit that includes it, restricted to the formats
/// nn accepts.
///
/// nn is header-only, so stb_image's implementation cannot live in one .cpp file. Compiling it
/// with STB_IMAGE_STATIC gives each translation unit its own internal copy, which keeps the
/// one-definition rule intact (no two external definitions of stbi_load_from_memory) at the
/// price of some duplicated code. Only the JPEG, PNG, BMP and GIF decoders are compiled: the
/// other formats stb_image knows (PSD, TGA, HDR, PIC, PNM) are not images a photo folder holds,
/// and several of their decoders had memory-safety fixes after version 2.27, the one Debian
/// ships. The stdio entry points are left out: nn reads files itself and hands stb_image the
/// bytes, after checking the header (see nn/io/image.hpp and docs/data.md). Every allocation
/// goes through stb_malloc and stb_realloc below, which a decode caps.
///
/// A translation unit that also wants its own stb_image implementation must not define
/// STB_IMAGE_IMPLEMENTATION before including nn; this header's copy is static and private.

#include <cstddef>
#include <cstdlib>
#include <limits>

namespace nn::detail {

/// The cap on each single allocation stb_image makes on this thread, and the first request it
/// rejected. A file whose compressed data expands far beyond what its declared size needs (a
/// decompression bomb) then fails with "outofmem" instead of taking gigabytes.
struct StbAllocationCap {
  std::size_t limit = std::numeric_limits<std::size_t>::max();
  std::size_t rejected = 0;
};

inline StbAllocationCap& stb_allocation_cap() {
  static thread_local StbAllocationCap cap;
  return cap;
}

inline void* stb_malloc(std::size_t size) {
  StbAllocationCap& cap = stb_allocation_cap();
  if (size > cap.limit) {
    if (cap.rejected == 0) cap.rejected = size;
    return nullptr;
  }
  return std::malloc(size);
}

inline void* stb_realloc(void* pointer, std::size_t size) {
  StbAllocationCap& cap = stb_allocation_cap();
  if (size > cap.limit) {
    if (cap.rejected == 0) cap.rejected = size;
    return nullptr;
  }
  return std::realloc(pointer, size);
}

/// Sets the allocation cap of this thread for the lifetime of the object.
class ScopedStbAllocationCap {
 public:
  explicit ScopedStbAllocationCap(std::size_t limit) : previous_(stb_allocation_cap()) {
    stb_allocation_cap() = StbAllocationCap{limit, 0};
  }
  ~ScopedStbAllocationCap() { stb_allocation_cap() = previous_; }
  ScopedStbAllocationCap(const ScopedStbAllocationCap&) = delete;
  ScopedStbAllocationCap& operator=(const ScopedStbAllocationCap&) = delete;

 private:
  StbAllocationCap previous_;
};

}  // namespace nn::detail

#if defined(STBI_INCLUDE_STB_IMAGE_H) && !defined(NN_STB_IMAGE_INCLUDED)
#error "nn/io/detail/stb_image.hpp: stb_image.h was included before nn; include nn headers first"
#endif
#define NN_STB_IMAGE_INCLUDED

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
// No side of an accepted image may exceed 65535 pixels (JPEG's own limit). The pixel-count limit
// that ImageFolder applies from the header is the tighter check; this one is stb_image's own.
#define STBI_MAX_DIMENSIONS 65535
#define STBI_MALLOC(size) ::nn::detail::stb_malloc(size)
#define STBI_REALLOC(pointer, size) ::nn::detail::stb_realloc(pointer, size)
#define STBI_FREE(pointer) std::free(pointer)

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-variable"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wcast-qual"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wtype-limits"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuseless-cast"
#pragma GCC diagnostic ignored "-Wduplicated-branches"
#endif
#endif
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunknown-warning-option"
#pragma clang diagnostic ignored "-Wunused-function"
#pragma clang diagnostic ignored "-Wcomma"
#pragma clang diagnostic ignored "-Wcast-align"
#pragma clang diagnostic ignored "-Wextra-semi-stmt"
#pragma clang diagnostic ignored "-Wzero-as-null-pointer-constant"
#pragma clang diagnostic ignored "-Wdisabled-macro-expansion"
#endif

#include <stb/stb_image.h>

#if defined(__clang__)
#pragma clang diagnostic pop
#endif
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
