#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "nn/layers/layer.hpp"
#include "support/gradient_check.hpp"

namespace {

using nn::Index;
using nn::Mode;
using nn::Random;
using nn::Shape;
using nn::Tensor;

// y = w * x^2 element-wise, with a scalar weight w; a `Fault` breaks one gradient on purpose.
class SquareLayer : public nn::Layer<double> {
 public:
  enum class Fault { None, InputGradient, WeightGradient, Overwrites };

  explicit SquareLayer(Fault fault) : fault_(fault) {}

  std::string type() const override { return "Square"; }

  Shape build(const Shape& input_shape, Random& /*rng*/) override {
    w_.resize({1});
    w_[0] = 1.5;
    dw_.resize({1});
    return input_shape;
  }

  const Tensor<double>& forward(const Tensor<double>& x, Mode /*mode*/) override {
    x_ = x;
    y_.resize(x.shape());
    for (Index i = 0; i < x.size(); ++i) y_[i] = w_[0] * x[i] * x[i];
    return y_;
  }

  const Tensor<double>& backward(const Tensor<double>& dy) override {
    dx_.resize(dy.shape());
    double dw = 0;
    for (Index i = 0; i < dy.size(); ++i) {
      dx_[i] = 2 * w_[0] * x_[i] * dy[i];
      dw += x_[i] * x_[i] * dy[i];
    }
    if (fault_ == Fault::InputGradient) dx_[1] *= 1.01;
    if (fault_ == Fault::WeightGradient) dw *= 1.01;
    if (fault_ == Fault::Overwrites) {
      dw_[0] = dw;
    } else {
      dw_[0] += dw;
    }
    return dx_;
  }

  std::vector<nn::Parameter<double>> parameters() override { return {{"w", &w_, &dw_}}; }
  nn::LayerConfig config() const override { return {}; }

 private:
  Fault fault_;
  Tensor<double> w_, dw_, x_, y_, dx_;
};

}  // namespace

TEST_CASE("Gradient check passes a correct layer") {
  SquareLayer layer(SquareLayer::Fault::None);
  const auto result = nn::test::gradient_check_layer(layer, Shape{2, 3}, 7);
  CHECK_MESSAGE(result.passed(), result.report());
  CHECK(result.checked == 7);
}

TEST_CASE("Gradient check catches a wrong input gradient") {
  SquareLayer layer(SquareLayer::Fault::InputGradient);
  const auto result = nn::test::gradient_check_layer(layer, Shape{2, 3}, 7);
  CHECK_FALSE(result.passed());
  REQUIRE(result.mismatches.size() == 1);
  CHECK(result.mismatches[0].tensor == "input");
  CHECK(result.mismatches[0].element == 1);
  CHECK(result.report().find("d/d input [2, 3] at [0, 1]") != std::string::npos);
  CHECK(result.report().find("seed 7") != std::string::npos);
}

TEST_CASE("Gradient check catches a wrong parameter gradient") {
  SquareLayer layer(SquareLayer::Fault::WeightGradient);
  const auto result = nn::test::gradient_check_layer(layer, Shape{2, 3}, 7);
  CHECK_FALSE(result.passed());
  REQUIRE(result.mismatches.size() == 1);
  CHECK(result.mismatches[0].tensor == "w");
}

TEST_CASE("Gradient check catches a backward that overwrites instead of adding") {
  SquareLayer layer(SquareLayer::Fault::Overwrites);
  const auto result = nn::test::gradient_check_layer(layer, Shape{2, 3}, 7);
  CHECK_FALSE(result.passed());
  REQUIRE(result.failures.size() == 1);
  CHECK(result.failures[0].find("does not accumulate into w") != std::string::npos);
}

TEST_CASE("Gradient check of a function compares with central differences") {
  Tensor<double> v(Shape{3});
  v[0] = 0.5;
  v[1] = -1;
  v[2] = 2;
  // f(v) = sum(sin(v)), so df/dv = cos(v).
  auto f = [&] {
    double s = 0;
    for (Index i = 0; i < v.size(); ++i) s += std::sin(v[i]);
    return s;
  };
  Tensor<double> right(Shape{3}), wrong(Shape{3});
  for (Index i = 0; i < 3; ++i) right[i] = std::cos(v[i]);
  wrong = right;
  wrong[2] += 1e-3;
  nn::test::check_function_gradients(f, {{"v", &v, &right}}, 1);
  const auto result = nn::test::gradient_check_function(f, {{"v", &v, &wrong}}, 1);
  CHECK_FALSE(result.passed());
  CHECK(v[2] == 2);  // the checker restores every perturbed value
}

TEST_CASE("Distinct tensors keep every pair of values apart") {
  const Tensor<double> t = nn::test::distinct_tensor(Shape{2, 4, 4, 3}, 5, 0.01);
  std::vector<double> values(t.data(), t.data() + t.size());
  std::sort(values.begin(), values.end());
  for (std::size_t i = 1; i < values.size(); ++i) {
    CHECK(values[i] - values[i - 1] == doctest::Approx(0.01));
  }
}
