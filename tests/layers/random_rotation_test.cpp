#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "nn/core/threads.hpp"
#include "nn/layers/random_rotation.hpp"
#include "support/gradient_check.hpp"

using nn::FactorRange;
using nn::FillMode;
using nn::Index;
using nn::Interpolation;
using nn::Mode;
using nn::Random;
using nn::RandomRotation;
using nn::Shape;
using nn::Tensor;

namespace {

const double pi = 3.14159265358979323846;

/// A one-image, one-channel batch [1, H, W, 1] whose pixel (y, x) is 10 * y + x, so a sampled
/// value tells where it was read: 23 is row 2, column 3.
Tensor<double> coordinate_image(Index height, Index width) {
  Tensor<double> image(Shape{1, height, width, 1});
  for (Index y = 0; y < height; ++y) {
    for (Index x = 0; x < width; ++x) image[y * width + x] = 10.0 * y + x;
  }
  return image;
}

/// A rotation by exactly `turns` * 2 pi: the range [turns, turns] leaves nothing to draw.
RandomRotation<double> fixed_rotation(double turns, FillMode fill_mode = FillMode::Reflect,
                                      Interpolation interpolation = Interpolation::Bilinear,
                                      double fill_value = 0.0) {
  return RandomRotation<double>(turns, turns, fill_mode, interpolation, fill_value);
}

Tensor<double> rotate(RandomRotation<double>& layer, const Tensor<double>& image) {
  Random rng(0);
  layer.build(image.shape().without_batch(), rng);
  return layer.forward(image, Mode::Train);
}

std::vector<double> values(const Tensor<double>& t) {
  return std::vector<double>(t.data(), t.data() + t.size());
}

Tensor<double> random_images(const Shape& shape, std::uint64_t seed) {
  return nn::test::random_tensor(shape, seed, 0.0, 255.0);
}

}  // namespace

TEST_CASE("RandomRotation by 90 degrees turns the image counter-clockwise") {
  auto layer = fixed_rotation(0.25);
  const Tensor<double> y = rotate(layer, coordinate_image(3, 3));

  // np.rot90 of [[0, 1, 2], [10, 11, 12], [20, 21, 22]]: the right column becomes the top row.
  CHECK(values(y) == std::vector<double>{2, 12, 22, 1, 11, 21, 0, 10, 20});
  REQUIRE(layer.last_angles().size() == 1);
  CHECK(layer.last_angles()[0] == doctest::Approx(pi / 2));
}

TEST_CASE("RandomRotation by 90 degrees fills each mode by hand") {
  // On a 3 x 7 image the centre is (x, y) = (3, 1), and output (x, y) reads input column 4 - y
  // of row x - 2. Rows -2, -1, 3 and 4 lie outside the 3 rows, so the fill mode decides them:
  // reflect reads rows 1 0 | 0 1 2 | 2 1, wrap 1 2 | 0 1 2 | 0 1, nearest 0 0 | 0 1 2 | 2 2.
  // Integer source points give the same result with either interpolation.
  for (Interpolation interpolation : {Interpolation::Bilinear, Interpolation::Nearest}) {
    CAPTURE(static_cast<int>(interpolation));
    SUBCASE("reflect") {
      auto layer = fixed_rotation(0.25, FillMode::Reflect, interpolation);
      CHECK(values(rotate(layer, coordinate_image(3, 7))) ==
            std::vector<double>{14, 4, 4, 14, 24, 24, 14,  //
                                13, 3, 3, 13, 23, 23, 13,  //
                                12, 2, 2, 12, 22, 22, 12});
    }
    SUBCASE("wrap") {
      auto layer = fixed_rotation(0.25, FillMode::Wrap, interpolation);
      CHECK(values(rotate(layer, coordinate_image(3, 7))) ==
            std::vector<double>{14, 24, 4, 14, 24, 4, 14,  //
                                13, 23, 3, 13, 23, 3, 13,  //
                                12, 22, 2, 12, 22, 2, 12});
    }
    SUBCASE("nearest") {
      auto layer = fixed_rotation(0.25, FillMode::Nearest, interpolation);
      CHECK(values(rotate(layer, coordinate_image(3, 7))) ==
            std::vector<double>{4, 4, 4, 14, 24, 24, 24,  //
                                3, 3, 3, 13, 23, 23, 23,  //
                                2, 2, 2, 12, 22, 22, 22});
    }
    SUBCASE("constant") {
      auto layer = fixed_rotation(0.25, FillMode::Constant, interpolation, -1.0);
      CHECK(values(rotate(layer, coordinate_image(3, 7))) ==
            std::vector<double>{-1, -1, 4, 14, 24, -1, -1,  //
                                -1, -1, 3, 13, 23, -1, -1,  //
                                -1, -1, 2, 12, 22, -1, -1});
    }
  }
}

