#pragma once
/// Conv2D: a 2-D convolution (cross-correlation, as in Keras) with an optional fused ReLU.

#include <memory>
#include <string>
#include <vector>

#include "nn/core/init.hpp"
#include "nn/layers/detail/im2col.hpp"
#include "nn/layers/detail/layer_checks.hpp"
#include "nn/layers/detail/parallel.hpp"
#include "nn/layers/layer.hpp"

namespace nn {

/// A 2-D convolution layer over NHWC images, as Keras' `Conv2D`.
///
/// Shapes: [N, H, W, C] -> [N, OH, OW, filters], kernel [K, K, C, filters], bias [filters].
/// 'valid' padding gives OH = floor((H - K) / strides) + 1; 'same' gives OH = ceil(H / strides)
/// and pads as TensorFlow does, with the odd zero on the bottom and right. Kernels start
/// Glorot-uniform (fan_in = K*K*C, fan_out = K*K*filters), biases at zero.
///
/// Each sample is lowered to a patch matrix (im2col) and multiplied by the kernel read as a
/// [K*K*C, filters] matrix. Samples run in parallel with OpenMP, one workspace per thread.
///
/// Limitation: square kernels, equal strides along height and width and no dilation, because
/// the constructor takes one number for each. Keras models that need more cannot be expressed.
template <typename Scalar>
class Conv2D : public Layer<Scalar> {
 public:
  Conv2D(Index filters, Index kernel_size, Padding padding = Padding::Valid,
         Activation activation = Activation::None, Index strides = 1, bool use_bias = true)
      : filters_(filters), kernel_size_(kernel_size), padding_(padding),
        activation_(activation), strides_(strides), use_bias_(use_bias) {
    detail::check_at_least("Conv2D", "filters", filters, 1);
    detail::check_at_least("Conv2D", "kernel_size", kernel_size, 1);
    detail::check_at_least("Conv2D", "strides", strides, 1);
  }

  std::string type() const override { return "Conv2D"; }

  Shape build(const Shape& input_shape, Random& rng) override {
    if (input_shape.rank() != 3) {
      throw ShapeError("Conv2D: expected input [H, W, C] (rank 3), got " +
                       input_shape.to_string());
    }
    detail::check_positive_extents("Conv2D", input_shape);
    if (padding_ == Padding::Valid &&
        (input_shape[0] < kernel_size_ || input_shape[1] < kernel_size_)) {
      throw ShapeError("Conv2D: expected input height and width >= kernel_size " +
                       std::to_string(kernel_size_) + " with 'valid' padding, got " +
                       input_shape.to_string() + "; use 'same' padding or a smaller kernel");
    }
    input_shape_ = input_shape;
    const Index channels = input_shape[2];
    geometry_ = detail::make_conv_geometry(input_shape[0], input_shape[1], channels,
                                           kernel_size_, strides_, padding_);

    kernel_.resize({kernel_size_, kernel_size_, channels, filters_});
    dkernel_.resize(kernel_.shape());
    const Index window = kernel_size_ * kernel_size_;
    glorot_uniform(kernel_, window * channels, window * filters_, rng);
    if (use_bias_) {
      bias_.resize({filters_});
      dbias_.resize({filters_});
    }
    built_ = true;
    return Shape{geometry_.out_height, geometry_.out_width, filters_};
  }

  /// Computes, per sample, Y = im2col(x) * kernel + bias, then max(Y, 0) when fused.
  const Tensor<Scalar>& forward(const Tensor<Scalar>& x, Mode mode) override {
    detail::check_forward_input("Conv2D::forward", built_, x, input_shape_);
    const Index batch = x.dim(0);
    const Index patches = geometry_.patch_count();
    const Index patch_size = geometry_.patch_size();
    const Index sample_size = input_shape_.size();
    output_.resize({batch, geometry_.out_height, geometry_.out_width, filters_});
    detail::prepare_workspaces(columns_, Shape{patches, patch_size});
    const ConstMatrixMap<Scalar> kernel(kernel_.data(), patch_size, filters_);
    [[maybe_unused]] const bool parallel =
        batch > 1 && detail::worth_parallel(output_.size() * patch_size);

#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (parallel)
#endif
    for (Index n = 0; n < batch; ++n) {
      Tensor<Scalar>& columns = columns_[static_cast<std::size_t>(detail::thread_index())];
      detail::im2col(x.data() + n * sample_size, geometry_, columns.data());
      detail::SampleMatrixMap<Scalar> y(output_.data() + n * patches * filters_, patches,
                                        filters_);
      y.noalias() = columns.matrix() * kernel;
      if (use_bias_) y.rowwise() += bias_.flat().transpose();
      if (activation_ == Activation::ReLU) y = y.cwiseMax(Scalar(0));
    }

    has_train_forward_ = mode == Mode::Train;
    if (has_train_forward_) input_ = x;
    return output_;
  }

