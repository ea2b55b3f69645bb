#pragma once
/// Affine resampling of images, shared by RandomRotation and RandomZoom: inverse mapping of each
/// output pixel to input coordinates, bilinear or nearest sampling, the four fill modes, and
/// the transposed sampling that backward() needs.
///
/// The conventions are those of Keras' image transforms (TensorFlow's ImageProjectiveTransformV3
/// kernel, tensorflow/core/kernels/image/image_ops.h). Pixel centres sit at integer coordinates.
/// A transform maps output coordinates (x, y) to the input point
/// (xx * x + xy * y + x0, yx * x + yy * y + y0), and the fill mode defines the input outside
/// [0, W - 1] x [0, H - 1]. Reflect, Nearest and Constant give TensorFlow's results (up to ties
/// of nearest interpolation, which round up here). Wrap differs on purpose: TensorFlow clamps
/// points between the last and the first pixel and folds some far points back by the wrong
/// period, while here the input repeats with period W (and H), so the result is continuous.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "nn/core/errors.hpp"
#include "nn/core/interpolation.hpp"
#include "nn/core/random.hpp"
#include "nn/core/shape.hpp"
#include "nn/core/tensor.hpp"
#include "nn/layers/detail/layer_checks.hpp"
#include "nn/layers/layer.hpp"

