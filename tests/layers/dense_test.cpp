#include <doctest/doctest.h>

#include <cmath>

#include "nn/layers/dense.hpp"
#include "support/gradient_check.hpp"

namespace {

using nn::Activation;
using nn::Dense;
using nn::Index;
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

// A Dense [2] -> [3] with kernel [[1, -2, 0.5], [3, 1, -1]] and bias [0.5, 0, -4].
void set_small_weights(Dense<double>& dense) {
  Random rng(1);
  dense.build(Shape{2}, rng);
  auto params = dense.parameters();
  *params[0].value = tensor_of({2, 3}, {1, -2, 0.5, 3, 1, -1});
  if (params.size() > 1) *params[1].value = tensor_of({3}, {0.5, 0, -4});
}

}  // namespace

TEST_CASE("Dense forward computes x times kernel plus bias") {
  Dense<double> dense(3);
  set_small_weights(dense);
  const auto x = tensor_of({2, 2}, {1, 2, -1, 0.5});
  const auto& y = dense.forward(x, Mode::Infer);
  REQUIRE(y.shape() == Shape{2, 3});
  // Row 0 is [1 + 6, -2 + 2, 0.5 - 2] + bias.
  // Row 1 is [-1 + 1.5, 2 + 0.5, -0.5 - 0.5] + bias.
  const double expected[] = {7.5, 0, -5.5, 1.0, 2.5, -5};
  for (Index i = 0; i < 6; ++i) CHECK(y[i] == doctest::Approx(expected[i]));
}

TEST_CASE("Dense with fused ReLU clamps negative outputs to zero") {
  Dense<double> dense(3, Activation::ReLU);
  set_small_weights(dense);
  const auto x = tensor_of({2, 2}, {1, 2, -1, 0.5});
  const auto& y = dense.forward(x, Mode::Infer);
  const double expected[] = {7.5, 0, 0, 1.0, 2.5, 0};
  for (Index i = 0; i < 6; ++i) CHECK(y[i] == doctest::Approx(expected[i]));
}

TEST_CASE("Dense without bias has only a kernel") {
  Dense<double> dense(3, Activation::None, false);
  set_small_weights(dense);
  REQUIRE(dense.parameters().size() == 1);
  CHECK(dense.parameter_count() == 6);
  const auto x = tensor_of({1, 2}, {1, 2});
  const auto& y = dense.forward(x, Mode::Infer);
  CHECK(y[0] == doctest::Approx(7));
  CHECK(y[1] == doctest::Approx(0));
  CHECK(y[2] == doctest::Approx(-1.5));
}

TEST_CASE("Dense gradient, linear with bias") {
  Dense<double> dense(4);
  nn::test::check_layer_gradients(dense, Shape{3, 5}, 11);
}

TEST_CASE("Dense gradient, fused ReLU") {
  Dense<double> dense(6, Activation::ReLU);
  nn::test::check_layer_gradients(dense, Shape{4, 7}, 12);
}

TEST_CASE("Dense gradient, no bias, batch of one") {
  Dense<double> dense(3, Activation::None, false);
  nn::test::check_layer_gradients(dense, Shape{1, 4}, 13);
}

TEST_CASE("Dense backward matches hand-computed gradients") {
  Dense<double> dense(3);
  set_small_weights(dense);
  const auto x = tensor_of({2, 2}, {1, 2, -1, 0.5});
  dense.forward(x, Mode::Train);
  const auto dy = tensor_of({2, 3}, {1, 0, 2, 0, 1, -1});
  const auto& dx = dense.backward(dy);
  // dx = dy kernel^T: row 0 = [1 + 1, 3 - 2], row 1 = [-2 - 0.5, 1 + 1].
  CHECK(dx[0] == doctest::Approx(2));
  CHECK(dx[1] == doctest::Approx(1));
  CHECK(dx[2] == doctest::Approx(-2.5));
  CHECK(dx[3] == doctest::Approx(2));
  auto params = dense.parameters();
  // dkernel = x^T dy = [[1, -1, 3], [2, 0.5, 3.5]]; dbias = [1, 1, 1].
  const double dkernel[] = {1, -1, 3, 2, 0.5, 3.5};
  for (Index i = 0; i < 6; ++i) CHECK((*params[0].grad)[i] == doctest::Approx(dkernel[i]));
  for (Index i = 0; i < 3; ++i) CHECK((*params[1].grad)[i] == doctest::Approx(1));
}

TEST_CASE("Dense output shape is the number of units") {
  Dense<float> dense(128);
  Random rng(0);
  CHECK(dense.build(Shape{30976}, rng) == Shape{128});
}

TEST_CASE("Dense parameter counts match Keras") {
  Random rng(0);
  Dense<float> hidden(128, Activation::ReLU);
  hidden.build(Shape{30976}, rng);
  CHECK(hidden.parameter_count() == 3965056);
  Dense<float> logits(23);
  logits.build(Shape{128}, rng);
  CHECK(logits.parameter_count() == 2967);
}

