#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "nn/core/threads.hpp"
#include "nn/layers/dropout.hpp"
#include "support/gradient_check.hpp"

namespace {

using nn::Dropout;
using nn::Index;
using nn::Mode;
using nn::Random;
using nn::Shape;
using nn::Tensor;

Tensor<double> ramp(const Shape& shape) {
  Tensor<double> x(shape);
  for (Index i = 0; i < x.size(); ++i) x[i] = 1.0 + static_cast<double>(i);
  return x;
}

Dropout<double> built_dropout(double rate, const Shape& input, std::uint64_t seed = 0) {
  Dropout<double> dropout(rate);
  Random rng(seed);
  dropout.build(input, rng);
  return dropout;
}

}  // namespace

TEST_CASE("Dropout is the identity in inference mode") {
  auto dropout = built_dropout(0.5, Shape{4, 5});
  const auto x = ramp(Shape{3, 4, 5});
  const auto& y = dropout.forward(x, Mode::Infer);
  REQUIRE(y.shape() == x.shape());
  for (Index i = 0; i < x.size(); ++i) CHECK(y[i] == x[i]);
}

TEST_CASE("Dropout inference draws nothing from the generator") {
  auto a = built_dropout(0.5, Shape{50}, 3);
  auto b = built_dropout(0.5, Shape{50}, 3);
  const auto x = ramp(Shape{2, 50});
  a.forward(x, Mode::Infer);
  const Tensor<double> after_inference = a.forward(x, Mode::Train);
  const Tensor<double> fresh = b.forward(x, Mode::Train);
  CHECK(after_inference.flat() == fresh.flat());
}

TEST_CASE("Dropout scales kept units by 1 / (1 - rate)") {
  auto dropout = built_dropout(0.75, Shape{200});
  const auto x = ramp(Shape{2, 200});
  const auto& y = dropout.forward(x, Mode::Train);
  Index dropped = 0;
  for (Index i = 0; i < x.size(); ++i) {
    if (y[i] == 0.0) {
      ++dropped;
    } else {
      CHECK(y[i] == doctest::Approx(4.0 * x[i]));
    }
  }
  CHECK(dropped > 0);
  CHECK(dropped < x.size());
}

TEST_CASE("Dropout drops the rate's fraction of units") {
  for (double rate : {0.1, 0.5, 0.8}) {
    CAPTURE(rate);
    auto dropout = built_dropout(rate, Shape{1000}, 17);
    Tensor<double> x(Shape{100, 1000});
    x.fill(1.0);
    const auto& y = dropout.forward(x, Mode::Train);
    Index dropped = 0;
    for (Index i = 0; i < y.size(); ++i) dropped += y[i] == 0.0;
    // The standard deviation of the fraction is at most 0.0016 for 100000 units.
    const double fraction = static_cast<double>(dropped) / static_cast<double>(y.size());
    CHECK(std::abs(fraction - rate) < 0.01);
    // Inverted dropout keeps the mean of the activations.
    CHECK(y.flat().mean() == doctest::Approx(1.0).epsilon(0.05));
  }
}

TEST_CASE("Dropout with rate 0 keeps every unit in training") {
  auto dropout = built_dropout(0.0, Shape{6});
  const auto x = ramp(Shape{2, 6});
  const auto& y = dropout.forward(x, Mode::Train);
  for (Index i = 0; i < x.size(); ++i) CHECK(y[i] == x[i]);
  Tensor<double> dy(Shape{2, 6});
  dy.fill(2.0);
  const auto& dx = dropout.backward(dy);
  for (Index i = 0; i < dx.size(); ++i) CHECK(dx[i] == 2.0);
}

TEST_CASE("Dropout backward drops the same units as forward") {
  auto dropout = built_dropout(0.5, Shape{40});
  const auto x = ramp(Shape{2, 40});
  const Tensor<double> y = dropout.forward(x, Mode::Train);
  Tensor<double> dy(Shape{2, 40});
  dy.fill(1.0);
  const auto& dx = dropout.backward(dy);
  for (Index i = 0; i < x.size(); ++i) {
    CHECK(dx[i] == doctest::Approx(y[i] / x[i]));
  }
}

