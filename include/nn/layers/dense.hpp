#pragma once
/// Dense: a fully connected layer, y = activation(x * kernel + bias).

#include <memory>
#include <string>
#include <vector>

#include "nn/core/init.hpp"
#include "nn/kernels/dense.hpp"
#include "nn/layers/detail/layer_checks.hpp"
#include "nn/layers/layer.hpp"

namespace nn {

/// A fully connected layer with an optional fused ReLU, as Keras' `Dense`.
///
/// Shapes: [N, F] -> [N, units]; kernel [F, units], bias [units]. The input must be flat
/// (add a Flatten layer after convolutions). Kernels start Glorot-uniform, biases at zero.
template <typename Scalar>
class Dense : public Layer<Scalar> {
 public:
  explicit Dense(Index units, Activation activation = Activation::None, bool use_bias = true)
      : units_(units), activation_(activation), use_bias_(use_bias) {
    detail::check_at_least("Dense", "units", units, 1);
  }

  std::string type() const override { return "Dense"; }

  Shape build(const Shape& input_shape, Random& rng) override {
    if (input_shape.rank() != 1) {
      std::string message = "Dense: expected input [F] (rank 1), got " + input_shape.to_string();
      if (input_shape.rank() > 1) message += "; add a Flatten layer before Dense";
      throw ShapeError(message);
    }
    detail::check_positive_extents("Dense", input_shape);
    input_shape_ = input_shape;
    const Index features = input_shape[0];

    kernel_.resize({features, units_});
    dkernel_.resize({features, units_});
    glorot_uniform(kernel_, features, units_, rng);
    if (use_bias_) {
      bias_.resize({units_});
      dbias_.resize({units_});
    }
    built_ = true;
    return Shape{units_};
  }

  /// Computes y = x * kernel + bias, then max(y, 0) when the ReLU is fused.
  const Tensor<Scalar>& forward(const Tensor<Scalar>& x, Mode mode) override {
    detail::check_forward_input("Dense::forward", built_, x, input_shape_);
    const Index batch = x.dim(0);
    output_.resize({batch, units_});
    detail::kernels::dense_forward(x.data(), kernel_.data(), use_bias_ ? bias_.data() : nullptr,
                                   activation_ == Activation::ReLU, batch, input_shape_[0],
                                   units_, output_.data());

    has_train_forward_ = mode == Mode::Train;
    if (has_train_forward_) input_ = x;
    return output_;
  }

  /// With g = dy masked by (y > 0) when the ReLU is fused:
  ///   dkernel += x^T g,  dbias += sum over the batch of g,  dx = g kernel^T (skipped when
  ///   input_gradient_needed() is false).
  const Tensor<Scalar>& backward(const Tensor<Scalar>& dy) override {
    detail::check_backward_input("Dense::backward", has_train_forward_, dy, output_.shape());
    const Tensor<Scalar>* g = &dy;
    if (activation_ == Activation::ReLU) {
      masked_dy_.resize(dy.shape());
      masked_dy_.flat() = (output_.flat().array() > Scalar(0))
                              .select(dy.flat(), Scalar(0));
      g = &masked_dy_;
    }

    dx_.resize(input_.shape());
    workspace_.resize({detail::kernels::dense_backward_workspace(dy.dim(0), units_)});
    detail::kernels::dense_backward(input_.data(), kernel_.data(), g->data(), dy.dim(0),
                                    input_shape_[0], units_, dkernel_.data(),
                                    use_bias_ ? dbias_.data() : nullptr,
                                    this->input_gradient_needed() ? dx_.data() : nullptr,
                                    workspace_.data());
    return dx_;
  }

  std::vector<Parameter<Scalar>> parameters() override {
    std::vector<Parameter<Scalar>> result{{"kernel", &kernel_, &dkernel_}};
    if (use_bias_) result.push_back({"bias", &bias_, &dbias_});
    return result;
  }

  LayerConfig config() const override {
    LayerConfig config;
    config.set("units", static_cast<double>(units_));
    config.set("activation", detail::activation_name(activation_));
    config.set("use_bias", use_bias_ ? "true" : "false");
    return config;
  }

  /// Rebuilds a Dense from "units" (required), "activation" and "use_bias".
  static std::unique_ptr<Layer<Scalar>> from_config(const LayerConfig& config) {
    return std::make_unique<Dense>(detail::config_index(config, "Dense", "units", 1),
                                   detail::config_activation(config, "Dense"),
                                   detail::config_bool(config, "Dense", "use_bias", true));
  }

  Index units() const { return units_; }
  Activation activation() const { return activation_; }
  bool use_bias() const { return use_bias_; }

 private:
  Index units_;
  Activation activation_;
  bool use_bias_;

  bool built_ = false;
  bool has_train_forward_ = false;
  Shape input_shape_;         // [F]
  Tensor<Scalar> kernel_;     // [F, units]
  Tensor<Scalar> bias_;       // [units]
  Tensor<Scalar> dkernel_;    // [F, units]
  Tensor<Scalar> dbias_;      // [units]
  Tensor<Scalar> input_;      // [N, F], kept by a training forward for the kernel gradient
  Tensor<Scalar> output_;     // [N, units]
  Tensor<Scalar> masked_dy_;  // [N, units], dy with the fused ReLU's mask applied
  Tensor<Scalar> dx_;         // [N, F]
  Tensor<Scalar> workspace_;  // [units, N], dy transposed for the input gradient
};

}  // namespace nn
