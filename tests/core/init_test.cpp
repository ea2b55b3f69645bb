#include <doctest/doctest.h>

#include <cmath>

#include "nn/core/init.hpp"

using nn::Index;
using nn::Random;
using nn::Shape;
using nn::Tensor;

TEST_CASE("Glorot limit is sqrt(6 / (fan_in + fan_out))") {
  CHECK(nn::glorot_limit(27, 144) == doctest::Approx(std::sqrt(6.0 / 171.0)));
  CHECK(nn::glorot_limit(128, 23) == doctest::Approx(std::sqrt(6.0 / 151.0)));
}

TEST_CASE("Glorot uniform stays within the limit and fills it") {
  Tensor<double> t(Shape{3, 3, 4, 8});
  Random rng(3);
  nn::glorot_uniform(t, 36, 72, rng);
  const double limit = std::sqrt(6.0 / 108.0);
  double low = 0, high = 0, sum = 0;
  for (Index i = 0; i < t.size(); ++i) {
    low = std::min(low, t[i]);
    high = std::max(high, t[i]);
    sum += t[i];
  }
  CHECK(low >= -limit);
  CHECK(high < limit);
  CHECK(low < -0.9 * limit);
  CHECK(high > 0.9 * limit);
  // The mean of 288 uniform draws is within 4 standard deviations of zero.
  CHECK(std::abs(sum / static_cast<double>(t.size())) < 4 * limit / std::sqrt(3.0 * 288));
}

TEST_CASE("Glorot uniform repeats for the same seed") {
  Tensor<float> a(Shape{10, 10}), b(Shape{10, 10}), c(Shape{10, 10});
  Random rng_a(9), rng_b(9), rng_c(10);
  nn::glorot_uniform(a, 10, 10, rng_a);
  nn::glorot_uniform(b, 10, 10, rng_b);
  nn::glorot_uniform(c, 10, 10, rng_c);
  bool same = true, differs = false;
  for (Index i = 0; i < a.size(); ++i) {
    same = same && a[i] == b[i];
    differs = differs || a[i] != c[i];
  }
  CHECK(same);
  CHECK(differs);
}

TEST_CASE("Glorot limit rejects an empty fan") {
  CHECK_THROWS_WITH_AS(nn::glorot_limit(0, 5),
                       "glorot_limit: expected fan_in and fan_out >= 1, got fan_in = 0, "
                       "fan_out = 5",
                       nn::ShapeError);
}

TEST_CASE("Zero initialisation sets every element to zero") {
  Tensor<float> t(Shape{5});
  t.fill(3.0f);
  nn::zeros(t);
  for (Index i = 0; i < t.size(); ++i) CHECK(t[i] == 0.0f);
}