TEST_CASE("Dropout gradient, training with the draw held fixed") {
  Dropout<double> dropout(0.4);
  nn::test::check_layer_gradients(dropout, Shape{3, 4, 5}, 301);
}

TEST_CASE("Dropout gradient, inference") {
  // Inference keeps nothing for backward, so check d/dx sum(r * y) = r on the forward alone.
  auto dropout = built_dropout(0.4, Shape{6});
  Tensor<double> x = nn::test::random_tensor(Shape{2, 6}, 5);
  const Tensor<double> r = nn::test::random_tensor(Shape{2, 6}, 6);
  auto weighted_output = [&] {
    const auto& y = dropout.forward(x, Mode::Infer);
    double sum = 0;
    for (Index i = 0; i < y.size(); ++i) sum += r[i] * y[i];
    return sum;
  };
  nn::test::check_function_gradients(weighted_output, {{"input", &x, &r}}, 5);
}

TEST_CASE("Dropout reseed repeats the same masks") {
  auto dropout = built_dropout(0.5, Shape{64});
  const auto x = ramp(Shape{2, 64});
  dropout.reseed(99);
  const Tensor<double> first = dropout.forward(x, Mode::Train);
  const Tensor<double> second = dropout.forward(x, Mode::Train);
  dropout.reseed(99);
  const Tensor<double> again = dropout.forward(x, Mode::Train);
  dropout.reseed(100);
  const Tensor<double> other = dropout.forward(x, Mode::Train);
  CHECK(again.flat() == first.flat());
  CHECK(second.flat() != first.flat());
  CHECK(other.flat() != first.flat());
}

TEST_CASE("Dropout masks follow the seed of build") {
  auto a = built_dropout(0.5, Shape{64}, 7);
  auto b = built_dropout(0.5, Shape{64}, 7);
  auto c = built_dropout(0.5, Shape{64}, 8);
  const auto x = ramp(Shape{1, 64});
  const Tensor<double> ya = a.forward(x, Mode::Train);
  CHECK(b.forward(x, Mode::Train).flat() == ya.flat());
  CHECK(c.forward(x, Mode::Train).flat() != ya.flat());
}

TEST_CASE("Dropout masks do not depend on the thread count") {
  const int saved = nn::num_threads();
  Tensor<float> y[2];
  for (int run = 0; run < 2; ++run) {
    nn::set_num_threads(run + 1);
    Dropout<float> dropout(0.3);
    Random rng(12);
    dropout.build(Shape{64, 64, 8}, rng);
    Tensor<float> x(Shape{4, 64, 64, 8});
    x.fill(1.0f);
    y[run] = dropout.forward(x, Mode::Train);
  }
  nn::set_num_threads(saved);
  CHECK(y[0].flat() == y[1].flat());
}

TEST_CASE("Dropout rejects a rate below 0 or from 1 up") {
  CHECK_THROWS_WITH_AS(Dropout<float>(1.0), "Dropout: expected rate in [0, 1), got 1",
                       nn::ShapeError);
  CHECK_THROWS_WITH_AS(Dropout<float>(-0.25), "Dropout: expected rate in [0, 1), got -0.25",
                       nn::ShapeError);
  CHECK_THROWS_WITH_AS(Dropout<float>(std::numeric_limits<double>::quiet_NaN()),
                       "Dropout: expected rate in [0, 1), got nan", nn::ShapeError);
}

TEST_CASE("Dropout backward needs a training forward") {
  auto dropout = built_dropout(0.5, Shape{3});
  const auto x = ramp(Shape{1, 3});
  const Tensor<double> y = dropout.forward(x, Mode::Infer);
  CHECK_THROWS_WITH_AS(dropout.backward(y),
                       doctest::Contains("Dropout::backward: expected a forward pass in "
                                         "Mode::Train"),
                       nn::ShapeError);
}

TEST_CASE("Dropout config round-trips through from_config") {
  Dropout<float> dropout(0.3);
  const nn::LayerConfig config = dropout.config();
  const auto rebuilt = Dropout<float>::from_config(config);
  CHECK(rebuilt->type() == "Dropout");
  CHECK(rebuilt->config() == config);
  CHECK(dynamic_cast<const Dropout<float>&>(*rebuilt).rate() == 0.3);
}
