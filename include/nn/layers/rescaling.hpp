#pragma once
/// Rescaling: an affine map of the input values, e.g. pixels from [0, 255] to [0, 1].

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include "nn/layers/detail/layer_checks.hpp"
#include "nn/layers/layer.hpp"

namespace nn {

/// Computes y = x * scale + offset element-wise, as Keras' `Rescaling`.
///
/// Shapes: any per-sample shape, unchanged. No parameters; the same in training and inference.
template <typename Scalar>
class Rescaling : public Layer<Scalar> {
 public:
  explicit Rescaling(double scale, double offset = 0.0) : scale_(scale), offset_(offset) {
    if (!std::isfinite(scale) || !std::isfinite(offset)) {
      throw ShapeError("Rescaling: expected finite scale and offset, got scale = " +
                       format_number(scale) + ", offset = " + format_number(offset));
    }
  }

  std::string type() const override { return "Rescaling"; }

  Shape build(const Shape& input_shape, Random& /*rng*/) override {
    if (input_shape.rank() < 1) {
      throw ShapeError("Rescaling: expected input of rank >= 1, got " + input_shape.to_string());
    }
    detail::check_positive_extents("Rescaling", input_shape);
    input_shape_ = input_shape;
    built_ = true;
    return input_shape;
  }

  const Tensor<Scalar>& forward(const Tensor<Scalar>& x, Mode mode) override {
    detail::check_forward_input("Rescaling::forward", built_, x, input_shape_);
    output_.resize(x.shape());
    output_.flat() = (x.flat().array() * static_cast<Scalar>(scale_) +
                      static_cast<Scalar>(offset_)).matrix();
    has_train_forward_ = mode == Mode::Train;
    return output_;
  }

  /// dx = dy * scale.
  const Tensor<Scalar>& backward(const Tensor<Scalar>& dy) override {
    detail::check_backward_input("Rescaling::backward", has_train_forward_, dy, output_.shape());
    dx_.resize(dy.shape());
    dx_.flat() = dy.flat() * static_cast<Scalar>(scale_);
    return dx_;
  }

  LayerConfig config() const override {
    LayerConfig config;
    config.set("scale", scale_);
    config.set("offset", offset_);
    return config;
  }

  /// Rebuilds a Rescaling from "scale" (required) and "offset" (default 0).
  static std::unique_ptr<Layer<Scalar>> from_config(const LayerConfig& config) {
    const double offset = config.contains("offset") ? config.number("offset") : 0.0;
    return std::make_unique<Rescaling>(config.number("scale"), offset);
  }

  double scale() const { return scale_; }
  double offset() const { return offset_; }

 private:
  // std::to_string prints six decimals, which shows a scale of 1e-9 as 0.000000.
  static std::string format_number(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", value);
    return text;
  }

  double scale_;
  double offset_;

  bool built_ = false;
  bool has_train_forward_ = false;
  Shape input_shape_;
  Tensor<Scalar> output_;
  Tensor<Scalar> dx_;
};

}  // namespace nn
