#include <doctest/doctest.h>

#include "nn/layers/relu.hpp"
#include "support/gradient_check.hpp"

using nn::Index;
using nn::Mode;
using nn::Random;
using nn::ReLU;
using nn::Shape;
using nn::Tensor;

TEST_CASE("ReLU clamps negative values to zero") {
  ReLU<double> relu;
  Random rng(0);
  CHECK(relu.build(Shape{4}, rng) == Shape{4});
  Tensor<double> x(Shape{1, 4});
  x[0] = -2;
  x[1] = 0;
  x[2] = 0.25;
  x[3] = 3;
  const auto& y = relu.forward(x, Mode::Infer);
  CHECK(y[0] == 0);
  CHECK(y[1] == 0);
  CHECK(y[2] == 0.25);
  CHECK(y[3] == 3);
}

TEST_CASE("ReLU passes the gradient only where the input is positive") {
  ReLU<double> relu;
  Random rng(0);
  relu.build(Shape{4}, rng);
  Tensor<double> x(Shape{1, 4});
  x[0] = -2;
  x[1] = 0;
  x[2] = 0.25;
  x[3] = 3;
  relu.forward(x, Mode::Train);
  Tensor<double> dy(Shape{1, 4});
  dy.fill(5);
  const auto& dx = relu.backward(dy);
  CHECK(dx[0] == 0);
  CHECK(dx[1] == 0);
  CHECK(dx[2] == 5);
  CHECK(dx[3] == 5);
}

TEST_CASE("ReLU gradient, image batch") {
  ReLU<double> relu;
  nn::test::check_layer_gradients(relu, Shape{2, 3, 3, 2}, 31);
}

TEST_CASE("ReLU rejects a rank-0 input") {
  ReLU<float> relu;
  Random rng(0);
  CHECK_THROWS_WITH_AS(relu.build(Shape{}, rng), "ReLU: expected input of rank >= 1, got []",
                       nn::ShapeError);
}

TEST_CASE("ReLU rejects an input with a zero extent") {
  ReLU<float> relu;
  Random rng(0);
  CHECK_THROWS_WITH_AS(relu.build(Shape{4, 0, 3}, rng),
                       "ReLU: expected an input shape with positive extents, got [4, 0, 3]",
                       nn::ShapeError);
}

TEST_CASE("ReLU config round-trips through from_config") {
  ReLU<float> relu;
  const auto rebuilt = ReLU<float>::from_config(relu.config());
  CHECK(rebuilt->type() == "ReLU");
  CHECK(rebuilt->config() == relu.config());
}
