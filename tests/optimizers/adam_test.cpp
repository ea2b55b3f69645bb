#include <doctest/doctest.h>

#include <cmath>

#include "nn/optimizers/adam.hpp"

namespace {

// One parameter tensor with its gradient, as a layer would expose it.
struct TwoWeights {
  nn::Tensor<double> value{nn::Shape{2}};
  nn::Tensor<double> grad{nn::Shape{2}};

  std::vector<nn::Parameter<double>> parameters() { return {{"kernel", &value, &grad}}; }
};

}  // namespace

TEST_CASE("Adam has Keras' default hyper-parameters") {
  nn::Adam<float> adam;
  CHECK(adam.learning_rate() == 1e-3);
  CHECK(adam.beta1() == 0.9);
  CHECK(adam.beta2() == 0.999);
  CHECK(adam.epsilon() == 1e-7);
  CHECK(adam.type() == "Adam");
}

TEST_CASE("Adam's first two steps match values computed by hand") {
  TwoWeights p;
  p.value[0] = 1.0;
  p.value[1] = -2.0;
  nn::Adam<double> adam;

  // Step 1, g = (0.5, -1): m = 0.1 g = (0.05, -0.1), v = 0.001 g^2 = (0.00025, 0.001),
  // alpha = 1e-3 * sqrt(1 - 0.999) / (1 - 0.9) = 3.1622776601683816e-4,
  // w -= alpha * m / (sqrt(v) + 1e-7): 1 - 0.001 * 0.0158113883 / 0.0158114883 and
  // -2 + 0.001 * 0.0316227766 / 0.0316228766.
  p.grad[0] = 0.5;
  p.grad[1] = -1.0;
  adam.apply(p.parameters());
  CHECK(p.value[0] == doctest::Approx(0.99900000632451535).epsilon(1e-14));
  CHECK(p.value[1] == doctest::Approx(-1.9990000031622677).epsilon(1e-14));
  CHECK(adam.iterations() == 1);
  CHECK(adam.state()[0][0] == doctest::Approx(0.05).epsilon(1e-14));
  CHECK(adam.state()[1][1] == doctest::Approx(0.001).epsilon(1e-14));

  // Step 2, g = (-0.25, 0.5): m = 0.9 m + 0.1 g = (0.02, -0.04),
  // v = 0.999 v + 0.001 g^2 = (0.00031225, 0.001249),
  // alpha = 1e-3 * sqrt(1 - 0.999^2) / (1 - 0.9^2) = 2.3531672532745276e-4.
  p.grad[0] = -0.25;
  p.grad[1] = 0.5;
  adam.apply(p.parameters());
  CHECK(adam.state()[0][0] == doctest::Approx(0.02).epsilon(1e-14));
  CHECK(adam.state()[1][0] == doctest::Approx(0.00031225).epsilon(1e-14));
  CHECK(p.value[0] == doctest::Approx(0.9987336707920792).epsilon(1e-14));
  CHECK(p.value[1] == doctest::Approx(-1.9987336668762214).epsilon(1e-14));
  CHECK(adam.iterations() == 2);
}

TEST_CASE("Adam keeps two state tensors shaped like each parameter") {
  TwoWeights p;
  nn::Adam<float> adam_float;
  nn::Adam<double> adam;
  adam.apply(p.parameters());
  REQUIRE(adam.state().size() == 2);
  CHECK(adam.state()[0].shape() == nn::Shape{2});
  CHECK(adam.state()[1].shape() == nn::Shape{2});
  CHECK(adam.slots_per_parameter() == 2);
}

TEST_CASE("Adam rejects parameters that differ from those of its state") {
  TwoWeights p;
  nn::Adam<double> adam;
  adam.apply(p.parameters());
  nn::Tensor<double> other(nn::Shape{3});
  nn::Tensor<double> other_grad(nn::Shape{3});
  CHECK_THROWS_WITH_AS(adam.apply({{"kernel", &other, &other_grad}}),
                       doctest::Contains("parameter 0 \"kernel\" expected shape [2], got [3]"),
                       nn::ShapeError);
}

TEST_CASE("Adam rejects invalid hyper-parameters") {
  CHECK_THROWS_WITH_AS(nn::Adam<float>(-0.001), "Adam: learning_rate must be > 0, got -0.001",
                       nn::ShapeError);
  CHECK_THROWS_WITH_AS(nn::Adam<float>(1e-3, 1.0), "Adam: beta1 must be in [0, 1), got 1",
                       nn::ShapeError);
  CHECK_THROWS_WITH_AS(nn::Adam<float>(1e-3, 0.9, -0.5), "Adam: beta2 must be in [0, 1), got -0.5",
                       nn::ShapeError);
  CHECK_THROWS_WITH_AS(nn::Adam<float>(1e-3, 0.9, 0.999, 0.0),
                       "Adam: epsilon must be > 0, got 0", nn::ShapeError);
  CHECK_THROWS_WITH_AS(nn::Adam<float>(std::nan("")), doctest::Contains("learning_rate"),
                       nn::ShapeError);
  nn::Adam<float> adam;
  CHECK_THROWS_AS(adam.set_learning_rate(0.0), nn::ShapeError);
}

TEST_CASE("Adam round-trips through its configuration") {
  nn::Adam<double> adam(0.01, 0.8, 0.99, 1e-8);
  const auto rebuilt = nn::Adam<double>::from_config(adam.config());
  CHECK(rebuilt->type() == "Adam");
  CHECK(rebuilt->config() == adam.config());
}
