#include <doctest/doctest.h>

#include <cmath>
#include <initializer_list>

#include "nn/core/threads.hpp"
#include "nn/layers/conv2d.hpp"
#include "support/gradient_check.hpp"

namespace {

using nn::Activation;
using nn::Conv2D;
using nn::Index;
using nn::Mode;
using nn::Padding;
using nn::Random;
using nn::Shape;
using nn::Tensor;

Tensor<double> tensor_of(const Shape& shape, std::initializer_list<double> values) {
  Tensor<double> t(shape);
  Index i = 0;
  for (double v : values) t[i++] = v;
  REQUIRE(i == t.size());
  return t;
}

// Returns a [1, H, W, 1] image of the values 1, 2, 3, ... in row-major order.
Tensor<double> counting_image(Index height, Index width) {
  Tensor<double> x(Shape{1, height, width, 1});
  for (Index i = 0; i < x.size(); ++i) x[i] = static_cast<double>(i + 1);
  return x;
}

void set_kernel(Conv2D<double>& conv, const Tensor<double>& kernel, double bias = 0.0) {
  auto params = conv.parameters();
  REQUIRE(params[0].value->shape() == kernel.shape());
  *params[0].value = kernel;
  if (params.size() > 1) params[1].value->fill(bias);
}

Shape output_shape(Conv2D<float> conv, const Shape& input) {
  Random rng(0);
  return conv.build(input, rng);
}

}  // namespace

TEST_CASE("Conv2D valid padding matches a hand-computed correlation") {
  Conv2D<double> conv(1, 2);
  Random rng(0);
  REQUIRE(conv.build(Shape{3, 3, 1}, rng) == Shape{2, 2, 1});
  set_kernel(conv, tensor_of({2, 2, 1, 1}, {1, 2, 3, 4}), 1.0);
  const auto& y = conv.forward(counting_image(3, 3), Mode::Infer);
  // y[i, j] = x[i, j] + 2 x[i, j+1] + 3 x[i+1, j] + 4 x[i+1, j+1] + 1.
  CHECK(y[0] == doctest::Approx(38));
  CHECK(y[1] == doctest::Approx(48));
  CHECK(y[2] == doctest::Approx(68));
  CHECK(y[3] == doctest::Approx(78));
}

TEST_CASE("Conv2D same padding sums each 3x3 neighbourhood") {
  Conv2D<double> conv(1, 3, Padding::Same);
  Random rng(0);
  REQUIRE(conv.build(Shape{3, 3, 1}, rng) == Shape{3, 3, 1});
  Tensor<double> ones(Shape{3, 3, 1, 1});
  ones.fill(1.0);
  set_kernel(conv, ones);
  const auto& y = conv.forward(counting_image(3, 3), Mode::Infer);
  const double expected[] = {12, 21, 16, 27, 45, 33, 24, 39, 28};
  for (Index i = 0; i < 9; ++i) CHECK(y[i] == doctest::Approx(expected[i]));
}

TEST_CASE("Conv2D same padding with stride 2 pads the extra zero at the bottom and right") {
  // Input 4, kernel 3, stride 2: output 2 and one padded row and column, both after the image.
  Conv2D<double> conv(1, 3, Padding::Same, Activation::None, 2);
  Random rng(0);
  REQUIRE(conv.build(Shape{4, 4, 1}, rng) == Shape{2, 2, 1});
  Tensor<double> ones(Shape{3, 3, 1, 1});
  ones.fill(1.0);
  set_kernel(conv, ones);
  const auto& y = conv.forward(counting_image(4, 4), Mode::Infer);
  CHECK(y[0] == doctest::Approx(1 + 2 + 3 + 5 + 6 + 7 + 9 + 10 + 11));
  CHECK(y[1] == doctest::Approx(3 + 4 + 7 + 8 + 11 + 12));
  CHECK(y[2] == doctest::Approx(9 + 10 + 11 + 13 + 14 + 15));
  CHECK(y[3] == doctest::Approx(11 + 12 + 15 + 16));
}