TEST_CASE("Dense kernel is Glorot-uniform and bias is zero") {
  Dense<double> dense(30);
  Random rng(5);
  dense.build(Shape{20}, rng);
  auto params = dense.parameters();
  const double limit = std::sqrt(6.0 / 50.0);
  double largest = 0;
  for (Index i = 0; i < params[0].value->size(); ++i) {
    largest = std::max(largest, std::abs((*params[0].value)[i]));
  }
  CHECK(largest <= limit);
  CHECK(largest > 0.9 * limit);
  for (Index i = 0; i < params[1].value->size(); ++i) CHECK((*params[1].value)[i] == 0.0);
}

TEST_CASE("Dense with the same seed gets the same kernel") {
  Dense<float> a(8), b(8), c(8);
  Random rng_a(42), rng_b(42), rng_c(43);
  a.build(Shape{5}, rng_a);
  b.build(Shape{5}, rng_b);
  c.build(Shape{5}, rng_c);
  const auto& ka = *a.parameters()[0].value;
  const auto& kb = *b.parameters()[0].value;
  const auto& kc = *c.parameters()[0].value;
  bool all_same = true, any_differs = false;
  for (Index i = 0; i < ka.size(); ++i) {
    all_same = all_same && ka[i] == kb[i];
    any_differs = any_differs || ka[i] != kc[i];
  }
  CHECK(all_same);
  CHECK(any_differs);
}

TEST_CASE("Dense rejects an unflattened input with a hint") {
  Dense<float> dense(128);
  Random rng(0);
  CHECK_THROWS_WITH_AS(dense.build(Shape{22, 22, 64}, rng),
                       "Dense: expected input [F] (rank 1), got [22, 22, 64]; add a Flatten "
                       "layer before Dense",
                       nn::ShapeError);
}

TEST_CASE("Dense rejects zero units") {
  CHECK_THROWS_WITH_AS(Dense<float>(0), "Dense: expected units >= 1, got 0", nn::ShapeError);
}

TEST_CASE("Dense forward rejects a batch of the wrong width") {
  Dense<float> dense(4);
  Random rng(0);
  dense.build(Shape{4096}, rng);
  Tensor<float> x(Shape{32, 1024});
  CHECK_THROWS_WITH_AS(dense.forward(x, Mode::Infer),
                       doctest::Contains("Dense::forward: expected input [N, 4096] with N >= 1, "
                                         "got [32, 1024]"),
                       nn::ShapeError);
}

TEST_CASE("Dense forward before build is rejected") {
  Dense<float> dense(4);
  Tensor<float> x(Shape{1, 3});
  CHECK_THROWS_WITH_AS(dense.forward(x, Mode::Infer),
                       doctest::Contains("Dense::forward: expected a built layer"),
                       nn::ShapeError);
}

TEST_CASE("Dense backward rejects a missing forward or a bad dy") {
  Dense<float> dense(4);
  Random rng(0);
  dense.build(Shape{3}, rng);
  Tensor<float> x(Shape{2, 3});
  Tensor<float> dy(Shape{2, 4});
  dense.forward(x, Mode::Infer);
  CHECK_THROWS_WITH_AS(dense.backward(dy),
                       doctest::Contains("Dense::backward: expected a forward pass in "
                                         "Mode::Train"),
                       nn::ShapeError);
  dense.forward(x, Mode::Train);
  Tensor<float> wrong(Shape{2, 5});
  CHECK_THROWS_WITH_AS(dense.backward(wrong),
                       "Dense::backward: expected dy of the last output's shape [2, 4], got "
                       "[2, 5]",
                       nn::ShapeError);
}

TEST_CASE("Dense config round-trips through from_config") {
  Dense<float> dense(23, Activation::ReLU, false);
  const nn::LayerConfig config = dense.config();
  CHECK(config.text("units") == "23");
  CHECK(config.text("activation") == "relu");
  CHECK(config.text("use_bias") == "false");
  const auto rebuilt = Dense<float>::from_config(config);
  CHECK(rebuilt->type() == "Dense");
  CHECK(rebuilt->config() == config);
}

TEST_CASE("Dense from_config rejects a bad value") {
  nn::LayerConfig config;
  config.set("units", 2.5);
  CHECK_THROWS_WITH_AS(Dense<float>::from_config(config),
                       "Dense: key \"units\" expected a whole number >= 1, got \"2.5\"",
                       nn::DataError);
  nn::LayerConfig activation;
  activation.set("units", 3.0);
  activation.set("activation", "tanh");
  CHECK_THROWS_WITH_AS(Dense<float>::from_config(activation),
                       "Dense: key \"activation\" expected \"relu\" or \"linear\", got \"tanh\"",
                       nn::DataError);
}
