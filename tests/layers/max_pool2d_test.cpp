#include <doctest/doctest.h>

#include <algorithm>
#include <initializer_list>

#include "nn/core/threads.hpp"
#include "nn/layers/max_pool2d.hpp"
#include "support/gradient_check.hpp"

namespace {

using nn::Index;
using nn::MaxPool2D;
using nn::Mode;
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

Shape output_shape(MaxPool2D<float> pool, const Shape& input) {
  Random rng(0);
  return pool.build(input, rng);
}

// Builds the pool for the per-sample part of x's shape and checks it at x.
void check_pool_gradients(MaxPool2D<double>& pool, const Tensor<double>& x, std::uint64_t seed) {
  Random rng(seed);
  pool.build(x.shape().without_batch(), rng);
  nn::test::check_layer_gradients(pool, x, seed);
}

}  // namespace

TEST_CASE("MaxPool2D takes the maximum of each window") {
  MaxPool2D<double> pool;
  Random rng(0);
  REQUIRE(pool.build(Shape{4, 4, 1}, rng) == Shape{2, 2, 1});
  const auto x = tensor_of({1, 4, 4, 1}, {1, 5, 2, 0,  //
                                          3, 4, 8, 1,  //
                                          -1, -2, 0, 6,  //
                                          -3, -4, 7, 2});
  const auto& y = pool.forward(x, Mode::Infer);
  CHECK(y[0] == 5);
  CHECK(y[1] == 8);
  CHECK(y[2] == -1);
  CHECK(y[3] == 7);
}

TEST_CASE("MaxPool2D pools each channel on its own") {
  MaxPool2D<double> pool;
  Random rng(0);
  pool.build(Shape{2, 2, 2}, rng);
  // Channel 0 contains 1, 2, 3, 4 and channel 1 contains 8, 7, 6, 5.
  const auto x = tensor_of({1, 2, 2, 2}, {1, 8, 2, 7, 3, 6, 4, 5});
  const auto& y = pool.forward(x, Mode::Infer);
  REQUIRE(y.shape() == Shape{1, 1, 1, 2});
  CHECK(y[0] == 4);
  CHECK(y[1] == 8);
}

TEST_CASE("MaxPool2D sends the gradient only to the maximum of each window") {
  MaxPool2D<double> pool;
  Random rng(0);
  pool.build(Shape{2, 4, 1}, rng);
  const auto x = tensor_of({1, 2, 4, 1}, {1, 5, 2, 0,  //
                                          3, 4, 8, 1});
  pool.forward(x, Mode::Train);
  const auto dy = tensor_of({1, 1, 2, 1}, {10, 20});
  const auto& dx = pool.backward(dy);
  const double expected[] = {0, 10, 0, 0, 0, 0, 20, 0};
  for (Index i = 0; i < 8; ++i) CHECK(dx[i] == expected[i]);
}

TEST_CASE("MaxPool2D gives a tied window's gradient to its first maximum") {
  MaxPool2D<double> pool;
  Random rng(0);
  pool.build(Shape{2, 2, 1}, rng);
  const auto x = tensor_of({1, 2, 2, 1}, {1, 3, 3, 3});
  pool.forward(x, Mode::Train);
  const auto dy = tensor_of({1, 1, 1, 1}, {2});
  const auto& dx = pool.backward(dy);
  CHECK(dx[0] == 0);
  CHECK(dx[1] == 2);
  CHECK(dx[2] == 0);
  CHECK(dx[3] == 0);
}

TEST_CASE("MaxPool2D adds the gradients of overlapping windows") {
  // Pool 2 with stride 1 on 3x3: the centre 9 is the maximum of all four windows.
  MaxPool2D<double> pool(2, 1);
  Random rng(0);
  REQUIRE(pool.build(Shape{3, 3, 1}, rng) == Shape{2, 2, 1});
  const auto x = tensor_of({1, 3, 3, 1}, {1, 2, 3, 4, 9, 5, 6, 7, 8});
  pool.forward(x, Mode::Train);
  const auto dy = tensor_of({1, 2, 2, 1}, {1, 2, 3, 4});
  const auto& dx = pool.backward(dy);
  for (Index i = 0; i < 9; ++i) CHECK(dx[i] == (i == 4 ? 10.0 : 0.0));
}

TEST_CASE("MaxPool2D results do not depend on the thread count") {
  // Large enough for the layer to start a thread team: 4 * 16 * 16 * 8 windows of 4.
  const int saved = nn::num_threads();
  const Tensor<double> x = nn::test::random_tensor(Shape{4, 32, 33, 8}, 7);
  const Tensor<double> dy = nn::test::random_tensor(Shape{4, 16, 16, 8}, 8);
  Tensor<double> y[2], dx[2];
  for (int run = 0; run < 2; ++run) {
    nn::set_num_threads(run + 1);
    MaxPool2D<double> pool;
    Random rng(0);
    pool.build(Shape{32, 33, 8}, rng);
    y[run] = pool.forward(x, Mode::Train);
    dx[run] = pool.backward(dy);
  }
  nn::set_num_threads(saved);
  CHECK(y[0].flat() == y[1].flat());
  CHECK(dx[0].flat() == dx[1].flat());
  // Spot-check one window: sample 3, output (5, 7), channel 6.
  double expected = x[((3 * 32 + 10) * 33 + 14) * 8 + 6];
  for (Index kh = 0; kh < 2; ++kh) {
    for (Index kw = 0; kw < 2; ++kw) {
      expected = std::max(expected, x[((3 * 32 + 10 + kh) * 33 + 14 + kw) * 8 + 6]);
    }
  }
  CHECK(y[0][((3 * 16 + 5) * 16 + 7) * 8 + 6] == expected);
}

