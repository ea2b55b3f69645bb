#pragma once
/// MaxPool2D: the maximum over each pooling window of each channel.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/kernels/max_pool.hpp"
#include "nn/layers/detail/layer_checks.hpp"
#include "nn/layers/layer.hpp"

namespace nn {

template <typename Scalar>
class Conv2D;

/// 2-D max pooling with 'valid' padding, as Keras' `MaxPooling2D`.
///
/// Shapes: [N, H, W, C] -> [N, OH, OW, C] with OH = floor((H - pool_size) / strides) + 1, so
/// 45 -> 22 for a 2x2 pool. `strides` 0 means strides = pool_size. No parameters. Backward
/// sends each output's gradient to the position of its window's maximum, the first one in
/// row-major window order on ties. Where windows overlap, their gradients add up.
///
/// Limitation: 'valid' padding and square windows only, because the reference models need
/// nothing else. from_config rejects a saved "padding" other than "valid". Windows are at most
/// 16x16, because the position of each maximum is kept in one byte; the constructor throws for
/// larger ones.
template <typename Scalar>
class MaxPool2D : public Layer<Scalar> {
 public:
  explicit MaxPool2D(Index pool_size = 2, Index strides = 0)
      : pool_size_(pool_size), strides_(strides == 0 ? pool_size : strides) {
    detail::check_at_least("MaxPooling2D", "pool_size", pool_size, 1);
    detail::check_at_least("MaxPooling2D", "strides", strides, 0);
    if (pool_size > 16) {
      throw ShapeError("MaxPooling2D: expected pool_size <= 16, got " +
                       std::to_string(pool_size) + "; the position of each maximum is stored "
                       "in one byte per output");
    }
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
    const bool train = mode == Mode::Train;
    output_.resize({batch, out_height_, out_width_, input_shape_[2]});
    if (train) argmax_.resize(static_cast<std::size_t>(output_.size()));
    detail::kernels::max_pool_forward(kernel_geometry(batch), x.data(), output_.data(),
                                      train ? argmax_.data() : nullptr);
    has_train_forward_ = train;
    return output_;
  }

  /// dx[argmax of window] += dy[window]; every other input position gets zero.
  const Tensor<Scalar>& backward(const Tensor<Scalar>& dy) override {
    detail::check_backward_input("MaxPooling2D::backward", has_train_forward_, dy,
                                 output_.shape());
    const Index batch = dy.dim(0);
    dx_.resize({batch, input_shape_[0], input_shape_[1], input_shape_[2]});
    detail::kernels::max_pool_backward(kernel_geometry(batch), dy.data(), argmax_.data(),
                                       dx_.data());
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
  // Conv2D runs this layer fused with itself and then fills its output and arg-max buffers.
  friend class Conv2D<Scalar>;

  Index pool_size_;
  Index strides_;

  bool built_ = false;
  bool has_train_forward_ = false;
  Shape input_shape_;  // [H, W, C]
  Index out_height_ = 0;
  Index out_width_ = 0;
  Tensor<Scalar> output_;      // [N, OH, OW, C]
  Tensor<Scalar> dx_;          // [N, H, W, C]
  // [N, OH, OW, C], position of each maximum in its window, row-major (so pool_size <= 16).
  std::vector<std::uint8_t> argmax_;

  detail::kernels::PoolGeometry kernel_geometry(Index batch) const {
    detail::kernels::PoolGeometry g;
    g.batch = batch;
    g.in_h = input_shape_[0], g.in_w = input_shape_[1], g.channels = input_shape_[2];
    g.out_h = out_height_, g.out_w = out_width_;
    g.pool = pool_size_, g.stride = strides_;
    return g;
  }
};

}  // namespace nn
