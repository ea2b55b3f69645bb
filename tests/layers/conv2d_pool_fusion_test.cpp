// Tests of Conv2D running fused with the MaxPool2D after it (forward_with_next and
// backward_with_next), and of skipping the input gradient of a model's first trainable layer.

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "nn/layers/conv2d.hpp"
#include "nn/layers/dense.hpp"
#include "nn/layers/flatten.hpp"
#include "nn/layers/max_pool2d.hpp"
#include "nn/layers/rescaling.hpp"
#include "nn/losses/softmax_cross_entropy.hpp"
#include "nn/model/sequential.hpp"
#include "nn/optimizers/adam.hpp"
#include "support/gradient_check.hpp"

namespace {

using nn::Activation;
using nn::Index;
using nn::Padding;

/// A Conv2D and MaxPool2D pair built for per-sample input `shape` from a fixed seed.
struct Pair {
  nn::Conv2D<float> conv;
  nn::MaxPool2D<float> pool;

  Pair(const nn::Shape& shape, Index filters, Index pool_size, Activation activation)
      : conv(filters, 3, Padding::Same, activation), pool(pool_size) {
    nn::Random rng(5);
    pool.build(conv.build(shape, rng), rng);
  }
};

nn::Tensor<float> random_batch(const nn::Shape& shape, std::uint64_t seed) {
  nn::Random rng(seed);
  nn::Tensor<float> t(shape);
  for (Index i = 0; i < t.size(); ++i) t[i] = static_cast<float>(rng.uniform(-1.0, 1.0));
  return t;
}

void check_fused_pair(const nn::Shape& shape, Index filters, Index pool_size,
                      Activation activation) {
  Pair separate(shape, filters, pool_size, activation);
  Pair fused(shape, filters, pool_size, activation);
  const nn::Tensor<float> x = random_batch(shape.with_batch(3), 11);

  const nn::Tensor<float> y = separate.pool.forward(separate.conv.forward(x, nn::Mode::Train),
                                                    nn::Mode::Train);
  const nn::Tensor<float>* y_fused = fused.conv.forward_with_next(x, fused.pool, nn::Mode::Train);
  REQUIRE(y_fused != nullptr);
  CHECK(y_fused->shape() == y.shape());
  CHECK(y_fused->flat() == y.flat());

  const nn::Tensor<float> dy = random_batch(y.shape(), 12);
  const nn::Tensor<float> dx = separate.conv.backward(separate.pool.backward(dy));
  const nn::Tensor<float>& dx_fused = fused.conv.backward_with_next(dy, fused.pool);
  CHECK(dx_fused.flat() == dx.flat());
  const auto expected = separate.conv.parameters();
  const auto actual = fused.conv.parameters();
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("parameter " << expected[i].name);
    CHECK(actual[i].grad->flat() == expected[i].grad->flat());
  }
}

}  // namespace

TEST_CASE("Conv2D fused with MaxPool2D equals the two layers run one after the other") {
  SUBCASE("fused ReLU, RGB input, 2x2 windows") {
    check_fused_pair(nn::Shape{10, 12, 3}, 16, 2, Activation::ReLU);
  }
  SUBCASE("odd sizes leave a row and a column outside every window") {
    check_fused_pair(nn::Shape{9, 7, 4}, 20, 2, Activation::ReLU);
  }
  SUBCASE("no activation, 3x3 windows") {
    check_fused_pair(nn::Shape{9, 9, 2}, 5, 3, Activation::None);
  }
}

TEST_CASE("Conv2D does not fuse with overlapping pooling windows or other layers") {
  nn::Conv2D<float> conv(4, 3, Padding::Same, Activation::ReLU);
  nn::MaxPool2D<float> overlapping(3, 2);
  nn::Dense<float> dense(3);
  nn::Random rng(1);
  const nn::Shape out = conv.build(nn::Shape{8, 8, 2}, rng);
  overlapping.build(out, rng);
  const nn::Tensor<float> x = random_batch(nn::Shape{2, 8, 8, 2}, 3);
  CHECK(conv.forward_with_next(x, overlapping, nn::Mode::Train) == nullptr);
  CHECK(conv.forward_with_next(x, dense, nn::Mode::Train) == nullptr);
}

