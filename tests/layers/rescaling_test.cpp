#include <doctest/doctest.h>

#include <limits>

#include "nn/layers/rescaling.hpp"
#include "support/gradient_check.hpp"

using nn::Index;
using nn::Mode;
using nn::Random;
using nn::Rescaling;
using nn::Shape;
using nn::Tensor;

TEST_CASE("Rescaling maps pixels from 0..255 to 0..1") {
  Rescaling<float> rescaling(1.0 / 255.0);
  Random rng(0);
  CHECK(rescaling.build(Shape{2, 2, 3}, rng) == Shape{2, 2, 3});
  CHECK(rescaling.parameter_count() == 0);
  Tensor<float> x(Shape{1, 2, 2, 3});
  for (Index i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i * 23);
  const auto& y = rescaling.forward(x, Mode::Infer);
  for (Index i = 0; i < y.size(); ++i) {
    CHECK(y[i] == doctest::Approx(static_cast<double>(i * 23) / 255.0));
  }
}

TEST_CASE("Rescaling adds the offset after scaling") {
  Rescaling<double> rescaling(1.0 / 127.5, -1.0);
  Random rng(0);
  rescaling.build(Shape{3}, rng);
  Tensor<double> x(Shape{1, 3});
  x[0] = 0;
  x[1] = 127.5;
  x[2] = 255;
  const auto& y = rescaling.forward(x, Mode::Train);
  CHECK(y[0] == doctest::Approx(-1));
  CHECK(y[1] == doctest::Approx(0));
  CHECK(y[2] == doctest::Approx(1));
}

TEST_CASE("Rescaling gradient, scale and offset") {
  Rescaling<double> rescaling(-0.75, 2.0);
  nn::test::check_layer_gradients(rescaling, Shape{2, 2, 3, 2}, 41);
}

TEST_CASE("Rescaling rejects a non-finite scale") {
  CHECK_THROWS_WITH_AS(Rescaling<float>(std::numeric_limits<double>::infinity()),
                       doctest::Contains("Rescaling: expected finite scale and offset, got "
                                         "scale = inf"),
                       nn::ShapeError);
  // Both values print as written, not rounded to six decimals.
  CHECK_THROWS_WITH_AS(Rescaling<float>(1e-9, std::numeric_limits<double>::quiet_NaN()),
                       "Rescaling: expected finite scale and offset, got scale = 1e-09, "
                       "offset = nan",
                       nn::ShapeError);
}

TEST_CASE("Rescaling forward rejects a sample of another shape") {
  Rescaling<float> rescaling(2.0);
  Random rng(0);
  rescaling.build(Shape{64, 64, 3}, rng);
  Tensor<float> x(Shape{32, 64, 64, 1});
  CHECK_THROWS_WITH_AS(rescaling.forward(x, Mode::Infer),
                       "Rescaling::forward: expected input [N, 64, 64, 3] with N >= 1, got "
                       "[32, 64, 64, 1]",
                       nn::ShapeError);
}

TEST_CASE("Rescaling config round-trips through from_config") {
  Rescaling<float> rescaling(1.0 / 255.0, 0.125);
  const nn::LayerConfig config = rescaling.config();
  const auto rebuilt = Rescaling<float>::from_config(config);
  CHECK(rebuilt->type() == "Rescaling");
  CHECK(rebuilt->config() == config);
  const auto& copy = dynamic_cast<const Rescaling<float>&>(*rebuilt);
  CHECK(copy.scale() == 1.0 / 255.0);
  CHECK(copy.offset() == 0.125);
}

TEST_CASE("Rescaling from_config defaults the offset to zero") {
  nn::LayerConfig config;
  config.set("scale", 0.5);
  const auto rebuilt = Rescaling<float>::from_config(config);
  CHECK(dynamic_cast<const Rescaling<float>&>(*rebuilt).offset() == 0.0);
}