TEST_CASE("Conv2D mixes channels through the kernel's last two axes") {
  // A 1x1 kernel [1, 1, 2, 3] maps each pixel's channels (a, b) to (a + 2b, -a, 3b).
  Conv2D<double> conv(3, 1);
  Random rng(0);
  conv.build(Shape{1, 2, 2}, rng);
  set_kernel(conv, tensor_of({1, 1, 2, 3}, {1, -1, 0, 2, 0, 3}));
  const auto x = tensor_of({1, 1, 2, 2}, {1, 2, -3, 0.5});
  const auto& y = conv.forward(x, Mode::Infer);
  REQUIRE(y.shape() == Shape{1, 1, 2, 3});
  const double expected[] = {5, -1, 6, -2, 3, 1.5};
  for (Index i = 0; i < 6; ++i) CHECK(y[i] == doctest::Approx(expected[i]));
}

TEST_CASE("Conv2D with fused ReLU clamps negative outputs") {
  Conv2D<double> conv(1, 2, Padding::Valid, Activation::ReLU);
  Random rng(0);
  conv.build(Shape{3, 3, 1}, rng);
  set_kernel(conv, tensor_of({2, 2, 1, 1}, {1, -1, 0, 0}), 0.5);
  const auto& y = conv.forward(counting_image(3, 3), Mode::Infer);
  // x[i, j] - x[i, j+1] + 0.5 is -0.5 everywhere.
  for (Index i = 0; i < 4; ++i) CHECK(y[i] == 0.0);
}

TEST_CASE("Conv2D backward matches a hand-computed example") {
  Conv2D<double> conv(1, 2);
  Random rng(0);
  conv.build(Shape{3, 3, 1}, rng);
  set_kernel(conv, tensor_of({2, 2, 1, 1}, {1, 2, 3, 4}));
  conv.forward(counting_image(3, 3), Mode::Train);
  const auto dy = tensor_of({1, 2, 2, 1}, {1, 0, 0, 2});
  const auto& dx = conv.backward(dy);
  // dx is the kernel placed at (0, 0) plus twice the kernel placed at (1, 1).
  const double expected_dx[] = {1, 2, 0, 3, 4 + 2, 4, 0, 6, 8};
  for (Index i = 0; i < 9; ++i) CHECK(dx[i] == doctest::Approx(expected_dx[i]));
  auto params = conv.parameters();
  // dkernel[a, b] = x[a, b] + 2 x[a+1, b+1]; dbias = 1 + 2.
  const double expected_dkernel[] = {1 + 10, 2 + 12, 4 + 16, 5 + 18};
  for (Index i = 0; i < 4; ++i) CHECK((*params[0].grad)[i] == doctest::Approx(expected_dkernel[i]));
  CHECK((*params[1].grad)[0] == doctest::Approx(3));
}

TEST_CASE("Conv2D gradient, valid padding, stride 1") {
  Conv2D<double> conv(4, 3);
  nn::test::check_layer_gradients(conv, Shape{2, 5, 6, 3}, 101);
}

TEST_CASE("Conv2D gradient, same padding, stride 1") {
  Conv2D<double> conv(3, 3, Padding::Same);
  nn::test::check_layer_gradients(conv, Shape{2, 5, 5, 2}, 102);
}

TEST_CASE("Conv2D gradient, same padding, stride 2") {
  Conv2D<double> conv(3, 3, Padding::Same, Activation::None, 2);
  nn::test::check_layer_gradients(conv, Shape{2, 7, 6, 2}, 103);
}

TEST_CASE("Conv2D gradient, valid padding, stride 2, odd sizes") {
  Conv2D<double> conv(2, 2, Padding::Valid, Activation::None, 2);
  nn::test::check_layer_gradients(conv, Shape{1, 7, 5, 3}, 104);
}

TEST_CASE("Conv2D gradient, same padding, even kernel larger than stride") {
  // Input 5, kernel 4, stride 2: output 3 with one padded row on top and two at the bottom.
  Conv2D<double> conv(2, 4, Padding::Same, Activation::None, 2);
  nn::test::check_layer_gradients(conv, Shape{2, 5, 5, 2}, 105);
}

TEST_CASE("Conv2D gradient, fused ReLU") {
  Conv2D<double> conv(4, 3, Padding::Same, Activation::ReLU);
  nn::test::check_layer_gradients(conv, Shape{2, 4, 5, 3}, 106);
}

