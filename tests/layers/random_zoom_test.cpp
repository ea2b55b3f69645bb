#include <doctest/doctest.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "nn/core/threads.hpp"
#include "nn/layers/random_zoom.hpp"
#include "support/gradient_check.hpp"

using nn::FactorRange;
using nn::FillMode;
using nn::Index;
using nn::Interpolation;
using nn::Mode;
using nn::Random;
using nn::RandomZoom;
using nn::Shape;
using nn::Tensor;

namespace {

/// A one-image, one-channel batch [1, H, W, 1] whose pixel (y, x) is 10 * y + x.
Tensor<double> coordinate_image(Index height, Index width) {
  Tensor<double> image(Shape{1, height, width, 1});
  for (Index y = 0; y < height; ++y) {
    for (Index x = 0; x < width; ++x) image[y * width + x] = 10.0 * y + x;
  }
  return image;
}

Tensor<double> zoom(RandomZoom<double>& layer, const Tensor<double>& image) {
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

TEST_CASE("RandomZoom by -0.5 zooms in to the centre half") {
  // Scale 0.5 on a 3 x 5 image with centre (2, 1): output (x, y) reads
  // (2 + 0.5 (x - 2), 1 + 0.5 (y - 1)) = (0.5 x + 1, 0.5 y + 0.5), and bilinear interpolation
  // of 10 y + x is exact, so the output is 10 (0.5 y + 0.5) + 0.5 x + 1.
  SUBCASE("bilinear") {
    RandomZoom<double> layer(FactorRange{-0.5, -0.5});
    CHECK(values(zoom(layer, coordinate_image(3, 5))) ==
          std::vector<double>{6, 6.5, 7, 7.5, 8,  //
                              11, 11.5, 12, 12.5, 13,  //
                              16, 16.5, 17, 17.5, 18});
    REQUIRE(layer.last_zooms().size() == 1);
    CHECK(layer.last_zooms()[0].height == 0.5);
    CHECK(layer.last_zooms()[0].width == 0.5);
  }
  SUBCASE("nearest") {
    // Columns 1 1.5 2 2.5 3 round to 1 2 2 3 3, rows 0.5 1 1.5 to 1 1 2.
    RandomZoom<double> layer(FactorRange{-0.5, -0.5}, FillMode::Reflect, Interpolation::Nearest);
    CHECK(values(zoom(layer, coordinate_image(3, 5))) ==
          std::vector<double>{11, 12, 12, 13, 13,  //
                              11, 12, 12, 13, 13,  //
                              21, 22, 22, 23, 23});
  }
}

TEST_CASE("RandomZoom out fills each mode by hand") {
  // Height scale 1.5 and width scale 2 on a 3 x 5 image with centre (2, 1): output (x, y) reads
  // column 2 x - 2 (-2, 0, 2, 4, 6) and row 1.5 y - 0.5 (-0.5, 1, 2.5). Rows -0.5 and 2.5 blend
  // rows -1 and 0, and rows 2 and 3, half and half.
  SUBCASE("reflect") {
    // Columns -2 and 6 read 1 and 3, rows -1 and 3 read 0 and 2.
    RandomZoom<double> layer(FactorRange{0.5, 0.5}, FactorRange{1.0, 1.0}, FillMode::Reflect);
    CHECK(values(zoom(layer, coordinate_image(3, 5))) ==
          std::vector<double>{1, 0, 2, 4, 3,  //
                              11, 10, 12, 14, 13,  //
                              21, 20, 22, 24, 23});
  }
  SUBCASE("wrap") {
    // Columns -2 and 6 read 3 and 1. Row -1 reads row 2 and row 3 reads row 0, so rows
    // -0.5 and 2.5 both average rows 0 and 2 (10).
    RandomZoom<double> layer(FactorRange{0.5, 0.5}, FactorRange{1.0, 1.0}, FillMode::Wrap);
    CHECK(values(zoom(layer, coordinate_image(3, 5))) ==
          std::vector<double>{13, 10, 12, 14, 11,  //
                              13, 10, 12, 14, 11,  //
                              13, 10, 12, 14, 11});
  }
  SUBCASE("nearest") {
    RandomZoom<double> layer(FactorRange{0.5, 0.5}, FactorRange{1.0, 1.0}, FillMode::Nearest);
    CHECK(values(zoom(layer, coordinate_image(3, 5))) ==
          std::vector<double>{0, 0, 2, 4, 4,  //
                              10, 10, 12, 14, 14,  //
                              20, 20, 22, 24, 24});
  }
  SUBCASE("constant") {
    // Fill -10 for every point outside the image: columns -2 and 6, and rows -0.5 and 2.5
    // even though they are only half a pixel out.
    RandomZoom<double> layer(FactorRange{0.5, 0.5}, FactorRange{1.0, 1.0}, FillMode::Constant,
                             Interpolation::Bilinear, -10.0);
    CHECK(values(zoom(layer, coordinate_image(3, 5))) ==
          std::vector<double>{-10, -10, -10, -10, -10,  //
                              -10, 10, 12, 14, -10,  //
                              -10, -10, -10, -10, -10});
  }
}

TEST_CASE("RandomZoom with factor 0 is the identity") {
  RandomZoom<double> layer(0.0, 0.0);
  const Tensor<double> x = random_images(Shape{3, 5, 6, 2}, 7);
  Random rng(0);
  layer.build(Shape{5, 6, 2}, rng);
  CHECK(values(layer.forward(x, Mode::Train)) == values(x));
}

TEST_CASE("RandomZoom scales cover their range") {
  const Tensor<double> x(Shape{2000, 1, 1, 1});
  Random rng(0);

  SUBCASE("one factor keeps the aspect ratio") {
    RandomZoom<double> layer(0.1);
    layer.build(Shape{1, 1, 1}, rng);
    layer.forward(x, Mode::Train);
    const auto& zooms = layer.last_zooms();
    REQUIRE(zooms.size() == 2000);
    double low = 2, high = 0;
    for (const auto& z : zooms) {
      CHECK(z.width == z.height);
      low = std::min(low, z.height);
      high = std::max(high, z.height);
    }
    CHECK(low >= 0.9);
    CHECK(low < 0.905);
    CHECK(high <= 1.1);
    CHECK(high > 1.095);
  }
  SUBCASE("a width factor draws the width separately") {
    RandomZoom<double> layer(0.1, 0.3);
    layer.build(Shape{1, 1, 1}, rng);
    layer.forward(x, Mode::Train);
    double low = 2, high = 0;
    Index different = 0;
    for (const auto& z : layer.last_zooms()) {
      low = std::min(low, z.width);
      high = std::max(high, z.width);
      if (z.width != z.height) ++different;
    }
    CHECK(low >= 0.7);
    CHECK(low < 0.71);
    CHECK(high <= 1.3);
    CHECK(high > 1.29);
    CHECK(different == 2000);
  }
  SUBCASE("a negative range only zooms in") {
    RandomZoom<double> layer(FactorRange{-0.3, -0.1});
    layer.build(Shape{1, 1, 1}, rng);
    layer.forward(x, Mode::Train);
    for (const auto& z : layer.last_zooms()) {
      CHECK(z.height >= 0.7);
      CHECK(z.height <= 0.9);
    }
  }
}

TEST_CASE("RandomZoom is the identity in inference") {
  RandomZoom<double> layer(0.5);
  Random rng(0);
  layer.build(Shape{4, 5, 3}, rng);
  const Tensor<double> x = random_images(Shape{2, 4, 5, 3}, 11);
  CHECK(values(layer.forward(x, Mode::Infer)) == values(x));
  CHECK(layer.last_zooms().empty());

  const Tensor<double> dy = random_images(Shape{2, 4, 5, 3}, 12);
  CHECK(values(layer.backward(dy)) == values(dy));
}

TEST_CASE("RandomZoom output does not depend on the thread count") {
  Tensor<float> input(Shape{16, 24, 25, 3});
  const Tensor<double> source = random_images(Shape{16, 24, 25, 3}, 4);
  for (Index i = 0; i < input.size(); ++i) input[i] = static_cast<float>(source[i]);

  // Large enough for the layer to use the OpenMP team.
  REQUIRE(input.size() >= nn::detail::augmentation_parallel_min_elements);
  const int threads = nn::num_threads();
  std::vector<std::vector<float>> outputs;
  for (int count : {1, 2}) {
    nn::set_num_threads(count);
    RandomZoom<float> layer(0.3, 0.2);
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

TEST_CASE("RandomZoom gradient matches finite differences in every mode") {
  for (FillMode fill_mode :
       {FillMode::Reflect, FillMode::Wrap, FillMode::Nearest, FillMode::Constant}) {
    for (Interpolation interpolation : {Interpolation::Bilinear, Interpolation::Nearest}) {
      CAPTURE(nn::detail::fill_mode_name(fill_mode));
      CAPTURE(nn::detail::interpolation_name(interpolation));
      // Zooming in and out in one batch: scales from 0.6 to 1.6.
      RandomZoom<double> layer(FactorRange{-0.4, 0.6}, FactorRange{-0.4, 0.6}, fill_mode,
                               interpolation, 0.5);
      nn::test::check_layer_gradients(layer, Shape{3, 5, 4, 2}, 23);
    }
  }
}

TEST_CASE("RandomZoom rejects invalid factors") {
  CHECK_THROWS_WITH_AS(RandomZoom<float>(-0.1),
                       doctest::Contains("RandomZoom: expected height_factor >= 0, got -0.1"),
                       nn::ShapeError);
  CHECK_THROWS_WITH_AS(RandomZoom<float>(0.1, -0.2),
                       doctest::Contains("expected width_factor >= 0, got -0.2"),
                       nn::ShapeError);
  CHECK_THROWS_WITH_AS(RandomZoom<float>(FactorRange{0.2, 0.1}),
                       doctest::Contains("expected height_factor lower <= upper, got lower = "
                                         "0.2, upper = 0.1"),
                       nn::ShapeError);
  CHECK_THROWS_WITH_AS(RandomZoom<float>(FactorRange{-1.5, 0.0}),
                       doctest::Contains("expected finite height_factor values >= -1, got -1.5"),
                       nn::ShapeError);
  CHECK_THROWS_WITH_AS(RandomZoom<float>(FactorRange{0.0, 0.1}, FactorRange{-0.1, -2.0}),
                       doctest::Contains("width_factor values >= -1, got -2"), nn::ShapeError);
  CHECK_THROWS_WITH_AS(RandomZoom<float>(std::numeric_limits<double>::infinity()),
                       doctest::Contains("got inf"), nn::ShapeError);
}

TEST_CASE("RandomZoom checks its input shape") {
  RandomZoom<float> layer(0.1);
  Random rng(0);
  CHECK_THROWS_WITH_AS(layer.build(Shape{8, 8}, rng),
                       doctest::Contains("RandomZoom: expected a per-sample input shape "
                                         "[H, W, C], got [8, 8]"),
                       nn::ShapeError);
  layer.build(Shape{8, 8, 3}, rng);
  CHECK(layer.parameter_count() == 0);
  Tensor<float> x(Shape{2, 8, 8, 3});
  layer.forward(x, Mode::Train);
  Tensor<float> dy(Shape{2, 8, 8, 1});
  CHECK_THROWS_WITH_AS(layer.backward(dy),
                       doctest::Contains("RandomZoom::backward: expected dy of the last "
                                         "output's shape [2, 8, 8, 3], got [2, 8, 8, 1]"),
                       nn::ShapeError);
}

TEST_CASE("RandomZoom config round trip") {
  SUBCASE("shared draw") {
    RandomZoom<float> layer(FactorRange{-0.2, 0.3}, FillMode::Constant, Interpolation::Nearest,
                            3.0);
    const nn::LayerConfig config = layer.config();
    CHECK(config.number("height_lower") == -0.2);
    CHECK(config.number("height_upper") == 0.3);
    CHECK_FALSE(config.contains("width_lower"));
    CHECK(config.text("fill_mode") == "constant");
    const auto rebuilt = RandomZoom<float>::from_config(config);
    CHECK(rebuilt->config() == config);
  }
  SUBCASE("separate width") {
    RandomZoom<float> layer(0.1, 0.25);
    const nn::LayerConfig config = layer.config();
    CHECK(config.number("width_lower") == -0.25);
    CHECK(config.number("width_upper") == 0.25);
    const auto rebuilt = RandomZoom<float>::from_config(config);
    CHECK(rebuilt->config() == config);
  }
  SUBCASE("Keras-style single factors") {
    nn::LayerConfig config;
    config.set("height_factor", 0.2);
    config.set("width_factor", 0.1);
    const auto rebuilt = RandomZoom<float>::from_config(config);
    const auto& zoom = dynamic_cast<const RandomZoom<float>&>(*rebuilt);
    CHECK(zoom.has_separate_width());
    CHECK(zoom.height_factor().lower == -0.2);
    CHECK(zoom.width_factor().upper == 0.1);
  }
}
