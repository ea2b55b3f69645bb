#pragma once
/// RandomFlip: mirrors each training image horizontally, vertically or both, at random.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/layers/detail/affine_sampling.hpp"
#include "nn/layers/detail/layer_checks.hpp"
#include "nn/layers/layer.hpp"

namespace nn {

/// The axes RandomFlip may mirror. Keras' names are "horizontal" (left-right),
/// "vertical" (upside down) and "horizontal_and_vertical".
enum class FlipMode { Horizontal, Vertical, HorizontalAndVertical };

/// The flips drawn for one image.
struct FlipDraw {
  bool horizontal;
  bool vertical;
};

/// Mirrors each image of a training batch with probability 1/2 per axis that `mode` allows, as
/// Keras' `RandomFlip`. With HorizontalAndVertical (the default) the two axes are drawn
/// independently.
///
/// Shapes: [N, H, W, C] -> [N, H, W, C], any C; no parameters. Mode::Infer returns a copy of the
/// input. Flips are drawn serially from the layer's stream (see reseed()), so a seed gives the
/// same flips whatever the thread count; the images are then flipped in parallel. A flip moves
/// pixels without changing them, and backward() applies the same flips to dy.
template <typename Scalar>
class RandomFlip : public Layer<Scalar> {
 public:
  explicit RandomFlip(FlipMode mode = FlipMode::HorizontalAndVertical) : mode_(mode) {}

  /// Takes Keras' mode names: "horizontal", "vertical", "horizontal_and_vertical".
  explicit RandomFlip(const std::string& mode) : mode_(parse_mode(mode)) {}
  explicit RandomFlip(const char* mode) : RandomFlip(std::string(mode)) {}

  std::string type() const override { return "RandomFlip"; }

  Shape build(const Shape& input_shape, Random& /*rng*/) override {
    if (input_shape.rank() != 3) {
      throw ShapeError("RandomFlip: expected a per-sample input shape [H, W, C], got " +
                       input_shape.to_string() + "; augmentation layers take image batches");
    }
    detail::check_positive_extents("RandomFlip", input_shape);
    input_shape_ = input_shape;
    built_ = true;
    return input_shape;
  }

  const Tensor<Scalar>& forward(const Tensor<Scalar>& x, Mode mode) override {
    detail::check_forward_input("RandomFlip::forward", built_, x, input_shape_);
    output_.resize(x.shape());
    has_forward_ = true;
    last_train_ = mode == Mode::Train;
    if (!last_train_) {
      std::copy(x.data(), x.data() + x.size(), output_.data());
      return output_;
    }

    const bool horizontal = mode_ != FlipMode::Vertical;
    const bool vertical = mode_ != FlipMode::Horizontal;
    last_flips_.resize(static_cast<std::size_t>(x.dim(0)));
    for (FlipDraw& draw : last_flips_) {
      draw.horizontal = horizontal && random_.uniform() < 0.5;
      draw.vertical = vertical && random_.uniform() < 0.5;
    }
    flip(x, output_);
    return output_;
  }

  /// Applies the last training forward's flips to dy: a flip permutes pixels, and the transpose
  /// of that permutation is the same flip. After an inference forward dx = dy.
  const Tensor<Scalar>& backward(const Tensor<Scalar>& dy) override {
    if (!has_forward_) {
      throw ShapeError("RandomFlip::backward: expected a forward pass before backward, got none");
    }
    if (dy.shape() != output_.shape()) {
      throw ShapeError("RandomFlip::backward: expected dy of the last output's shape " +
                       output_.shape().to_string() + ", got " + dy.shape().to_string());
    }
    dx_.resize(dy.shape());
    if (last_train_) {
      flip(dy, dx_);
    } else {
      std::copy(dy.data(), dy.data() + dy.size(), dx_.data());
    }
    return dx_;
  }

  /// Restarts the stream the flips are drawn from.
  void reseed(std::uint64_t seed) override { random_.reseed(seed); }

  LayerConfig config() const override {
    LayerConfig config;
    config.set("mode", mode_name(mode_));
    return config;
  }

  /// Rebuilds a RandomFlip from "mode"; a missing key means "horizontal_and_vertical".
  static std::unique_ptr<Layer<Scalar>> from_config(const LayerConfig& config) {
    if (!config.contains("mode")) return std::make_unique<RandomFlip>();
    try {
      return std::make_unique<RandomFlip>(config.text("mode"));
    } catch (const ShapeError& error) {
      throw DataError(error.what());
    }
  }

  FlipMode mode() const { return mode_; }

  /// The flips drawn by the last training forward, one per image.
  const std::vector<FlipDraw>& last_flips() const { return last_flips_; }

  static std::string mode_name(FlipMode mode) {
    switch (mode) {
      case FlipMode::Horizontal: return "horizontal";
      case FlipMode::Vertical: return "vertical";
      case FlipMode::HorizontalAndVertical: return "horizontal_and_vertical";
    }
    return "horizontal_and_vertical";
  }

 private:
  static FlipMode parse_mode(const std::string& text) {
    for (FlipMode mode :
         {FlipMode::Horizontal, FlipMode::Vertical, FlipMode::HorizontalAndVertical}) {
      if (text == mode_name(mode)) return mode;
    }
    throw ShapeError("RandomFlip: expected mode \"horizontal\", \"vertical\" or "
                     "\"horizontal_and_vertical\", got \"" + text + "\"");
  }

  /// Writes `from` into `to` (same shape), each image flipped as recorded in last_flips_.
  void flip(const Tensor<Scalar>& from, Tensor<Scalar>& to) const {
    const Index batch = from.dim(0);
    const Index height = from.dim(1);
    const Index width = from.dim(2);
    const Index channels = from.dim(3);
    const Index image_size = height * width * channels;
    [[maybe_unused]] const bool parallel =
        from.size() >= detail::augmentation_parallel_min_elements;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (parallel)
#endif
    for (Index n = 0; n < batch; ++n) {
      const FlipDraw draw = last_flips_[static_cast<std::size_t>(n)];
      const Scalar* source = from.data() + n * image_size;
      Scalar* target = to.data() + n * image_size;
      for (Index y = 0; y < height; ++y) {
        const Index source_y = draw.vertical ? height - 1 - y : y;
        for (Index x = 0; x < width; ++x) {
          const Index source_x = draw.horizontal ? width - 1 - x : x;
          const Scalar* pixel = source + (source_y * width + source_x) * channels;
          std::copy(pixel, pixel + channels, target + (y * width + x) * channels);
        }
      }
    }
  }

  FlipMode mode_;
  Random random_;

  bool built_ = false;
  bool has_forward_ = false;
  bool last_train_ = false;
  Shape input_shape_;               // [H, W, C]
  std::vector<FlipDraw> last_flips_;  // one per image of the last training batch
  Tensor<Scalar> output_;
  Tensor<Scalar> dx_;
};

}  // namespace nn