TEST_CASE("Conv2D gradient, no bias") {
  Conv2D<double> conv(3, 3, Padding::Valid, Activation::None, 1, false);
  nn::test::check_layer_gradients(conv, Shape{3, 4, 4, 2}, 107);
}

TEST_CASE("Conv2D gradient, 1x1 kernel") {
  Conv2D<double> conv(3, 1);
  nn::test::check_layer_gradients(conv, Shape{2, 3, 2, 4}, 108);
}

TEST_CASE("Conv2D output shapes follow TensorFlow") {
  CHECK(output_shape(Conv2D<float>(16, 3, Padding::Same), Shape{180, 180, 3}) ==
        Shape{180, 180, 16});
  CHECK(output_shape(Conv2D<float>(8, 3), Shape{180, 180, 3}) == Shape{178, 178, 8});
  CHECK(output_shape(Conv2D<float>(8, 3, Padding::Same, Activation::None, 2), Shape{45, 7, 1}) ==
        Shape{23, 4, 8});
  CHECK(output_shape(Conv2D<float>(8, 3, Padding::Valid, Activation::None, 2), Shape{7, 8, 1}) ==
        Shape{3, 3, 8});
  CHECK(output_shape(Conv2D<float>(8, 5, Padding::Same), Shape{2, 3, 1}) == Shape{2, 3, 8});
}

TEST_CASE("Conv2D parameter counts match Keras") {
  Random rng(0);
  Conv2D<float> first(16, 3, Padding::Same, Activation::ReLU);
  first.build(Shape{180, 180, 3}, rng);
  CHECK(first.parameter_count() == 448);
  Conv2D<float> second(32, 3, Padding::Same, Activation::ReLU);
  second.build(Shape{90, 90, 16}, rng);
  CHECK(second.parameter_count() == 4640);
  Conv2D<float> third(64, 3, Padding::Same, Activation::ReLU);
  third.build(Shape{45, 45, 32}, rng);
  CHECK(third.parameter_count() == 18496);
  Conv2D<float> no_bias(64, 3, Padding::Same, Activation::None, 1, false);
  no_bias.build(Shape{45, 45, 32}, rng);
  CHECK(no_bias.parameter_count() == 18432);
}

TEST_CASE("Conv2D kernel is Glorot-uniform with convolution fans") {
  Conv2D<double> conv(16, 3);
  Random rng(8);
  conv.build(Shape{10, 10, 3}, rng);
  auto params = conv.parameters();
  const double limit = std::sqrt(6.0 / (9 * 3 + 9 * 16));
  double largest = 0;
  for (Index i = 0; i < params[0].value->size(); ++i) {
    largest = std::max(largest, std::abs((*params[0].value)[i]));
  }
  CHECK(largest <= limit);
  CHECK(largest > 0.9 * limit);
  for (Index i = 0; i < 16; ++i) CHECK((*params[1].value)[i] == 0.0);
}

TEST_CASE("Conv2D gradients do not depend on the thread count") {
  const int saved = nn::num_threads();
  Tensor<float> dkernel[2], dx[2], y[2];
  for (int run = 0; run < 2; ++run) {
    nn::set_num_threads(run + 1);
    // Large enough for the layer to start a thread team: 8 * 8 * 9 * 8 outputs of 27 terms.
    Conv2D<float> conv(8, 3, Padding::Same, Activation::ReLU, 2);
    Random rng(4);
    conv.build(Shape{15, 17, 3}, rng);
    Tensor<float> x(Shape{8, 15, 17, 3});
    Random data(6);
    for (Index i = 0; i < x.size(); ++i) x[i] = static_cast<float>(data.uniform(-1, 1));
    y[run] = conv.forward(x, Mode::Train);
    Tensor<float> dy(y[run].shape());
    for (Index i = 0; i < dy.size(); ++i) dy[i] = static_cast<float>(data.uniform(-1, 1));
    dx[run] = conv.backward(dy);
    dkernel[run] = *conv.parameters()[0].grad;
  }
  nn::set_num_threads(saved);
  CHECK(y[0].flat() == y[1].flat());
  CHECK(dx[0].flat() == dx[1].flat());
  CHECK(dkernel[0].flat() == dkernel[1].flat());
}