TEST_CASE("MaxPool2D gradient, pool 2, default strides, odd sizes") {
  MaxPool2D<double> pool;
  check_pool_gradients(pool, nn::test::distinct_tensor(Shape{2, 5, 7, 3}, 201), 201);
}

TEST_CASE("MaxPool2D gradient, pool 3, stride 2, overlapping windows") {
  MaxPool2D<double> pool(3, 2);
  check_pool_gradients(pool, nn::test::distinct_tensor(Shape{2, 7, 6, 2}, 202), 202);
}

TEST_CASE("MaxPool2D gradient, pool 2, stride 3, skipped pixels") {
  MaxPool2D<double> pool(2, 3);
  check_pool_gradients(pool, nn::test::distinct_tensor(Shape{1, 8, 7, 2}, 203), 203);
}

TEST_CASE("MaxPool2D output shapes round down as Keras does") {
  CHECK(output_shape(MaxPool2D<float>(), Shape{45, 45, 64}) == Shape{22, 22, 64});
  CHECK(output_shape(MaxPool2D<float>(), Shape{180, 180, 16}) == Shape{90, 90, 16});
  CHECK(output_shape(MaxPool2D<float>(), Shape{90, 91, 32}) == Shape{45, 45, 32});
  CHECK(output_shape(MaxPool2D<float>(3, 2), Shape{7, 8, 1}) == Shape{3, 3, 1});
  CHECK(output_shape(MaxPool2D<float>(3, 1), Shape{5, 3, 1}) == Shape{3, 1, 1});
  CHECK(output_shape(MaxPool2D<float>(2, 3), Shape{8, 7, 1}) == Shape{3, 2, 1});
}

TEST_CASE("MaxPool2D strides default to the pool size") {
  MaxPool2D<float> pool(3);
  CHECK(pool.strides() == 3);
  CHECK(pool.parameter_count() == 0);
  CHECK(pool.type() == "MaxPooling2D");
}

TEST_CASE("MaxPool2D rejects a flat input") {
  MaxPool2D<float> pool;
  Random rng(0);
  CHECK_THROWS_WITH_AS(pool.build(Shape{128}, rng),
                       "MaxPooling2D: expected input [H, W, C] (rank 3), got [128]",
                       nn::ShapeError);
}

TEST_CASE("MaxPool2D rejects an input smaller than the pool") {
  MaxPool2D<float> pool(3);
  Random rng(0);
  CHECK_THROWS_WITH_AS(pool.build(Shape{2, 5, 4}, rng),
                       "MaxPooling2D: expected input height and width >= pool_size 3, got "
                       "[2, 5, 4]; remove a pooling layer or use a larger input",
                       nn::ShapeError);
}

TEST_CASE("MaxPool2D rejects a bad pool size or stride") {
  CHECK_THROWS_WITH_AS(MaxPool2D<float>(0), "MaxPooling2D: expected pool_size >= 1, got 0",
                       nn::ShapeError);
  CHECK_THROWS_WITH_AS(MaxPool2D<float>(2, -2), "MaxPooling2D: expected strides >= 0, got -2",
                       nn::ShapeError);
}

TEST_CASE("MaxPool2D backward needs a training forward") {
  MaxPool2D<float> pool;
  Random rng(0);
  pool.build(Shape{4, 4, 1}, rng);
  Tensor<float> x(Shape{1, 4, 4, 1});
  const Tensor<float> y = pool.forward(x, Mode::Infer);
  CHECK_THROWS_WITH_AS(pool.backward(y),
                       doctest::Contains("MaxPooling2D::backward: expected a forward pass in "
                                         "Mode::Train"),
                       nn::ShapeError);
}

TEST_CASE("MaxPool2D config round-trips through from_config") {
  MaxPool2D<float> pool(3, 2);
  const nn::LayerConfig config = pool.config();
  CHECK(config.text("pool_size") == "3");
  CHECK(config.text("strides") == "2");
  CHECK(config.text("padding") == "valid");
  const auto rebuilt = MaxPool2D<float>::from_config(config);
  CHECK(rebuilt->type() == "MaxPooling2D");
  CHECK(rebuilt->config() == config);
}

TEST_CASE("MaxPool2D from_config rejects same padding") {
  nn::LayerConfig config;
  config.set("pool_size", 2.0);
  config.set("padding", "same");
  CHECK_THROWS_WITH_AS(MaxPool2D<float>::from_config(config),
                       doctest::Contains("MaxPooling2D: key \"padding\" expected \"valid\""),
                       nn::DataError);
}
