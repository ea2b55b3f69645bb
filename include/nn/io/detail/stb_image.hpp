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
/// bytes, after checking the header (see nn/io/image.hpp and docs/data.md).
///
/// A translation unit that also wants its own stb_image implementation must not define
/// STB_IMAGE_IMPLEMENTATION before including nn; this header's copy is static and private.

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
