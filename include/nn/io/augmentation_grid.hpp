#pragma once
/// A picture of what augmentation does: one image, augmented rows x cols times, saved as a PNG
/// grid (as the Keras tutorials show with a 3 x 3 matplotlib figure).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "nn/core/errors.hpp"
#include "nn/core/random.hpp"
#include "nn/core/shape.hpp"
#include "nn/core/tensor.hpp"
#include "nn/io/png.hpp"
#include "nn/layers/layer.hpp"

namespace nn {

/// Spacing and background of an image grid.
struct GridStyle {
  Index padding = 4;              ///< pixels between tiles and around the grid
  std::uint8_t background = 255;  ///< gray level of the padding and of empty tiles
};

namespace detail {

template <typename T, typename Scalar, typename = void>
struct has_forward : std::false_type {};

template <typename T, typename Scalar>
struct has_forward<T, Scalar,
                   std::void_t<decltype(std::declval<T&>().forward(
                       std::declval<const Tensor<Scalar>&>(), Mode::Train))>> : std::true_type {};

inline void check_grid_extent(const std::string& where, const std::string& what, Index value) {
  if (value < 1) {
    throw ShapeError(where + ": expected " + what + " >= 1, got " + std::to_string(value));
  }
}

/// Returns the per-image shape [H, W, C] of an image given as [H, W, C] or [1, H, W, C].
template <typename Scalar>
Shape single_image_shape(const std::string& where, const Tensor<Scalar>& image) {
  const Shape& shape = image.shape();
  if (shape.rank() == 3) return shape;
  if (shape.rank() == 4 && shape[0] == 1) return shape.without_batch();
  throw ShapeError(where + ": expected an image [H, W, C] or [1, H, W, C], got " +
                   shape.to_string());
}

}  // namespace detail

/// Arranges images [N, H, W, C] with values in 0..255 row by row into a rows x cols grid of
/// 8-bit pixels, `style.padding` pixels apart. Values are rounded and clamped to 0..255, and
/// tiles after the N-th stay background.
///
/// The grid is rows * H + (rows + 1) * padding pixels high and cols * W + (cols + 1) * padding
/// wide, with C channels (1 to 4, as PNG allows). Throws ShapeError for N > rows * cols, an
/// unsupported channel count, or a NaN or infinite value.
template <typename Scalar>
Image8 image_grid(const Tensor<Scalar>& images, Index rows, Index cols,
                  const GridStyle& style = {}) {
  const std::string where = "image_grid";
  detail::check_grid_extent(where, "rows", rows);
  detail::check_grid_extent(where, "cols", cols);
  if (style.padding < 0) {
    throw ShapeError(where + ": expected padding >= 0, got " + std::to_string(style.padding));
  }
  if (images.rank() != 4) {
    throw ShapeError(where + ": expected images [N, H, W, C], got " + images.shape().to_string());
  }
  const Index count = images.dim(0);
  const Index height = images.dim(1);
  const Index width = images.dim(2);
  const Index channels = images.dim(3);
  if (count > rows * cols) {
    throw ShapeError(where + ": expected at most rows * cols = " + std::to_string(rows * cols) +
                     " images, got " + std::to_string(count));
  }
  if (channels < 1 || channels > 4) {
    throw ShapeError(where + ": expected 1 to 4 channels (gray, gray+alpha, RGB, RGBA), got " +
                     images.shape().to_string());
  }

  Image8 grid;
  grid.height = rows * height + (rows + 1) * style.padding;
  grid.width = cols * width + (cols + 1) * style.padding;
  grid.channels = channels;
  grid.pixels.assign(static_cast<std::size_t>(grid.height * grid.width * channels),
                     style.background);

  for (Index n = 0; n < count; ++n) {
    const Index top = style.padding + (n / cols) * (height + style.padding);
    const Index left = style.padding + (n % cols) * (width + style.padding);
    const Scalar* tile = images.data() + n * height * width * channels;
    for (Index y = 0; y < height; ++y) {
      for (Index x = 0; x < width; ++x) {
        for (Index c = 0; c < channels; ++c) {
          const double value = static_cast<double>(tile[(y * width + x) * channels + c]);
          if (!std::isfinite(value)) {
            throw ShapeError(where + ": expected finite pixel values, got " +
                             std::to_string(value) + " in image " + std::to_string(n) +
                             " at [y, x, c] = [" + std::to_string(y) + ", " + std::to_string(x) +
                             ", " + std::to_string(c) + "]");
          }
          const Index offset = ((top + y) * grid.width + left + x) * channels + c;
          grid.pixels[static_cast<std::size_t>(offset)] = detail::pixel_byte(value);
        }
      }
    }
  }
  return grid;
}

/// Returns `count` augmented versions [count, H', W', C'] of one image [H, W, C] (or
/// [1, H, W, C]): a batch of `count` copies run through `augment` in training mode, so every
/// copy gets its own random transform.
///
/// `augment` is either a model or layer with `forward(const Tensor<Scalar>&, Mode)`, such as a
/// Sequential of augmentation layers (called with Mode::Train), or a callable that takes the
/// batch and returns the augmented batch. It must be built for [H, W, C] and keep the batch
/// extent. Its random streams are used as they are, so reseed it first for a repeatable picture.
template <typename Scalar, typename Augment>
Tensor<Scalar> augmented_copies(const Tensor<Scalar>& image, Index count, Augment&& augment) {
  const std::string where = "augmented_copies";
  const Shape shape = detail::single_image_shape(where, image);
  detail::check_grid_extent(where, "count", count);
  Tensor<Scalar> batch(shape.with_batch(count));
  for (Index n = 0; n < count; ++n) {
    std::copy(image.data(), image.data() + image.size(), batch.data() + n * image.size());
  }

  Tensor<Scalar> result;
  if constexpr (detail::has_forward<std::remove_reference_t<Augment>, Scalar>::value) {
    result = augment.forward(batch, Mode::Train);
  } else if constexpr (std::is_invocable_v<Augment&, const Tensor<Scalar>&>) {
    result = augment(batch);
  } else {
    static_assert(detail::has_forward<std::remove_reference_t<Augment>, Scalar>::value,
                  "augment must have forward(const Tensor<Scalar>&, Mode) or be callable with "
                  "the batch");
  }
  if (result.rank() != 4 || result.dim(0) != count) {
    throw ShapeError(where + ": expected the augmented batch [" + std::to_string(count) +
                     ", H, W, C], got " + result.shape().to_string());
  }
  return result;
}

/// Returns `count` augmented versions of one image [H, W, C] (or [1, H, W, C]) made by running
/// `layers` in order in training mode.
///
/// Each layer is built for the shape it receives, as a model would build it, and layer i is
/// reseeded with Random::derive_seed(seed, i), so one seed gives the same picture. Pass layers
/// made for the picture: building resets the shape a layer expects and the parameters of
/// layers that have any. To show the layers of a trained model, pass a Sequential of them.
template <typename Scalar>
Tensor<Scalar> augmented_copies(const Tensor<Scalar>& image, Index count,
                                const std::vector<Layer<Scalar>*>& layers, std::uint64_t seed) {
  const std::string where = "augmented_copies";
  Shape shape = detail::single_image_shape(where, image);
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (layers[i] == nullptr) {
      throw ShapeError(where + ": expected a layer at position " + std::to_string(i) +
                       ", got a null pointer");
    }
    Random rng(Random::derive_seed(seed, i));
    shape = layers[i]->build(shape, rng);
    layers[i]->reseed(Random::derive_seed(seed, i));
  }
  return augmented_copies(image, count, [&](const Tensor<Scalar>& batch) {
    const Tensor<Scalar>* x = &batch;
    for (Layer<Scalar>* layer : layers) x = &layer->forward(*x, Mode::Train);
    return Tensor<Scalar>(*x);
  });
}

