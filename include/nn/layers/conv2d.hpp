#pragma once
/// Conv2D: a 2-D convolution (cross-correlation, as in Keras) with an optional fused ReLU.

#include <memory>
#include <string>
#include <vector>

#include "nn/core/init.hpp"
#include "nn/core/threads.hpp"
#include "nn/kernels/conv2d_direct.hpp"
#include "nn/kernels/conv2d_pool.hpp"
#include "nn/layers/detail/im2col.hpp"
#include "nn/layers/detail/layer_checks.hpp"
#include "nn/layers/layer.hpp"
#include "nn/layers/max_pool2d.hpp"

namespace nn {

/// A 2-D convolution layer over NHWC images, as Keras' `Conv2D`.
///
/// Shapes: [N, H, W, C] -> [N, OH, OW, filters], kernel [K, K, C, filters], bias [filters].
/// 'valid' padding gives OH = floor((H - K) / strides) + 1; 'same' gives OH = ceil(H / strides)
/// and pads as TensorFlow does, with the odd zero on the bottom and right. Kernels start
/// Glorot-uniform (fan_in = K*K*C, fan_out = K*K*filters), biases at zero.
///
/// The passes run on direct NHWC convolution kernels (nn/kernels/conv2d_direct.hpp): no patch
/// matrix is formed, rows of the output are computed in parallel with OpenMP, and backward
/// takes whole samples per thread. Followed by a MaxPool2D whose windows do not overlap, the
/// pair runs as one step in a model (forward_with_next), without storing the full-resolution
/// output. Buffers are kept across batches, so after the first batch of a given size forward
/// and backward allocate nothing.
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

  /// Computes y = x (*) kernel + bias, then max(y, 0) when the ReLU is fused.
  const Tensor<Scalar>& forward(const Tensor<Scalar>& x, Mode mode) override {
    detail::check_forward_input("Conv2D::forward", built_, x, input_shape_);
    const Index batch = x.dim(0);
    output_.resize({batch, geometry_.out_height, geometry_.out_width, filters_});
    detail::kernels::conv2d_forward(kernel_geometry(batch), x.data(), kernel_.data(),
                                    use_bias_ ? bias_.data() : nullptr,
                                    activation_ == Activation::ReLU, output_.data());
    fused_pool_ = nullptr;
    has_train_forward_ = mode == Mode::Train;
    if (has_train_forward_) input_ = x;
    return output_;
  }

  /// With G = dy masked by (y > 0) when the ReLU is fused, and (*) the correlation of forward:
  ///   dkernel[kh, kw, c, f] += sum over n, oh, ow of x[n, oh*s + kh - pt, ow*s + kw - pl, c]
  ///                                                  * G[n, oh, ow, f],
  ///   dbias += sums of G over batch, height and width,
  ///   dx = G correlated with the kernel rotated by 180 degrees, channel axes swapped,
  ///        skipped when input_gradient_needed() is false.
  /// Each sample's share of dkernel and dbias goes to its own slot and the slots are summed in
  /// sample order, so the gradients do not depend on the thread count.
  const Tensor<Scalar>& backward(const Tensor<Scalar>& dy) override {
    detail::check_backward_input("Conv2D::backward", has_train_forward_, dy, output_.shape());
    const Index batch = dy.dim(0);
    const detail::kernels::ConvGeometry g = kernel_geometry(batch);
    dx_.resize(input_.shape());
    rotated_kernel_.resize(kernel_.shape());
    detail::kernels::rotate_kernel(g, kernel_.data(), rotated_kernel_.data());
    workspace_.resize({detail::kernels::conv2d_backward_workspace(g, num_threads())});
    const Scalar* mask = activation_ == Activation::ReLU ? output_.data() : nullptr;
    Scalar* dx = this->input_gradient_needed() ? dx_.data() : nullptr;
    detail::kernels::conv2d_backward(g, input_.data(), dy.data(), mask, kernel_.data(),
                                     rotated_kernel_.data(), dkernel_.data(),
                                     use_bias_ ? dbias_.data() : nullptr, dx, workspace_.data());
    return dx_;
  }

