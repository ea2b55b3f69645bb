#include <doctest/doctest.h>

#include "nn/optimizers/sgd.hpp"

namespace {

struct OneWeight {
  nn::Tensor<double> value{nn::Shape{1}};
  nn::Tensor<double> grad{nn::Shape{1}};

  std::vector<nn::Parameter<double>> parameters() { return {{"bias", &value, &grad}}; }
};

}  // namespace

TEST_CASE("SGD without momentum steps against the gradient") {
  OneWeight p;
  p.value[0] = 1.0;
  p.grad[0] = 2.0;
  nn::SGD<double> sgd(0.1);
  sgd.apply(p.parameters());
  CHECK(p.value[0] == doctest::Approx(0.8));
  CHECK(sgd.state().empty());
  CHECK(sgd.iterations() == 1);
}

TEST_CASE("SGD with momentum matches Keras' velocity update by hand") {
  OneWeight p;
  p.value[0] = 1.0;
  nn::SGD<double> sgd(0.1, 0.9);

  // u = 0.9 u - 0.1 g; w = w + u.  Step 1, g = 2: u = -0.2, w = 0.8.
  p.grad[0] = 2.0;
  sgd.apply(p.parameters());
  CHECK(p.value[0] == doctest::Approx(0.8));
  CHECK(sgd.state()[0][0] == doctest::Approx(-0.2));

  // Step 2, g = 1: u = -0.18 - 0.1 = -0.28, w = 0.52.
  p.grad[0] = 1.0;
  sgd.apply(p.parameters());
  CHECK(p.value[0] == doctest::Approx(0.52));
  CHECK(sgd.state()[0][0] == doctest::Approx(-0.28));
}

TEST_CASE("SGD with Nesterov momentum looks ahead along the velocity") {
  OneWeight p;
  p.value[0] = 1.0;
  nn::SGD<double> sgd(0.1, 0.9, true);

  // u = 0.9 u - 0.1 g; w = w + 0.9 u - 0.1 g.  Step 1, g = 2: u = -0.2, w = 1 - 0.18 - 0.2.
  p.grad[0] = 2.0;
  sgd.apply(p.parameters());
  CHECK(p.value[0] == doctest::Approx(0.62));

  // Step 2, g = 1: u = -0.28, w = 0.62 - 0.252 - 0.1 = 0.268.
  p.grad[0] = 1.0;
  sgd.apply(p.parameters());
  CHECK(p.value[0] == doctest::Approx(0.268));
}

TEST_CASE("SGD rejects invalid hyper-parameters") {
  CHECK_THROWS_WITH_AS(nn::SGD<float>(0.0), "SGD: learning_rate must be > 0, got 0",
                       nn::ShapeError);
  CHECK_THROWS_WITH_AS(nn::SGD<float>(0.1, 1.5), "SGD: momentum must be in [0, 1], got 1.5",
                       nn::ShapeError);
  CHECK_THROWS_WITH_AS(nn::SGD<float>(0.1, -0.1), "SGD: momentum must be in [0, 1], got -0.1",
                       nn::ShapeError);
}

TEST_CASE("SGD round-trips through its configuration") {
  nn::SGD<float> sgd(0.05, 0.9, true);
  const auto rebuilt = nn::SGD<float>::from_config(sgd.config());
  CHECK(rebuilt->config() == sgd.config());
  CHECK(rebuilt->slots_per_parameter() == 1);
}