TEST_CASE("RandomRotation by a non-right angle interpolates bilinearly") {
  // cos = 0.6 and sin = 0.8. On a 3 x 3 image with centre (1, 1), output (x, y) reads
  // x_in = 1 + 0.6 (x - 1) - 0.8 (y - 1) and y_in = 1 + 0.8 (x - 1) + 0.6 (y - 1).
  const double turns = std::atan2(0.8, 0.6) / (2 * pi);

  // Output (2, 1) reads (1.6, 1.8), inside the image. Bilinear interpolation of 10 y + x is
  // exact there: 10 * 1.8 + 1.6.
  // Output (0, 0) reads (x, y) = (1.2, -0.4): taps at rows -1 and 0 with weights 0.4 and 0.6,
  // columns 1 and 2 with weights 0.8 and 0.2. Row 0 gives 0.8 * 1 + 0.2 * 2 = 1.2, and row -1
  // is filled.
  SUBCASE("reflect") {
    auto layer = fixed_rotation(turns, FillMode::Reflect);
    const Tensor<double> y = rotate(layer, coordinate_image(3, 3));
    CHECK(y[1 * 3 + 2] == doctest::Approx(19.6).epsilon(1e-12));
    CHECK(y[0] == doctest::Approx(1.2).epsilon(1e-12));  // row -1 reads row 0
  }
  SUBCASE("wrap") {
    auto layer = fixed_rotation(turns, FillMode::Wrap);
    const Tensor<double> y = rotate(layer, coordinate_image(3, 3));
    CHECK(y[1 * 3 + 2] == doctest::Approx(19.6).epsilon(1e-12));
    // Row -1 reads row 2: 0.4 * (0.8 * 21 + 0.2 * 22) + 0.6 * 1.2 = 9.2.
    CHECK(y[0] == doctest::Approx(9.2).epsilon(1e-12));
  }
  SUBCASE("nearest") {
    auto layer = fixed_rotation(turns, FillMode::Nearest);
    const Tensor<double> y = rotate(layer, coordinate_image(3, 3));
    CHECK(y[1 * 3 + 2] == doctest::Approx(19.6).epsilon(1e-12));
    CHECK(y[0] == doctest::Approx(1.2).epsilon(1e-12));  // row -1 reads row 0
  }
  SUBCASE("constant") {
    auto layer = fixed_rotation(turns, FillMode::Constant, Interpolation::Bilinear, 100.0);
    const Tensor<double> y = rotate(layer, coordinate_image(3, 3));
    CHECK(y[1 * 3 + 2] == doctest::Approx(19.6).epsilon(1e-12));
    // (1.2, -0.4) lies outside the image, so it is the fill value, with no blending.
    CHECK(y[0] == 100.0);
  }
  SUBCASE("nearest interpolation rounds the source point") {
    auto layer = fixed_rotation(turns, FillMode::Reflect, Interpolation::Nearest);
    const Tensor<double> y = rotate(layer, coordinate_image(3, 3));
    CHECK(y[1 * 3 + 2] == 22.0);  // (1.6, 1.8) rounds to column 2, row 2
    CHECK(y[0] == 1.0);           // (1.2, -0.4) rounds to column 1, row 0
  }
}

TEST_CASE("RandomRotation with factor 0 is the identity") {
  RandomRotation<double> layer(0.0);
  const Tensor<double> x = random_images(Shape{3, 5, 6, 2}, 7);
  Random rng(0);
  layer.build(Shape{5, 6, 2}, rng);
  CHECK(values(layer.forward(x, Mode::Train)) == values(x));
}