namespace nn {

/// Fill rule of an image transform for points outside the input, shown for a row a b c d:
/// - `Reflect`: mirrored about the edge, d c b a | a b c d | d c b a (Keras' default);
/// - `Wrap`: repeated, a b c d | a b c d | a b c d;
/// - `Nearest`: the edge pixel repeated, a a a a | a b c d | d d d d;
/// - `Constant`: the fill value k, k k k k | a b c d | k k k k.
enum class FillMode { Reflect, Wrap, Nearest, Constant };

/// A closed interval of augmentation factors, e.g. the rotation range in turns.
struct FactorRange {
  double lower;
  double upper;
};

namespace detail {

/// Batches with fewer elements than this are transformed on the calling thread. Waking the
/// OpenMP team costs more than transforming a few small images, and on a loaded machine much
/// more, because waiting threads spin. The per-image results do not depend on the choice.
constexpr Index augmentation_parallel_min_elements = 16384;

/// Formats an augmentation factor for error messages: 0.1, -0.25, 1e+30, nan.
inline std::string factor_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

inline std::string fill_mode_name(FillMode mode) {
  switch (mode) {
    case FillMode::Reflect: return "reflect";
    case FillMode::Wrap: return "wrap";
    case FillMode::Nearest: return "nearest";
    case FillMode::Constant: return "constant";
  }
  return "reflect";
}

/// Parses Keras' fill_mode names: "reflect", "wrap", "nearest", "constant".
inline FillMode parse_fill_mode(const std::string& where, const std::string& text) {
  for (FillMode mode : {FillMode::Reflect, FillMode::Wrap, FillMode::Nearest, FillMode::Constant}) {
    if (text == fill_mode_name(mode)) return mode;
  }
  throw ShapeError(where + ": expected fill_mode \"reflect\", \"wrap\", \"nearest\" or "
                   "\"constant\", got \"" + text + "\"");
}

inline std::string interpolation_name(Interpolation interpolation) {
  return interpolation == Interpolation::Nearest ? "nearest" : "bilinear";
}

/// Parses Keras' interpolation names: "bilinear", "nearest".
inline Interpolation parse_interpolation(const std::string& where, const std::string& text) {
  if (text == "bilinear") return Interpolation::Bilinear;
  if (text == "nearest") return Interpolation::Nearest;
  throw ShapeError(where + ": expected interpolation \"bilinear\" or \"nearest\", got \"" + text +
                   "\"");
}

/// Maps output pixel coordinates (x, y) to the input point (xx * x + xy * y + x0,
/// yx * x + yy * y + y0); the same six numbers as the first six of a Keras transform vector.
struct AffineMap {
  double xx = 1, xy = 0, x0 = 0;
  double yx = 0, yy = 1, y0 = 0;
};

/// Rotation by `angle` radians about the image centre ((W - 1) / 2, (H - 1) / 2). A positive
/// angle turns the content counter-clockwise on screen, as in Keras.
inline AffineMap rotation_map(double angle, Index height, Index width) {
  const double c = std::cos(angle);
  const double s = std::sin(angle);
  const double cx = 0.5 * static_cast<double>(width - 1);
  const double cy = 0.5 * static_cast<double>(height - 1);
  AffineMap map;
  map.xx = c;
  map.xy = -s;
  map.x0 = cx - (c * cx - s * cy);
  map.yx = s;
  map.yy = c;
  map.y0 = cy - (s * cx + c * cy);
  return map;
}

/// Scaling about the image centre: output point p samples the input at
/// centre + scale * (p - centre). A scale above 1 shows more of the input (zooms out).
inline AffineMap zoom_map(double height_scale, double width_scale, Index height, Index width) {
  AffineMap map;
  map.xx = width_scale;
  map.x0 = 0.5 * static_cast<double>(width - 1) * (1.0 - width_scale);
  map.yy = height_scale;
  map.y0 = 0.5 * static_cast<double>(height - 1) * (1.0 - height_scale);
  return map;
}

/// Maps a pixel index along an axis of `length` pixels into [0, length) according to the fill
/// mode, or returns -1 for a point outside the input in Constant mode.
inline Index fill_index(Index i, Index length, FillMode mode) {
  if (i >= 0 && i < length) return i;
  switch (mode) {
    case FillMode::Reflect: {
      // Period 2 * length: a b c d d c b a, so index -1 reads a and index length reads d.
      const Index period = 2 * length;
      Index k = i % period;
      if (k < 0) k += period;
      return k < length ? k : period - 1 - k;
    }
    case FillMode::Wrap: {
      Index k = i % length;
      return k < 0 ? k + length : k;
    }
    case FillMode::Nearest:
      return i < 0 ? 0 : length - 1;
    case FillMode::Constant:
      return -1;
  }
  return -1;
}

/// Returns the largest integer not above v, for |v| <= 1e12. std::floor is a library call on
/// baseline x86-64, and this runs four times per output pixel.
inline Index floor_index(double v) {
  const auto i = static_cast<Index>(v);
  return static_cast<double>(i) > v ? i - 1 : i;
}

/// Rounds coordinates within 1e-9 of an integer to it. cos and sin of right angles are not
/// exact in floating point, and without this a 90 degree rotation would blend a 1e-16 share of
/// a neighbour (or of the fill value) into pixels that it should copy.
inline double snap_coordinate(double v) {
  const auto r = static_cast<double>(floor_index(v + 0.5));
  return std::abs(v - r) < 1e-9 ? r : v;
}

/// One input pixel read by an output pixel, with its interpolation weight. `offset` is the
/// index of the pixel's first channel in the image, or -1 for the constant fill value.
struct SampleTap {
  Index offset;
  double weight;
};

/// Lists the input pixels (at most 4) that output pixel (x, y) reads, with their weights.
inline int sample_taps(const AffineMap& map, Index x, Index y, Index height, Index width,
                       Index channels, FillMode fill_mode, Interpolation interpolation,
                       SampleTap taps[4]) {
  const auto xd = static_cast<double>(x);
  const auto yd = static_cast<double>(y);
  // The clamp keeps the conversions to Index defined for huge zoom-out factors. Points that
  // far out read the fill, so clamping them changes nothing else.
  const double limit = 1e12;
  const double xs = snap_coordinate(std::clamp(map.xx * xd + map.xy * yd + map.x0, -limit, limit));
  const double ys = snap_coordinate(std::clamp(map.yx * xd + map.yy * yd + map.y0, -limit, limit));

  // Constant mode fills every point outside the input, even one that is less than a pixel out,
  // as TensorFlow does; points inside read only input pixels.
  if (fill_mode == FillMode::Constant &&
      (xs < 0 || xs > static_cast<double>(width - 1) || ys < 0 ||
       ys > static_cast<double>(height - 1))) {
    taps[0] = {-1, 1.0};
    return 1;
  }
  auto offset = [&](Index row, Index column) -> Index {
    return row < 0 || column < 0 ? -1 : (row * width + column) * channels;
  };

  if (interpolation == Interpolation::Nearest) {
    // Ties round up, so x = 1.5 reads pixel 2.
    const Index row = fill_index(floor_index(ys + 0.5), height, fill_mode);
    const Index column = fill_index(floor_index(xs + 0.5), width, fill_mode);
    taps[0] = {offset(row, column), 1.0};
    return 1;
  }

  const Index x0 = floor_index(xs);
  const Index y0 = floor_index(ys);
  const double fx = xs - static_cast<double>(x0);
  const double fy = ys - static_cast<double>(y0);
  const Index rows[2] = {fill_index(y0, height, fill_mode), fill_index(y0 + 1, height, fill_mode)};
  const Index columns[2] = {fill_index(x0, width, fill_mode), fill_index(x0 + 1, width, fill_mode)};
  const double row_weights[2] = {1 - fy, fy};
  const double column_weights[2] = {1 - fx, fx};
  int count = 0;
  // Taps with weight 0 are skipped, so an integer point reads exactly one pixel.
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 2; ++j) {
      const double weight = row_weights[i] * column_weights[j];
      if (weight != 0.0) taps[count++] = {offset(rows[i], columns[j]), weight};
    }
  }
  return count;
}

