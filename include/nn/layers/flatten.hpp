#pragma once
/// Flatten: reshapes each sample to one feature vector.

#include <algorithm>
#include <memory>
#include <string>

#include "nn/layers/detail/layer_checks.hpp"
#include "nn/layers/layer.hpp"

namespace nn {

/// Reshapes each sample to a vector, as Keras' `Flatten`; the row-major order is kept.
///
/// Shapes: [N, H, W, C] -> [N, H*W*C] (any per-sample rank >= 1). No parameters.
template <typename Scalar>
class Flatten : public Layer<Scalar> {
 public:
  Flatten() = default;

  std::string type() const override { return "Flatten"; }

  Shape build(const Shape& input_shape, Random& /*rng*/) override {
    if (input_shape.rank() < 1) {
      throw ShapeError("Flatten: expected input of rank >= 1, got " + input_shape.to_string());
    }
    detail::check_positive_extents("Flatten", input_shape);
    input_shape_ = input_shape;
    dx_ = Tensor<Scalar>();
    built_ = true;
    return Shape{input_shape.size()};
  }

  const Tensor<Scalar>& forward(const Tensor<Scalar>& x, Mode mode) override {
    detail::check_forward_input("Flatten::forward", built_, x, input_shape_);
    output_.resize({x.dim(0), input_shape_.size()});
    std::copy(x.data(), x.data() + x.size(), output_.data());
    has_train_forward_ = mode == Mode::Train;
    return output_;
  }

  /// Reshapes dy back to the input shape.
  const Tensor<Scalar>& backward(const Tensor<Scalar>& dy) override {
    detail::check_backward_input("Flatten::backward", has_train_forward_, dy, output_.shape());
    // Only a new batch size changes dx's shape; checking first keeps steps allocation-free.
    if (dx_.rank() != input_shape_.rank() + 1 || dx_.dim(0) != dy.dim(0)) {
      dx_.resize(input_shape_.with_batch(dy.dim(0)));
    }
    std::copy(dy.data(), dy.data() + dy.size(), dx_.data());
    return dx_;
  }

  LayerConfig config() const override { return LayerConfig(); }

  /// Rebuilds a Flatten; it has no arguments.
  static std::unique_ptr<Layer<Scalar>> from_config(const LayerConfig& /*config*/) {
    return std::make_unique<Flatten>();
  }

 private:
  bool built_ = false;
  bool has_train_forward_ = false;
  Shape input_shape_;
  Tensor<Scalar> output_;  // [N, H*W*C]
  Tensor<Scalar> dx_;      // [N, H, W, C]
};

}  // namespace nn