TEST_CASE("RandomRotation angles cover their range") {
  const Tensor<double> x(Shape{2000, 1, 1, 1});
  Random rng(0);

  SUBCASE("symmetric factor") {
    RandomRotation<double> layer(0.1);
    layer.build(Shape{1, 1, 1}, rng);
    layer.reseed(3);
    layer.forward(x, Mode::Train);
    const auto& angles = layer.last_angles();
    REQUIRE(angles.size() == 2000);
    const auto [low, high] = std::minmax_element(angles.begin(), angles.end());
    CHECK(*low >= -0.2 * pi);
    CHECK(*low < -0.19 * pi);
    CHECK(*high <= 0.2 * pi);
    CHECK(*high > 0.19 * pi);
    const auto negative =
        std::count_if(angles.begin(), angles.end(), [](double a) { return a < 0; });
    CHECK(negative > 900);
    CHECK(negative < 1100);
  }
  SUBCASE("lower and upper") {
    RandomRotation<double> layer(0.2, 0.3);
    layer.build(Shape{1, 1, 1}, rng);
    layer.forward(x, Mode::Train);
    const auto& angles = layer.last_angles();
    const auto [low, high] = std::minmax_element(angles.begin(), angles.end());
    CHECK(*low >= 0.4 * pi);
    CHECK(*low < 0.41 * pi);
    CHECK(*high <= 0.6 * pi);
    CHECK(*high > 0.59 * pi);
  }
}

TEST_CASE("RandomRotation is the identity in inference") {
  RandomRotation<double> layer(0.5);
  Random rng(0);
  layer.build(Shape{4, 5, 3}, rng);
  const Tensor<double> x = random_images(Shape{2, 4, 5, 3}, 11);
  const Tensor<double>& y = layer.forward(x, Mode::Infer);
  CHECK(&y != &x);
  CHECK(values(y) == values(x));
  CHECK(layer.last_angles().empty());

  const Tensor<double> dy = random_images(Shape{2, 4, 5, 3}, 12);
  CHECK(values(layer.backward(dy)) == values(dy));
}

TEST_CASE("RandomRotation repeats its draws after reseed") {
  RandomRotation<double> layer(0.3);
  Random rng(0);
  layer.build(Shape{6, 6, 1}, rng);
  const Tensor<double> x = random_images(Shape{4, 6, 6, 1}, 5);
  layer.reseed(21);
  const std::vector<double> first = values(layer.forward(x, Mode::Train));
  const std::vector<double> first_angles = layer.last_angles();
  const std::vector<double> second = values(layer.forward(x, Mode::Train));
  layer.reseed(21);
  CHECK(values(layer.forward(x, Mode::Train)) == first);
  CHECK(layer.last_angles() == first_angles);
  CHECK(second != first);
}

TEST_CASE("RandomRotation output does not depend on the thread count") {
  Tensor<float> input(Shape{16, 24, 25, 3});
  const Tensor<double> source = random_images(Shape{16, 24, 25, 3}, 4);
  for (Index i = 0; i < input.size(); ++i) input[i] = static_cast<float>(source[i]);

  // Large enough for the layer to use the OpenMP team.
  REQUIRE(input.size() >= nn::detail::augmentation_parallel_min_elements);
  const int threads = nn::num_threads();
  std::vector<std::vector<float>> outputs;
  for (int count : {1, 2}) {
    nn::set_num_threads(count);
    RandomRotation<float> layer(0.2, FillMode::Constant);
    Random rng(0);
    layer.build(Shape{24, 25, 3}, rng);
    layer.reseed(99);
    const Tensor<float>& y = layer.forward(input, Mode::Train);
    outputs.emplace_back(y.data(), y.data() + y.size());
    const Tensor<float>& dx = layer.backward(input);
    outputs.emplace_back(dx.data(), dx.data() + dx.size());
  }
  nn::set_num_threads(threads);
  CHECK(outputs[0] == outputs[2]);
  CHECK(outputs[1] == outputs[3]);
}

TEST_CASE("RandomRotation gradient matches finite differences in every mode") {
  for (FillMode fill_mode :
       {FillMode::Reflect, FillMode::Wrap, FillMode::Nearest, FillMode::Constant}) {
    for (Interpolation interpolation : {Interpolation::Bilinear, Interpolation::Nearest}) {
      CAPTURE(nn::detail::fill_mode_name(fill_mode));
      CAPTURE(nn::detail::interpolation_name(interpolation));
      RandomRotation<double> layer(0.3, fill_mode, interpolation, 0.5);
      nn::test::check_layer_gradients(layer, Shape{3, 5, 4, 2}, 17);
    }
  }
}