/// Resamples one image [H, W, C] through `map` into `output` of the same shape.
template <typename Scalar>
void affine_sample(const Scalar* input, Scalar* output, Index height, Index width,
                   Index channels, const AffineMap& map, FillMode fill_mode,
                   Interpolation interpolation, Scalar fill_value) {
  SampleTap taps[4];
  for (Index y = 0; y < height; ++y) {
    for (Index x = 0; x < width; ++x) {
      const int count =
          sample_taps(map, x, y, height, width, channels, fill_mode, interpolation, taps);
      Scalar* out = output + (y * width + x) * channels;
      for (Index c = 0; c < channels; ++c) {
        Scalar sum = 0;
        for (int k = 0; k < count; ++k) {
          const Scalar value = taps[k].offset < 0 ? fill_value : input[taps[k].offset + c];
          sum += static_cast<Scalar>(taps[k].weight) * value;
        }
        out[c] = sum;
      }
    }
  }
}

/// Adds the transposed resampling of `dy` [H, W, C] into `dx`: each output pixel's gradient goes
/// back to the input pixels it read, times the same weights. An output filled with the constant
/// fill value read no input, so it passes no gradient. Reflect, Wrap and Nearest read real
/// pixels outside the edge, so those pixels get the gradient, summed over all their reads.
template <typename Scalar>
void affine_sample_backward(const Scalar* dy, Scalar* dx, Index height, Index width,
                            Index channels, const AffineMap& map, FillMode fill_mode,
                            Interpolation interpolation) {
  SampleTap taps[4];
  for (Index y = 0; y < height; ++y) {
    for (Index x = 0; x < width; ++x) {
      const int count =
          sample_taps(map, x, y, height, width, channels, fill_mode, interpolation, taps);
      const Scalar* g = dy + (y * width + x) * channels;
      for (int k = 0; k < count; ++k) {
        if (taps[k].offset < 0) continue;
        const Scalar weight = static_cast<Scalar>(taps[k].weight);
        Scalar* target = dx + taps[k].offset;
        for (Index c = 0; c < channels; ++c) target[c] += weight * g[c];
      }
    }
  }
}

/// Base of the augmentation layers that resample images through one affine map per image.
///
/// Shapes: [N, H, W, C] -> [N, H, W, C], any C; no parameters. In Mode::Train forward() draws
/// one map per image, serially from the layer's own stream so the draw does not depend on the
/// thread count, then resamples the images in parallel. In Mode::Infer it copies the input, and
/// backward() after an inference forward copies dy.
template <typename Scalar>
class AffineAugmentation : public Layer<Scalar> {
 public:
  Shape build(const Shape& input_shape, Random& /*rng*/) override {
    const std::string where = this->type();
    if (input_shape.rank() != 3) {
      throw ShapeError(where + ": expected a per-sample input shape [H, W, C], got " +
                       input_shape.to_string() + "; augmentation layers take image batches");
    }
    check_positive_extents(where, input_shape);
    input_shape_ = input_shape;
    built_ = true;
    return input_shape;
  }

  const Tensor<Scalar>& forward(const Tensor<Scalar>& x, Mode mode) override {
    check_forward_input(this->type() + "::forward", built_, x, input_shape_);
    output_.resize(x.shape());
    has_forward_ = true;
    last_train_ = mode == Mode::Train;
    if (!last_train_) {
      std::copy(x.data(), x.data() + x.size(), output_.data());
      return output_;
    }

    const Index batch = x.dim(0);
    const Index height = x.dim(1);
    const Index width = x.dim(2);
    const Index channels = x.dim(3);
    maps_.assign(static_cast<std::size_t>(batch), AffineMap{});
    draw_maps(height, width, maps_);

    const Index image_size = height * width * channels;
    const Scalar fill = static_cast<Scalar>(fill_value_);
    [[maybe_unused]] const bool parallel = x.size() >= augmentation_parallel_min_elements;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (parallel)
#endif
    for (Index n = 0; n < batch; ++n) {
      affine_sample(x.data() + n * image_size, output_.data() + n * image_size, height, width,
                    channels, maps_[static_cast<std::size_t>(n)], fill_mode_, interpolation_,
                    fill);
    }
    return output_;
  }