TEST_CASE("Conv2D reuses its buffers across batches") {
  Conv2D<float> conv(4, 3, Padding::Same);
  Random rng(0);
  conv.build(Shape{6, 6, 2}, rng);
  Tensor<float> x(Shape{3, 6, 6, 2}), small(Shape{2, 6, 6, 2});
  const float* output = conv.forward(x, Mode::Train).data();
  const float* dx = conv.backward(conv.forward(x, Mode::Train)).data();
  CHECK(conv.forward(small, Mode::Train).data() == output);
  CHECK(conv.backward(conv.forward(small, Mode::Train)).data() == dx);
  CHECK(conv.forward(x, Mode::Train).data() == output);
}

TEST_CASE("Conv2D rejects a flat input") {
  Conv2D<float> conv(16, 3);
  Random rng(0);
  CHECK_THROWS_WITH_AS(conv.build(Shape{30976}, rng),
                       "Conv2D: expected input [H, W, C] (rank 3), got [30976]", nn::ShapeError);
}

TEST_CASE("Conv2D rejects an input smaller than a valid kernel") {
  Conv2D<float> conv(16, 5);
  Random rng(0);
  CHECK_THROWS_WITH_AS(conv.build(Shape{4, 9, 3}, rng),
                       "Conv2D: expected input height and width >= kernel_size 5 with 'valid' "
                       "padding, got [4, 9, 3]; use 'same' padding or a smaller kernel",
                       nn::ShapeError);
}

TEST_CASE("Conv2D rejects non-positive arguments") {
  CHECK_THROWS_WITH_AS(Conv2D<float>(0, 3), "Conv2D: expected filters >= 1, got 0",
                       nn::ShapeError);
  CHECK_THROWS_WITH_AS(Conv2D<float>(8, 0), "Conv2D: expected kernel_size >= 1, got 0",
                       nn::ShapeError);
  CHECK_THROWS_WITH_AS(Conv2D<float>(8, 3, Padding::Same, Activation::None, -1),
                       "Conv2D: expected strides >= 1, got -1", nn::ShapeError);
}

TEST_CASE("Conv2D forward rejects images with other channels") {
  Conv2D<float> conv(8, 3);
  Random rng(0);
  conv.build(Shape{64, 64, 3}, rng);
  Tensor<float> x(Shape{32, 64, 64, 1});
  CHECK_THROWS_WITH_AS(conv.forward(x, Mode::Infer),
                       "Conv2D::forward: expected input [N, 64, 64, 3] with N >= 1, got "
                       "[32, 64, 64, 1]",
                       nn::ShapeError);
}

TEST_CASE("Conv2D config round-trips through from_config") {
  Conv2D<float> conv(32, 5, Padding::Same, Activation::ReLU, 2, false);
  const nn::LayerConfig config = conv.config();
  CHECK(config.text("filters") == "32");
  CHECK(config.text("kernel_size") == "5");
  CHECK(config.text("strides") == "2");
  CHECK(config.text("padding") == "same");
  CHECK(config.text("activation") == "relu");
  CHECK(config.text("use_bias") == "false");
  const auto rebuilt = Conv2D<float>::from_config(config);
  CHECK(rebuilt->type() == "Conv2D");
  CHECK(rebuilt->config() == config);
}

TEST_CASE("Conv2D from_config fills in Keras defaults") {
  nn::LayerConfig config;
  config.set("filters", 4.0);
  config.set("kernel_size", 3.0);
  const auto rebuilt = Conv2D<float>::from_config(config);
  const auto& conv = dynamic_cast<const Conv2D<float>&>(*rebuilt);
  CHECK(conv.strides() == 1);
  CHECK(conv.padding() == Padding::Valid);
  CHECK(conv.activation() == Activation::None);
  CHECK(conv.use_bias());
}

TEST_CASE("Conv2D from_config rejects an unknown padding") {
  nn::LayerConfig config;
  config.set("filters", 4.0);
  config.set("kernel_size", 3.0);
  config.set("padding", "causal");
  CHECK_THROWS_WITH_AS(Conv2D<float>::from_config(config),
                       "Conv2D: key \"padding\" expected \"same\" or \"valid\", got \"causal\"",
                       nn::DataError);
}
