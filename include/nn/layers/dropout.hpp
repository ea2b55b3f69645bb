#pragma once
/// Dropout: randomly zeroes activations during training to regularise a model.

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "nn/layers/detail/layer_checks.hpp"
#include "nn/layers/layer.hpp"

namespace nn {

/// Inverted dropout, as Keras' `Dropout`.
///
/// Shapes: any per-sample shape, unchanged. No parameters. In Mode::Train each element is
/// dropped (set to zero) with probability `rate` and kept elements are scaled by
/// 1 / (1 - rate), so the expected activation equals the input. Mode::Infer is the identity.
///
/// The mask is drawn serially from the layer's own generator, so it does not depend on the
/// thread count. build() seeds that generator from the model's, and reseed() restarts it.
template <typename Scalar>
class Dropout : public Layer<Scalar> {
 public:
  explicit Dropout(double rate) : rate_(rate) {
    // The negated comparison also rejects NaN.
    if (!(rate >= 0.0 && rate < 1.0)) {
      throw ShapeError("Dropout: expected rate in [0, 1), got " + format_rate(rate));
    }
  }

  std::string type() const override { return "Dropout"; }

  Shape build(const Shape& input_shape, Random& rng) override {
    if (input_shape.rank() < 1) {
      throw ShapeError("Dropout: expected input of rank >= 1, got " + input_shape.to_string());
    }
    detail::check_positive_extents("Dropout", input_shape);
    input_shape_ = input_shape;
    rng_.reseed(rng.next_u64());
    built_ = true;
    return input_shape;
  }

  /// Mode::Train: y = x * mask with mask 0 (probability rate) or 1 / (1 - rate).
  /// Mode::Infer: y = x, and the generator draws nothing.
  const Tensor<Scalar>& forward(const Tensor<Scalar>& x, Mode mode) override {
    detail::check_forward_input("Dropout::forward", built_, x, input_shape_);
    output_.resize(x.shape());
    has_train_forward_ = mode == Mode::Train;
    if (!has_train_forward_) {
      output_.flat() = x.flat();
      return output_;
    }

    // Rate 0 keeps every unit and draws nothing from the generator.
    mask_.resize(x.shape());
    if (rate_ == 0.0) {
      mask_.fill(Scalar(1));
    } else {
      const auto keep_scale = static_cast<Scalar>(1.0 / (1.0 - rate_));
      for (Index i = 0; i < mask_.size(); ++i) {
        mask_[i] = rng_.uniform() < rate_ ? Scalar(0) : keep_scale;
      }
    }
    output_.flat() = x.flat().cwiseProduct(mask_.flat());
    return output_;
  }

  /// dx = dy * mask, the same mask as the last training forward.
  const Tensor<Scalar>& backward(const Tensor<Scalar>& dy) override {
    detail::check_backward_input("Dropout::backward", has_train_forward_, dy, output_.shape());
    dx_.resize(dy.shape());
    dx_.flat() = dy.flat().cwiseProduct(mask_.flat());
    return dx_;
  }

  /// Restarts the mask stream: the same seed gives the same sequence of masks.
  void reseed(std::uint64_t seed) override { rng_.reseed(seed); }

  LayerConfig config() const override {
    LayerConfig config;
    config.set("rate", rate_);
    return config;
  }

  /// Rebuilds a Dropout from "rate" (required).
  static std::unique_ptr<Layer<Scalar>> from_config(const LayerConfig& config) {
    return std::make_unique<Dropout>(config.number("rate"));
  }

  double rate() const { return rate_; }

 private:
  static std::string format_rate(double rate) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", rate);
    return text;
  }

  double rate_;
  Random rng_;

  bool built_ = false;
  bool has_train_forward_ = false;
  Shape input_shape_;
  Tensor<Scalar> mask_;    // 0 or 1 / (1 - rate) per element of the last forward
  Tensor<Scalar> output_;
  Tensor<Scalar> dx_;
};

}  // namespace nn
