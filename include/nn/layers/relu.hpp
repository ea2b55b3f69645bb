#pragma once
/// ReLU: the rectified linear unit as a layer of its own.

#include <memory>
#include <string>

#include "nn/layers/detail/layer_checks.hpp"
#include "nn/layers/layer.hpp"

namespace nn {

/// Computes y = max(x, 0) element-wise, as Keras' `ReLU` with its default arguments.
///
/// Shapes: any per-sample shape, unchanged. No parameters. The derivative at x = 0 is taken
/// as 0, as TensorFlow does.
template <typename Scalar>
class ReLU : public Layer<Scalar> {
 public:
  ReLU() = default;

  std::string type() const override { return "ReLU"; }

  Shape build(const Shape& input_shape, Random& /*rng*/) override {
    if (input_shape.rank() < 1) {
      throw ShapeError("ReLU: expected input of rank >= 1, got " + input_shape.to_string());
    }
    detail::check_positive_extents("ReLU", input_shape);
    input_shape_ = input_shape;
    built_ = true;
    return input_shape;
  }

  const Tensor<Scalar>& forward(const Tensor<Scalar>& x, Mode mode) override {
    detail::check_forward_input("ReLU::forward", built_, x, input_shape_);
    output_.resize(x.shape());
    output_.flat() = x.flat().cwiseMax(Scalar(0));
    has_train_forward_ = mode == Mode::Train;
    return output_;
  }

  /// dx = dy where y > 0, else 0; y > 0 exactly where x > 0.
  const Tensor<Scalar>& backward(const Tensor<Scalar>& dy) override {
    detail::check_backward_input("ReLU::backward", has_train_forward_, dy, output_.shape());
    dx_.resize(dy.shape());
    dx_.flat() = (output_.flat().array() > Scalar(0)).select(dy.flat(), Scalar(0));
    return dx_;
  }

  LayerConfig config() const override { return LayerConfig(); }

  /// Rebuilds a ReLU; it has no arguments.
  static std::unique_ptr<Layer<Scalar>> from_config(const LayerConfig& /*config*/) {
    return std::make_unique<ReLU>();
  }

 private:
  bool built_ = false;
  bool has_train_forward_ = false;
  Shape input_shape_;
  Tensor<Scalar> output_;
  Tensor<Scalar> dx_;
};

}  // namespace nn
