#pragma once
/// MaxPool2D: the maximum over each pooling window of each channel.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "nn/layers/detail/layer_checks.hpp"
#include "nn/layers/detail/parallel.hpp"
#include "nn/layers/layer.hpp"

namespace nn {

/// 2-D max pooling with 'valid' padding, as Keras' `MaxPooling2D`.
///
/// Shapes: [N, H, W, C] -> [N, OH, OW, C] with OH = floor((H - pool_size) / strides) + 1, so
/// 45 -> 22 for a 2x2 pool. `strides` 0 means strides = pool_size. No parameters. Backward
/// sends each output's gradient to the position of its window's maximum, the first one in
/// row-major window order on ties. Where windows overlap, their gradients add up.
///
/// Limitation: 'valid' padding and square windows only, because the reference models need
/// nothing else. from_config rejects a saved "padding" other than "valid".
template <typename Scalar>
class MaxPool2D : public Layer<Scalar> {
 public:
  explicit MaxPool2D(Index pool_size = 2, Index strides = 0)
      : pool_size_(pool_size), strides_(strides == 0 ? pool_size : strides) {
    detail::check_at_least("MaxPooling2D", "pool_size", pool_size, 1);
    detail::check_at_least("MaxPooling2D", "strides", strides, 0);
  }

  std::string type() const override { return "MaxPooling2D"; }

  Shape build(const Shape& input_shape, Random& /*rng*/) override {
    if (input_shape.rank() != 3) {
      throw ShapeError("MaxPooling2D: expected input [H, W, C] (rank 3), got " +
                       input_shape.to_string());
    }
    detail::check_positive_extents("MaxPooling2D", input_shape);
    if (input_shape[0] < pool_size_ || input_shape[1] < pool_size_) {
      throw ShapeError("MaxPooling2D: expected input height and width >= pool_size " +
                       std::to_string(pool_size_) + ", got " + input_shape.to_string() +
                       "; remove a pooling layer or use a larger input");
    }
    // The arg-max offsets are 32-bit to halve their memory traffic.
    if (input_shape.size() > std::numeric_limits<std::int32_t>::max()) {
      throw ShapeError("MaxPooling2D: expected at most 2^31 - 1 values per sample, got " +
                       std::to_string(input_shape.size()) + " in " + input_shape.to_string());
    }
    input_shape_ = input_shape;
    out_height_ = (input_shape[0] - pool_size_) / strides_ + 1;
    out_width_ = (input_shape[1] - pool_size_) / strides_ + 1;
    built_ = true;
    return Shape{out_height_, out_width_, input_shape[2]};
  }

  /// Takes the maximum of each window; in Mode::Train it also records where each maximum was.
  const Tensor<Scalar>& forward(const Tensor<Scalar>& x, Mode mode) override {
    detail::check_forward_input("MaxPooling2D::forward", built_, x, input_shape_);
    const Index batch = x.dim(0);
    const Index width = input_shape_[1];
    const Index channels = input_shape_[2];
    const Index sample_size = input_shape_.size();
    const bool train = mode == Mode::Train;
    output_.resize({batch, out_height_, out_width_, channels});
    if (train) argmax_.resize(static_cast<std::size_t>(output_.size()));

    [[maybe_unused]] const bool parallel =
        detail::worth_parallel(output_.size() * pool_size_ * pool_size_);

#ifdef _OPENMP
#pragma omp parallel for collapse(2) schedule(static) if (parallel)
#endif
    for (Index n = 0; n < batch; ++n) {
      for (Index oh = 0; oh < out_height_; ++oh) {
        const Scalar* image = x.data() + n * sample_size;
        for (Index ow = 0; ow < out_width_; ++ow) {
          const Index out_offset = ((n * out_height_ + oh) * out_width_ + ow) * channels;
          Scalar* y = output_.data() + out_offset;
          const Index first = (oh * strides_ * width + ow * strides_) * channels;
          std::copy(image + first, image + first + channels, y);
          if (train) {
            std::int32_t* arg = argmax_.data() + out_offset;
            for (Index c = 0; c < channels; ++c) arg[c] = static_cast<std::int32_t>(first + c);
            pool_window(image, oh, ow, y, arg);
          } else {
            pool_window(image, oh, ow, y, nullptr);
          }
        }
      }
    }

    has_train_forward_ = train;
    return output_;
  }

