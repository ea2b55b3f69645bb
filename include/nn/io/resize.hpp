#pragma once
/// Resizing 8-bit images the way tf.image.resize does (half-pixel centres, no antialiasing).
///
/// Bilinear: output pixel (y, x) samples the source at
///   sy = (y + 0.5) * in_h / out_h - 0.5,  sx = (x + 0.5) * in_w / out_w - 0.5,
/// between rows floor(sy) and ceil(sy) clamped to the image, weighted by sy - floor(sy), and the
/// same along x; the scale and coordinates are computed in float as TensorFlow computes them.
/// Nearest: the source pixel is min(floor((y + 0.5) * in_h / out_h), in_h - 1).
/// Shape rule: [in_h, in_w, C] -> [out_h, out_w, C]. Downscaling reads only the two nearest
/// rows and columns (no antialiasing), as Keras' image_dataset_from_directory does by default.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "nn/core/errors.hpp"
#include "nn/core/interpolation.hpp"
#include "nn/core/shape.hpp"

namespace nn {

/// A height and width in pixels, in that order as in Keras' image_size=(height, width).
struct ImageSize {
  Index height = 256;
  Index width = 256;
};

/// A rectangle of a source image: rows [top, top + height), columns [left, left + width).
struct CropBox {
  Index top = 0;
  Index left = 0;
  Index height = 0;
  Index width = 0;
};

/// The centred crop with the target's aspect ratio, as keras.utils.smart_resize computes it
/// (float32 arithmetic, truncated to integers).
inline CropBox center_crop_to_aspect(Index height, Index width, ImageSize target) {
  auto crop_h = static_cast<Index>(static_cast<float>(width * target.height) /
                                   static_cast<float>(target.width));
  auto crop_w = static_cast<Index>(static_cast<float>(height * target.width) /
                                   static_cast<float>(target.height));
  crop_h = std::max<Index>(1, std::min(height, crop_h));
  crop_w = std::max<Index>(1, std::min(width, crop_w));
  CropBox box;
  box.height = crop_h;
  box.width = crop_w;
  box.top = static_cast<Index>(static_cast<float>(height - crop_h) / 2.0f);
  box.left = static_cast<Index>(static_cast<float>(width - crop_w) / 2.0f);
  return box;
}

namespace detail {

/// Per output coordinate: the two source indices and the weight of the second.
struct AxisWeights {
  std::vector<Index> lower, upper;
  std::vector<float> lerp;
};

inline AxisWeights bilinear_axis(Index in_size, Index out_size) {
  AxisWeights w;
  w.lower.resize(static_cast<std::size_t>(out_size));
  w.upper.resize(static_cast<std::size_t>(out_size));
  w.lerp.resize(static_cast<std::size_t>(out_size));
  const float scale = static_cast<float>(in_size) / static_cast<float>(out_size);
  for (Index i = 0; i < out_size; ++i) {
    const float in = (static_cast<float>(i) + 0.5f) * scale - 0.5f;
    const float in_floor = std::floor(in);
    const auto k = static_cast<std::size_t>(i);
    w.lower[k] = std::max<Index>(static_cast<Index>(in_floor), 0);
    w.upper[k] = std::min<Index>(static_cast<Index>(std::ceil(in)), in_size - 1);
    w.lerp[k] = in - in_floor;
  }
  return w;
}

inline std::vector<Index> nearest_axis(Index in_size, Index out_size) {
  std::vector<Index> index(static_cast<std::size_t>(out_size));
  const float scale = static_cast<float>(in_size) / static_cast<float>(out_size);
  for (Index i = 0; i < out_size; ++i) {
    const auto v = static_cast<Index>(std::floor((static_cast<float>(i) + 0.5f) * scale));
    index[static_cast<std::size_t>(i)] = std::max<Index>(0, std::min(v, in_size - 1));
  }
  return index;
}

template <typename Out>
Out store_pixel(float v) {
  if constexpr (std::is_same_v<Out, std::uint8_t>) {
    // Round half up; v is a convex combination of 0..255 samples, so it is already in range.
    return static_cast<std::uint8_t>(std::min(255.0f, std::max(0.0f, v) + 0.5f));
  } else {
    return static_cast<Out>(v);
  }
}

}  // namespace detail

/// Resizes the `crop` window of an 8-bit image [src_h, src_w, channels] to [out_h, out_w,
/// channels], writing float values (Out = float or double) or values rounded to the nearest
/// integer (Out = std::uint8_t). `dst` must hold out_h * out_w * channels elements.
template <typename Out>
void resize_image(const std::uint8_t* src, Index src_h, Index src_w, Index channels,
                  const CropBox& crop, Out* dst, ImageSize out,
                  Interpolation interpolation = Interpolation::Bilinear) {
  if (crop.height <= 0 || crop.width <= 0 || crop.top < 0 || crop.left < 0 ||
      crop.top + crop.height > src_h || crop.left + crop.width > src_w) {
    throw ShapeError("resize_image: expected a crop inside the " + std::to_string(src_h) + "x" +
                     std::to_string(src_w) + " image, got top " + std::to_string(crop.top) +
                     ", left " + std::to_string(crop.left) + ", size " +
                     std::to_string(crop.height) + "x" + std::to_string(crop.width));
  }
  if (out.height <= 0 || out.width <= 0) {
    throw ShapeError("resize_image: expected a positive output size, got " +
                     std::to_string(out.height) + "x" + std::to_string(out.width));
  }
  const Index row_stride = src_w * channels;
  auto at = [&](Index y, Index x) {
    return src + (crop.top + y) * row_stride + (crop.left + x) * channels;
  };

  if (interpolation == Interpolation::Nearest) {
    const auto ys = detail::nearest_axis(crop.height, out.height);
    const auto xs = detail::nearest_axis(crop.width, out.width);
    for (Index y = 0; y < out.height; ++y) {
      for (Index x = 0; x < out.width; ++x) {
        const std::uint8_t* p = at(ys[static_cast<std::size_t>(y)], xs[static_cast<std::size_t>(x)]);
        for (Index c = 0; c < channels; ++c) *dst++ = static_cast<Out>(p[c]);
      }
    }
    return;
  }

  const auto ys = detail::bilinear_axis(crop.height, out.height);
  const auto xs = detail::bilinear_axis(crop.width, out.width);
  for (Index y = 0; y < out.height; ++y) {
    const auto ky = static_cast<std::size_t>(y);
    const float y_lerp = ys.lerp[ky];
    for (Index x = 0; x < out.width; ++x) {
      const auto kx = static_cast<std::size_t>(x);
      const float x_lerp = xs.lerp[kx];
      const std::uint8_t* tl = at(ys.lower[ky], xs.lower[kx]);
      const std::uint8_t* tr = at(ys.lower[ky], xs.upper[kx]);
      const std::uint8_t* bl = at(ys.upper[ky], xs.lower[kx]);
      const std::uint8_t* br = at(ys.upper[ky], xs.upper[kx]);
      for (Index c = 0; c < channels; ++c) {
        // TensorFlow's order of operations, so float results match it bit for bit.
        const float top = tl[c] + (static_cast<float>(tr[c]) - tl[c]) * x_lerp;
        const float bottom = bl[c] + (static_cast<float>(br[c]) - bl[c]) * x_lerp;
        *dst++ = detail::store_pixel<Out>(top + (bottom - top) * y_lerp);
      }
    }
  }
}

/// Resizes a whole 8-bit image; see the crop overload.
template <typename Out>
void resize_image(const std::uint8_t* src, Index src_h, Index src_w, Index channels, Out* dst,
                  ImageSize out, Interpolation interpolation = Interpolation::Bilinear) {
  resize_image(src, src_h, src_w, channels, CropBox{0, 0, src_h, src_w}, dst, out, interpolation);
}

}  // namespace nn