  /// Runs this convolution and a following MaxPool2D whose windows do not overlap as one step
  /// and returns the pooled output (owned by the pooling layer); returns nullptr for any other
  /// next layer. The results equal forward() followed by the pooling's forward(), but this
  /// layer's own full-resolution output is never stored, so after a fused training forward only
  /// backward_with_next() can run the backward pass.
  const Tensor<Scalar>* forward_with_next(const Tensor<Scalar>& x, Layer<Scalar>& next,
                                          Mode mode) override {
    auto* pool = dynamic_cast<MaxPool2D<Scalar>*>(&next);
    if (!pool || pool->strides() != pool->pool_size() || !pool->built_) return nullptr;
    detail::check_forward_input("Conv2D::forward", built_, x, input_shape_);
    const Index batch = x.dim(0);
    const bool train = mode == Mode::Train;
    const detail::kernels::ConvGeometry g = kernel_geometry(batch);
    const detail::kernels::PoolGeometry p = pool->kernel_geometry(batch);
    pool->output_.resize({batch, p.out_h, p.out_w, filters_});
    if (train) pool->argmax_.resize(static_cast<std::size_t>(pool->output_.size()));
    forward_workspace_.resize(
        {detail::kernels::conv2d_pool_forward_workspace(g, p, num_threads())});
    detail::kernels::conv2d_pool_forward(g, p, x.data(), kernel_.data(),
                                         use_bias_ ? bias_.data() : nullptr,
                                         activation_ == Activation::ReLU, pool->output_.data(),
                                         train ? pool->argmax_.data() : nullptr,
                                         forward_workspace_.data());
    pool->has_train_forward_ = train;
    has_train_forward_ = false;
    fused_pool_ = train ? pool : nullptr;
    if (train) input_ = x;
    return &pool->output_;
  }

  /// The backward pass after forward_with_next: takes dL/d(pooled output) and returns dL/dx,
  /// adding into this layer's kernel and bias gradients. The per-image output gradient is
  /// rebuilt in cache from the pooled gradient and the positions of the maxima.
  const Tensor<Scalar>& backward_with_next(const Tensor<Scalar>& dy, Layer<Scalar>& next) override {
    if (fused_pool_ == nullptr || fused_pool_ != &next) return backward(next.backward(dy));
    MaxPool2D<Scalar>& pool = *fused_pool_;
    detail::check_backward_input("MaxPooling2D::backward", pool.has_train_forward_, dy,
                                 pool.output_.shape());
    const Index batch = dy.dim(0);
    const detail::kernels::ConvGeometry g = kernel_geometry(batch);
    const detail::kernels::PoolGeometry p = pool.kernel_geometry(batch);
    dx_.resize(input_.shape());
    rotated_kernel_.resize(kernel_.shape());
    detail::kernels::rotate_kernel(g, kernel_.data(), rotated_kernel_.data());
    workspace_.resize({detail::kernels::conv2d_backward_workspace(g, num_threads())});
    Scalar* dx = this->input_gradient_needed() ? dx_.data() : nullptr;
    detail::kernels::conv2d_pool_backward(g, p, input_.data(), dy.data(), pool.output_.data(),
                                          pool.argmax_.data(), activation_ == Activation::ReLU,
                                          kernel_.data(), rotated_kernel_.data(), dkernel_.data(),
                                          use_bias_ ? dbias_.data() : nullptr, dx,
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
  Tensor<Scalar> rotated_kernel_;   // [K, K, filters, C], the kernel as backward reads it
  Tensor<Scalar> workspace_;        // per-sample gradient slots and per-thread buffers
  Tensor<Scalar> forward_workspace_;  // per-thread output rows of a fused forward
  MaxPool2D<Scalar>* fused_pool_ = nullptr;  // the pooling of the last fused training forward

  detail::kernels::ConvGeometry kernel_geometry(Index batch) const {
    detail::kernels::ConvGeometry g;
    g.batch = batch;
    g.in_h = geometry_.in_height, g.in_w = geometry_.in_width, g.in_c = geometry_.channels;
    g.out_h = geometry_.out_height, g.out_w = geometry_.out_width, g.out_c = filters_;
    g.kernel_h = geometry_.kernel_height, g.kernel_w = geometry_.kernel_width;
    g.stride = geometry_.stride, g.pad_top = geometry_.pad_top, g.pad_left = geometry_.pad_left;
    return g;
  }
};

}  // namespace nn