TEST_CASE("RandomRotation gradient sums where pixels are read twice") {
  // Rotating a 2 x 4 image by 90 degrees reads some input pixels for several outputs (reflect)
  // and others for none, so dx differs from a plain rotation of dy.
  auto layer = fixed_rotation(0.25, FillMode::Reflect);
  Random rng(0);
  layer.build(Shape{2, 4, 1}, rng);
  layer.forward(coordinate_image(2, 4), Mode::Train);
  Tensor<double> dy(Shape{1, 2, 4, 1});
  dy.fill(1.0);
  const Tensor<double>& dx = layer.backward(dy);
  // Output (x, y) reads column 2 - y of row reflect(x - 1), rows -1 0 1 2 -> 0 0 1 1.
  CHECK(values(dx) == std::vector<double>{0, 2, 2, 0, 0, 2, 2, 0});
}

TEST_CASE("RandomRotation rejects invalid factors") {
  CHECK_THROWS_WITH_AS(RandomRotation<float>(-0.1),
                       doctest::Contains("RandomRotation: expected factor in [0, 1], got -0.1"),
                       nn::ShapeError);
  CHECK_THROWS_WITH_AS(RandomRotation<float>(1.5),
                       doctest::Contains("expected factor in [0, 1], got 1.5"), nn::ShapeError);
  CHECK_THROWS_WITH_AS(RandomRotation<float>(0.3, 0.1),
                       doctest::Contains("expected lower <= upper, got lower = 0.3, upper = 0.1"),
                       nn::ShapeError);
  CHECK_THROWS_WITH_AS(RandomRotation<float>(-0.5, 1.25),
                       doctest::Contains("expected factor values in [-1, 1] (turns of 2 pi), "
                                         "got 1.25"),
                       nn::ShapeError);
  CHECK_THROWS_WITH_AS(RandomRotation<float>(std::numeric_limits<double>::quiet_NaN()),
                       doctest::Contains("got nan"), nn::ShapeError);
  CHECK_THROWS_WITH_AS(RandomRotation<float>(0.1, FillMode::Constant, Interpolation::Bilinear,
                                             std::numeric_limits<double>::infinity()),
                       doctest::Contains("expected a finite fill_value, got inf"),
                       nn::ShapeError);
}

TEST_CASE("RandomRotation checks its input shape") {
  RandomRotation<float> layer(0.1);
  Random rng(0);
  CHECK_THROWS_WITH_AS(layer.build(Shape{64, 3}, rng),
                       doctest::Contains("expected a per-sample input shape [H, W, C], got "
                                         "[64, 3]"),
                       nn::ShapeError);
  layer.build(Shape{8, 8, 3}, rng);
  CHECK(layer.parameter_count() == 0);
  Tensor<float> x(Shape{2, 8, 8, 1});
  CHECK_THROWS_WITH_AS(layer.forward(x, Mode::Train),
                       doctest::Contains("RandomRotation::forward: expected input [N, 8, 8, 3]"),
                       nn::ShapeError);
}

TEST_CASE("RandomRotation config round trip") {
  RandomRotation<float> layer(-0.2, 0.3, FillMode::Wrap, Interpolation::Nearest, 7.5);
  const nn::LayerConfig config = layer.config();
  CHECK(config.text("fill_mode") == "wrap");
  CHECK(config.text("interpolation") == "nearest");
  CHECK(config.number("lower") == -0.2);
  CHECK(config.number("upper") == 0.3);
  CHECK(config.number("fill_value") == 7.5);
  const auto rebuilt = RandomRotation<float>::from_config(config);
  CHECK(rebuilt->type() == "RandomRotation");
  CHECK(rebuilt->config() == config);

  nn::LayerConfig keras_style;
  keras_style.set("factor", 0.1);
  const auto from_factor = RandomRotation<float>::from_config(keras_style);
  const auto& rotation = dynamic_cast<const RandomRotation<float>&>(*from_factor);
  CHECK(rotation.lower() == -0.1);
  CHECK(rotation.upper() == 0.1);
  CHECK(rotation.fill_mode() == FillMode::Reflect);
  CHECK(rotation.interpolation() == Interpolation::Bilinear);

  nn::LayerConfig only_bad;
  only_bad.set("factor", 0.1);
  only_bad.set("fill_mode", "mirror");
  CHECK_THROWS_WITH_AS(RandomRotation<float>::from_config(only_bad),
                       doctest::Contains("got \"mirror\""), nn::DataError);
}