  /// dx is the transposed resampling of dy with the maps of the last training forward (see
  /// affine_sample_backward), or dy itself after an inference forward.
  const Tensor<Scalar>& backward(const Tensor<Scalar>& dy) override {
    const std::string where = this->type() + "::backward";
    if (!has_forward_) {
      throw ShapeError(where + ": expected a forward pass before backward, got none");
    }
    if (dy.shape() != output_.shape()) {
      throw ShapeError(where + ": expected dy of the last output's shape " +
                       output_.shape().to_string() + ", got " + dy.shape().to_string());
    }
    dx_.resize(dy.shape());
    if (!last_train_) {
      std::copy(dy.data(), dy.data() + dy.size(), dx_.data());
      return dx_;
    }

    dx_.set_zero();
    const Index batch = dy.dim(0);
    const Index height = dy.dim(1);
    const Index width = dy.dim(2);
    const Index channels = dy.dim(3);
    const Index image_size = height * width * channels;
    [[maybe_unused]] const bool parallel = dy.size() >= augmentation_parallel_min_elements;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (parallel)
#endif
    for (Index n = 0; n < batch; ++n) {
      affine_sample_backward(dy.data() + n * image_size, dx_.data() + n * image_size, height,
                             width, channels, maps_[static_cast<std::size_t>(n)], fill_mode_,
                             interpolation_);
    }
    return dx_;
  }

  /// Restarts the stream the per-image transforms are drawn from.
  void reseed(std::uint64_t seed) override { random_.reseed(seed); }

  FillMode fill_mode() const { return fill_mode_; }
  Interpolation interpolation() const { return interpolation_; }
  double fill_value() const { return fill_value_; }

 protected:
  AffineAugmentation(FillMode fill_mode, Interpolation interpolation, double fill_value)
      : fill_mode_(fill_mode), interpolation_(interpolation), fill_value_(fill_value) {}

  /// Checks the fill value; the constructors of derived classes call it with their type name.
  void check_fill_value(const std::string& where) const {
    if (!std::isfinite(fill_value_)) {
      throw ShapeError(where + ": expected a finite fill_value, got " +
                       std::to_string(fill_value_));
    }
  }

  /// Draws one map per image of the batch (maps.size() images of H x W), in image order.
  virtual void draw_maps(Index height, Index width, std::vector<AffineMap>& maps) = 0;

  /// Adds fill_mode, interpolation and fill_value to a config.
  void add_sampling_config(LayerConfig& config) const {
    config.set("fill_mode", fill_mode_name(fill_mode_));
    config.set("interpolation", interpolation_name(interpolation_));
    config.set("fill_value", fill_value_);
  }

  Random random_;

 private:
  FillMode fill_mode_;
  Interpolation interpolation_;
  double fill_value_;

  bool built_ = false;
  bool has_forward_ = false;
  bool last_train_ = false;
  Shape input_shape_;             // [H, W, C]
  std::vector<AffineMap> maps_;   // one per image of the last training forward
  Tensor<Scalar> output_;
  Tensor<Scalar> dx_;
};

/// Reads fill_mode, interpolation and fill_value from a config, with Keras' defaults for
/// missing keys (reflect, bilinear, 0).
struct SamplingConfig {
  FillMode fill_mode = FillMode::Reflect;
  Interpolation interpolation = Interpolation::Bilinear;
  double fill_value = 0.0;

  static SamplingConfig read(const LayerConfig& config, const std::string& layer) {
    SamplingConfig result;
    try {
      if (config.contains("fill_mode")) {
        result.fill_mode = parse_fill_mode(layer, config.text("fill_mode"));
      }
      if (config.contains("interpolation")) {
        result.interpolation = parse_interpolation(layer, config.text("interpolation"));
      }
    } catch (const ShapeError& error) {
      // A bad name in a saved model is a data problem, not a wrong argument.
      throw DataError(error.what());
    }
    if (config.contains("fill_value")) result.fill_value = config.number("fill_value");
    return result;
  }
};

}  // namespace detail
}  // namespace nn
