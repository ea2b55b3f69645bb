#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "nn/losses/softmax_cross_entropy.hpp"
#include "support/gradient_check.hpp"

namespace {

nn::Tensor<double> make_logits(nn::Index n, nn::Index classes, std::vector<double> values) {
  nn::Tensor<double> t(nn::Shape{n, classes});
  for (nn::Index i = 0; i < t.size(); ++i) t[i] = values[static_cast<std::size_t>(i)];
  return t;
}

}  // namespace

TEST_CASE("SoftmaxCrossEntropy of equal logits is log of the class count") {
  nn::SoftmaxCrossEntropy<double> loss;
  const auto logits = make_logits(1, 2, {0.0, 0.0});
  CHECK(loss.forward(logits, {0}) == doctest::Approx(std::log(2.0)).epsilon(1e-15));
}

TEST_CASE("SoftmaxCrossEntropy matches a hand-computed value and gradient") {
  // Row [1, 2, 3] with label 2: loss = log(e + e^2 + e^3) - 3 = 0.40760596444438.
  // Softmax = [0.09003057, 0.24472847, 0.66524096]; gradient = softmax - onehot(2).
  nn::SoftmaxCrossEntropy<double> loss;
  const auto logits = make_logits(1, 3, {1.0, 2.0, 3.0});
  CHECK(loss.forward(logits, {2}) == doctest::Approx(0.40760596444438).epsilon(1e-12));
  const auto& g = loss.gradient();
  CHECK(g.shape() == nn::Shape{1, 3});
  CHECK(g[0] == doctest::Approx(0.0900305731703805).epsilon(1e-12));
  CHECK(g[1] == doctest::Approx(0.2447284710547976).epsilon(1e-12));
  CHECK(g[2] == doctest::Approx(0.6652409557748219 - 1.0).epsilon(1e-12));
}

TEST_CASE("SoftmaxCrossEntropy averages over the batch") {
  nn::SoftmaxCrossEntropy<double> loss;
  const auto logits = make_logits(2, 2, {0.0, 0.0, 5.0, 5.0});
  CHECK(loss.forward(logits, {0, 1}) == doctest::Approx(std::log(2.0)));
  CHECK(loss.last_loss_sum() == doctest::Approx(2.0 * std::log(2.0)));
  // Each row's gradient is divided by N = 2.
  CHECK(loss.gradient()[0] == doctest::Approx(-0.25));
  CHECK(loss.gradient()[1] == doctest::Approx(0.25));
}

TEST_CASE("SoftmaxCrossEntropy gradient matches finite differences") {
  nn::Tensor<double> logits = nn::test::random_tensor(nn::Shape{4, 5}, 11, -3.0, 3.0);
  const std::vector<std::int32_t> labels{0, 4, 2, 2};
  nn::SoftmaxCrossEntropy<double> loss;
  loss.forward(logits, labels);
  const nn::Tensor<double> analytic = loss.gradient();
  nn::test::check_function_gradients(
      [&] { return nn::SoftmaxCrossEntropy<double>::loss(logits, labels); },
      {{"logits", &logits, &analytic}}, 11);
}

TEST_CASE("SoftmaxCrossEntropy stays finite for logits of plus and minus 1e4") {
  SUBCASE("double") {
    nn::SoftmaxCrossEntropy<double> loss;
    const auto logits = make_logits(2, 3, {1e4, -1e4, 0.0, 1e4, -1e4, 0.0});
    const double value = loss.forward(logits, {0, 1});
    REQUIRE(std::isfinite(value));
    // Label 0 has the largest logit (loss ~0); label 1 is 2e4 below it.
    CHECK(value == doctest::Approx(1e4));
    for (nn::Index i = 0; i < loss.gradient().size(); ++i) {
      CHECK(std::isfinite(loss.gradient()[i]));
    }
  }
  SUBCASE("float") {
    nn::SoftmaxCrossEntropy<float> loss;
    nn::Tensor<float> logits(nn::Shape{1, 3});
    logits[0] = 1e4f;
    logits[1] = -1e4f;
    logits[2] = 0.0f;
    const double value = loss.forward(logits, {1});
    REQUIRE(std::isfinite(value));
    CHECK(value == doctest::Approx(2e4));
    for (nn::Index i = 0; i < 3; ++i) CHECK(std::isfinite(loss.gradient()[i]));
    CHECK(loss.gradient()[1] == doctest::Approx(-1.0));
  }
}

TEST_CASE("SoftmaxCrossEntropy rejects a label out of range") {
  nn::SoftmaxCrossEntropy<double> loss;
  const auto logits = make_logits(3, 2, {0, 0, 0, 0, 0, 0});
  CHECK_THROWS_WITH_AS(loss.forward(logits, {0, 1, 2}),
                       doctest::Contains("label 2 at index 2 is out of range; expected a class "
                                         "index in [0, 2)"),
                       nn::ShapeError);
  CHECK_THROWS_WITH_AS(loss.forward(logits, {0, -1, 1}),
                       doctest::Contains("label -1 at index 1"), nn::ShapeError);
}

TEST_CASE("SoftmaxCrossEntropy rejects a label count that differs from the batch") {
  nn::SoftmaxCrossEntropy<double> loss;
  const auto logits = make_logits(3, 2, {0, 0, 0, 0, 0, 0});
  CHECK_THROWS_WITH_AS(loss.forward(logits, {0, 1}),
                       doctest::Contains("expected 3 labels (one per row of logits [3, 2]), got 2"),
                       nn::ShapeError);
}

TEST_CASE("softmax rows sum to one") {
  const auto logits = make_logits(2, 3, {1.0, 2.0, 3.0, 1e4, 0.0, -1e4});
  const auto p = nn::softmax(logits);
  CHECK(p[0] + p[1] + p[2] == doctest::Approx(1.0));
  CHECK(p[2] == doctest::Approx(0.6652409557748219));
  CHECK(p[3] == doctest::Approx(1.0));
  CHECK(p[5] == 0.0);
}

TEST_CASE("count_correct compares the arg-max with the label, first maximum on ties") {
  const auto logits = make_logits(3, 2, {0.1, 0.9, 0.5, 0.5, 2.0, -1.0});
  CHECK(nn::count_correct(logits, {1, 0, 0}) == 3);
  CHECK(nn::count_correct(logits, {0, 1, 1}) == 0);
}