TEST_CASE("Conv2D skips only the input gradient when it is not needed") {
  Pair needed(nn::Shape{8, 8, 3}, 8, 2, Activation::ReLU);
  Pair skipped(nn::Shape{8, 8, 3}, 8, 2, Activation::ReLU);
  skipped.conv.set_input_gradient_needed(false);
  const nn::Tensor<float> x = random_batch(nn::Shape{2, 8, 8, 3}, 4);
  const nn::Tensor<float> dy = random_batch(nn::Shape{2, 8, 8, 8}, 5);
  needed.conv.forward(x, nn::Mode::Train);
  skipped.conv.forward(x, nn::Mode::Train);
  needed.conv.backward(dy);
  skipped.conv.backward(dy);
  const auto expected = needed.conv.parameters();
  const auto actual = skipped.conv.parameters();
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK(actual[i].grad->flat() == expected[i].grad->flat());
  }
}

TEST_CASE("Dense skips only the input gradient when it is not needed") {
  nn::Dense<float> needed(6, Activation::ReLU), skipped(6, Activation::ReLU);
  nn::Random rng_a(2), rng_b(2);
  needed.build(nn::Shape{40}, rng_a);
  skipped.build(nn::Shape{40}, rng_b);
  skipped.set_input_gradient_needed(false);
  const nn::Tensor<float> x = random_batch(nn::Shape{3, 40}, 6);
  const nn::Tensor<float> dy = random_batch(nn::Shape{3, 6}, 7);
  needed.forward(x, nn::Mode::Train);
  skipped.forward(x, nn::Mode::Train);
  needed.backward(dy);
  skipped.backward(dy);
  CHECK(skipped.parameters()[0].grad->flat() == needed.parameters()[0].grad->flat());
  CHECK(skipped.parameters()[1].grad->flat() == needed.parameters()[1].grad->flat());
}

TEST_CASE("Sequential gradient through fused Conv2D and MaxPool2D matches finite differences") {
  // Conv2D with its fused ReLU directly before MaxPool2D, so the model runs the pair fused.
  nn::Sequential<double> model({6, 7, 2}, 13,
                               nn::Conv2D<double>(3, 3, Padding::Same, Activation::ReLU),
                               nn::MaxPool2D<double>(2), nn::Flatten<double>(),
                               nn::Dense<double>(4));
  // Distinct inputs keep the max-pool windows and the ReLU away from their kinks.
  nn::Tensor<double> x = nn::test::distinct_tensor(nn::Shape{2, 6, 7, 2}, 41, 0.013);
  const std::vector<std::int32_t> labels{3, 0};
  nn::SoftmaxCrossEntropy<double> loss;

  model.zero_gradients();
  loss.forward(model.forward(x, nn::Mode::Train), labels);
  const nn::Tensor<double> dx = model.backward(loss.gradient());

  std::vector<nn::test::GradientVariable> variables{{"input", &x, &dx}};
  for (const auto& p : model.parameters()) variables.push_back({p.name, p.value, p.grad});
  REQUIRE(variables.size() == 5);
  nn::test::check_function_gradients(
      [&] { return nn::SoftmaxCrossEntropy<double>::loss(model.forward(x, nn::Mode::Train),
                                                         labels); },
      variables, 41);
}

TEST_CASE("Sequential training step skips the first layer's input gradient, not its update") {
  // Two identical models: one trained through train_on_batch, which skips the first
  // convolution's input gradient, one through forward, backward and the optimizer by hand.
  auto make = [] {
    nn::Sequential<float> model({8, 8, 3}, 3, nn::Rescaling<float>(0.5),
                                nn::Conv2D<float>(4, 3, Padding::Same, Activation::ReLU),
                                nn::MaxPool2D<float>(2), nn::Flatten<float>(),
                                nn::Dense<float>(3));
    model.compile(nn::Adam<float>());
    return model;
  };
  auto fast = make();
  auto reference = make();
  const nn::Tensor<float> x = random_batch(nn::Shape{4, 8, 8, 3}, 8);
  const std::vector<std::int32_t> labels{0, 1, 2, 1};

  fast.train_on_batch(x, labels);
  nn::SoftmaxCrossEntropy<float> loss;
  reference.zero_gradients();
  loss.forward(reference.forward(x, nn::Mode::Train), labels);
  reference.backward(loss.gradient());
  reference.optimizer().apply(reference.parameters());

  const auto a = fast.parameters();
  const auto b = reference.parameters();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO("parameter " << i);
    CHECK(a[i].value->flat() == b[i].value->flat());
  }
}