  /// dx[argmax of window] += dy[window]; every other input position gets zero.
  const Tensor<Scalar>& backward(const Tensor<Scalar>& dy) override {
    detail::check_backward_input("MaxPooling2D::backward", has_train_forward_, dy,
                                 output_.shape());
    const Index batch = dy.dim(0);
    const Index sample_size = input_shape_.size();
    const Index outputs_per_sample = dy.size() / batch;
    dx_.resize(input_shape_.with_batch(batch));

    // Each sample's maxima lie in its own image, so samples can run in parallel.
    [[maybe_unused]] const bool parallel = batch > 1 && detail::worth_parallel(dx_.size());
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (parallel)
#endif
    for (Index n = 0; n < batch; ++n) {
      Scalar* dx_n = dx_.data() + n * sample_size;
      std::fill(dx_n, dx_n + sample_size, Scalar(0));
      const Scalar* dy_n = dy.data() + n * outputs_per_sample;
      const std::int32_t* arg = argmax_.data() + n * outputs_per_sample;
      for (Index i = 0; i < outputs_per_sample; ++i) dx_n[arg[i]] += dy_n[i];
    }
    return dx_;
  }

  LayerConfig config() const override {
    LayerConfig config;
    config.set("pool_size", static_cast<double>(pool_size_));
    config.set("strides", static_cast<double>(strides_));
    config.set("padding", "valid");
    return config;
  }

  /// Rebuilds a MaxPool2D from "pool_size" (default 2), "strides" (default pool_size) and
  /// "padding", which must be "valid" when present.
  static std::unique_ptr<Layer<Scalar>> from_config(const LayerConfig& config) {
    if (detail::config_padding(config, "MaxPooling2D") != Padding::Valid) {
      throw DataError("MaxPooling2D: key \"padding\" expected \"valid\", got \"same\"; only "
                      "'valid' pooling is implemented");
    }
    const Index pool_size = detail::config_index(config, "MaxPooling2D", "pool_size", 1, 2);
    return std::make_unique<MaxPool2D>(
        pool_size, detail::config_index(config, "MaxPooling2D", "strides", 1, pool_size));
  }

  Index pool_size() const { return pool_size_; }
  Index strides() const { return strides_; }

 private:
  // Folds the window under output pixel (oh, ow) into y, which starts as the window's first
  // pixel. The window is visited in row-major order and a value replaces the maximum only
  // when strictly larger, so ties keep the first maximum. Both updates are written as
  // branch-free selects, which lets the compiler vectorise the channel loop.
  void pool_window(const Scalar* image, Index oh, Index ow, Scalar* y, std::int32_t* arg) const {
    const Index width = input_shape_[1];
    const Index channels = input_shape_[2];
    for (Index kh = 0; kh < pool_size_; ++kh) {
      for (Index kw = 0; kw < pool_size_; ++kw) {
        const Index pixel = ((oh * strides_ + kh) * width + ow * strides_ + kw) * channels;
        const Scalar* v = image + pixel;
        if (arg) {
          const auto base = static_cast<std::int32_t>(pixel);
          for (std::int32_t c = 0; c < static_cast<std::int32_t>(channels); ++c) {
            const Scalar value = v[c];
            const Scalar best = y[c];
            const std::int32_t index = arg[c];
            const std::int32_t take = -static_cast<std::int32_t>(value > best);  // all ones or 0
            y[c] = std::max(best, value);
            arg[c] = index ^ ((index ^ (base + c)) & take);
          }
        } else {
          for (Index c = 0; c < channels; ++c) y[c] = std::max(y[c], v[c]);
        }
      }
    }
  }

  Index pool_size_;
  Index strides_;

  bool built_ = false;
  bool has_train_forward_ = false;
  Shape input_shape_;  // [H, W, C]
  Index out_height_ = 0;
  Index out_width_ = 0;
  Tensor<Scalar> output_;      // [N, OH, OW, C]
  Tensor<Scalar> dx_;          // [N, H, W, C]
  std::vector<std::int32_t> argmax_;  // [N, OH, OW, C], offset of each maximum in its sample
};

}  // namespace nn