  /// Per sample, with X = im2col(x) and G = dy masked by (y > 0) when the ReLU is fused:
  ///   dkernel += X^T G,  dbias += column sums of G,  dx = col2im(G kernel^T).
  /// Each sample's share goes to its own slot and the slots are summed in sample order, so
  /// the gradients do not depend on the thread count.
  const Tensor<Scalar>& backward(const Tensor<Scalar>& dy) override {
    detail::check_backward_input("Conv2D::backward", has_train_forward_, dy, output_.shape());
    const Index batch = dy.dim(0);
    const Index patches = geometry_.patch_count();
    const Index patch_size = geometry_.patch_size();
    const Index sample_size = input_shape_.size();
    const bool relu = activation_ == Activation::ReLU;
    dx_.resize(input_.shape());
    kernel_shares_.resize({batch, patch_size, filters_});
    bias_shares_.resize({batch, filters_});
    detail::prepare_workspaces(columns_, Shape{patches, patch_size});
    detail::prepare_workspaces(column_grads_, Shape{patches, patch_size});
    detail::prepare_workspaces(masked_dy_, Shape{patches, relu ? filters_ : 0});
    const ConstMatrixMap<Scalar> kernel(kernel_.data(), patch_size, filters_);
    [[maybe_unused]] const bool parallel =
        batch > 1 && detail::worth_parallel(dy.size() * patch_size);

#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (parallel)
#endif
    for (Index n = 0; n < batch; ++n) {
      const auto thread = static_cast<std::size_t>(detail::thread_index());
      const Index offset = n * patches * filters_;
      const Scalar* g_data = dy.data() + offset;

      // Fused ReLU: pass dy only where the output was positive.
      if (relu) {
        detail::ConstSampleMatrixMap<Scalar> dy_n(g_data, patches, filters_);
        detail::ConstSampleMatrixMap<Scalar> y_n(output_.data() + offset, patches, filters_);
        auto masked = masked_dy_[thread].matrix();
        masked = (y_n.array() > Scalar(0)).select(dy_n, Scalar(0));
        g_data = masked.data();
      }
      detail::ConstSampleMatrixMap<Scalar> g(g_data, patches, filters_);

      // Kernel and bias shares of this sample.
      Tensor<Scalar>& columns = columns_[thread];
      detail::im2col(input_.data() + n * sample_size, geometry_, columns.data());
      detail::SampleMatrixMap<Scalar> kernel_share(
          kernel_shares_.data() + n * patch_size * filters_, patch_size, filters_);
      kernel_share.noalias() = columns.matrix().transpose() * g;
      detail::SampleMatrixMap<Scalar> bias_share(bias_shares_.data() + n * filters_, 1, filters_);
      bias_share = g.colwise().sum();

      // Input gradient: spread each patch row of G kernel^T back over its window.
      auto column_grad = column_grads_[thread].matrix();
      column_grad.noalias() = g * kernel.transpose();
      Scalar* dx_n = dx_.data() + n * sample_size;
      std::fill(dx_n, dx_n + sample_size, Scalar(0));
      detail::col2im(column_grad.data(), geometry_, dx_n);
    }

    auto dkernel = dkernel_.flat();
    for (Index n = 0; n < batch; ++n) {
      dkernel += detail::ConstSampleMatrixMap<Scalar>(
                     kernel_shares_.data() + n * patch_size * filters_, patch_size * filters_, 1);
    }
    if (use_bias_) {
      auto dbias = dbias_.flat();
      for (Index n = 0; n < batch; ++n) {
        dbias += detail::ConstSampleMatrixMap<Scalar>(bias_shares_.data() + n * filters_,
                                                      filters_, 1);
      }
    }
    return dx_;
  }

  std::vector<Parameter<Scalar>> parameters() override {
    std::vector<Parameter<Scalar>> result{{"kernel", &kernel_, &dkernel_}};
    if (use_bias_) result.push_back({"bias", &bias_, &dbias_});
    return result;
  }

  LayerConfig config() const override {
    LayerConfig config;
    config.set("filters", static_cast<double>(filters_));
    config.set("kernel_size", static_cast<double>(kernel_size_));
    config.set("strides", static_cast<double>(strides_));
    config.set("padding", detail::padding_name(padding_));
    config.set("activation", detail::activation_name(activation_));
    config.set("use_bias", use_bias_ ? "true" : "false");
    return config;
  }

  /// Rebuilds a Conv2D from "filters" and "kernel_size" (required), "strides" (default 1),
  /// "padding" (default "valid"), "activation" (default "linear") and "use_bias" (default true).
  static std::unique_ptr<Layer<Scalar>> from_config(const LayerConfig& config) {
    return std::make_unique<Conv2D>(detail::config_index(config, "Conv2D", "filters", 1),
                                    detail::config_index(config, "Conv2D", "kernel_size", 1),
                                    detail::config_padding(config, "Conv2D"),
                                    detail::config_activation(config, "Conv2D"),
                                    detail::config_index(config, "Conv2D", "strides", 1, 1),
                                    detail::config_bool(config, "Conv2D", "use_bias", true));
  }

  Index filters() const { return filters_; }
  Index kernel_size() const { return kernel_size_; }
  Index strides() const { return strides_; }
  Padding padding() const { return padding_; }
  Activation activation() const { return activation_; }
  bool use_bias() const { return use_bias_; }

 private:
  Index filters_;
  Index kernel_size_;
  Padding padding_;
  Activation activation_;
  Index strides_;
  bool use_bias_;

  bool built_ = false;
  bool has_train_forward_ = false;
  Shape input_shape_;               // [H, W, C]
  detail::ConvGeometry geometry_;
  Tensor<Scalar> kernel_;           // [K, K, C, filters]
  Tensor<Scalar> bias_;             // [filters]
  Tensor<Scalar> dkernel_;          // [K, K, C, filters]
  Tensor<Scalar> dbias_;            // [filters]
  Tensor<Scalar> input_;            // [N, H, W, C], kept by a training forward
  Tensor<Scalar> output_;           // [N, OH, OW, filters]
  Tensor<Scalar> dx_;               // [N, H, W, C]
  Tensor<Scalar> kernel_shares_;    // [N, K*K*C, filters], one sample's dkernel each
  Tensor<Scalar> bias_shares_;      // [N, filters]
  std::vector<Tensor<Scalar>> columns_;       // per thread [OH*OW, K*K*C]
  std::vector<Tensor<Scalar>> column_grads_;  // per thread [OH*OW, K*K*C]
  std::vector<Tensor<Scalar>> masked_dy_;     // per thread [OH*OW, filters] with a fused ReLU
};

}  // namespace nn
