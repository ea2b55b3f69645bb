#include <doctest/doctest.h>

#include "nn/layers/flatten.hpp"
#include "support/gradient_check.hpp"

using nn::Flatten;
using nn::Index;
using nn::Mode;
using nn::Random;
using nn::Shape;
using nn::Tensor;

TEST_CASE("Flatten turns [H, W, C] into [H*W*C]") {
  Flatten<float> flatten;
  Random rng(0);
  CHECK(flatten.build(Shape{22, 22, 64}, rng) == Shape{30976});
  CHECK(flatten.parameter_count() == 0);
}

TEST_CASE("Flatten keeps the row-major order of each sample") {
  Flatten<double> flatten;
  Random rng(0);
  flatten.build(Shape{2, 2, 3}, rng);
  Tensor<double> x(Shape{2, 2, 2, 3});
  for (Index i = 0; i < x.size(); ++i) x[i] = static_cast<double>(i);
  const auto& y = flatten.forward(x, Mode::Infer);
  REQUIRE(y.shape() == Shape{2, 12});
  for (Index i = 0; i < y.size(); ++i) CHECK(y[i] == static_cast<double>(i));
}

TEST_CASE("Flatten backward restores the input shape") {
  Flatten<double> flatten;
  Random rng(0);
  flatten.build(Shape{3, 1, 2}, rng);
  Tensor<double> x(Shape{2, 3, 1, 2});
  flatten.forward(x, Mode::Train);
  Tensor<double> dy(Shape{2, 6});
  for (Index i = 0; i < dy.size(); ++i) dy[i] = 0.5 * static_cast<double>(i);
  const auto& dx = flatten.backward(dy);
  REQUIRE(dx.shape() == Shape{2, 3, 1, 2});
  for (Index i = 0; i < dx.size(); ++i) CHECK(dx[i] == 0.5 * static_cast<double>(i));
}

TEST_CASE("Flatten gradient, rank-3 samples") {
  Flatten<double> flatten;
  nn::test::check_layer_gradients(flatten, Shape{2, 3, 2, 2}, 21);
}

TEST_CASE("Flatten rejects a rank-0 input") {
  Flatten<float> flatten;
  Random rng(0);
  CHECK_THROWS_WITH_AS(flatten.build(Shape{}, rng),
                       "Flatten: expected input of rank >= 1, got []", nn::ShapeError);
}

TEST_CASE("Flatten forward rejects a sample of another shape") {
  Flatten<float> flatten;
  Random rng(0);
  flatten.build(Shape{4, 4, 2}, rng);
  Tensor<float> x(Shape{8, 4, 4, 3});
  CHECK_THROWS_WITH_AS(flatten.forward(x, Mode::Infer),
                       "Flatten::forward: expected input [N, 4, 4, 2] with N >= 1, got "
                       "[8, 4, 4, 3]",
                       nn::ShapeError);
}

TEST_CASE("Flatten config round-trips through from_config") {
  Flatten<float> flatten;
  const auto rebuilt = Flatten<float>::from_config(flatten.config());
  CHECK(rebuilt->type() == "Flatten");
  CHECK(rebuilt->config() == flatten.config());
}