/// Writes rows x cols augmented versions of one image [H, W, C] with values in 0..255 to `path`
/// as a PNG grid; see augmented_copies() for `augment` and image_grid() for the layout.
///
/// Throws ShapeError for invalid shapes or values and DataError naming the path when the file
/// cannot be written. The file is replaced whole or not at all.
template <typename Scalar, typename Augment>
void write_augmentation_grid(const std::string& path, const Tensor<Scalar>& image,
                             Augment&& augment, Index rows, Index cols,
                             const GridStyle& style = {}) {
  detail::check_grid_extent("write_augmentation_grid", "rows", rows);
  detail::check_grid_extent("write_augmentation_grid", "cols", cols);
  const Tensor<Scalar> copies =
      augmented_copies(image, rows * cols, std::forward<Augment>(augment));
  write_png(path, image_grid(copies, rows, cols, style));
}

/// Writes rows x cols versions of one image augmented by `layers` (built and reseeded from
/// `seed` as augmented_copies() describes) to `path` as a PNG grid.
template <typename Scalar>
void write_augmentation_grid(const std::string& path, const Tensor<Scalar>& image,
                             const std::vector<Layer<Scalar>*>& layers, Index rows, Index cols,
                             std::uint64_t seed, const GridStyle& style = {}) {
  detail::check_grid_extent("write_augmentation_grid", "rows", rows);
  detail::check_grid_extent("write_augmentation_grid", "cols", cols);
  const Tensor<Scalar> copies = augmented_copies(image, rows * cols, layers, seed);
  write_png(path, image_grid(copies, rows, cols, style));
}

}  // namespace nn
