#include <doctest/doctest.h>

#include <vector>

#include "nn/core/threads.hpp"
#include "nn/layers/random_flip.hpp"
#include "support/gradient_check.hpp"

using nn::FlipMode;
using nn::Index;
using nn::Mode;
using nn::Random;
using nn::RandomFlip;
using nn::Shape;
using nn::Tensor;

namespace {

std::vector<double> values(const Tensor<double>& t, Index begin = 0, Index end = -1) {
  if (end < 0) end = t.size();
  return std::vector<double>(t.data() + begin, t.data() + end);
}

/// `count` copies of a 2 x 3 image with 2 channels whose element (y, x, c) is 100 y + 10 x + c.
Tensor<double> copies_of_small_image(Index count) {
  Tensor<double> x(Shape{count, 2, 3, 2});
  for (Index n = 0; n < count; ++n) {
    for (Index i = 0; i < 12; ++i) {
      const Index c = i % 2, col = (i / 2) % 3, row = i / 6;
      x[n * 12 + i] = 100.0 * row + 10.0 * col + c;
    }
  }
  return x;
}

// The small image and its flips, written out by hand. Channels stay with their pixel.
const std::vector<double> original{0, 1, 10, 11, 20, 21, 100, 101, 110, 111, 120, 121};
const std::vector<double> mirrored{20, 21, 10, 11, 0, 1, 120, 121, 110, 111, 100, 101};
const std::vector<double> upside_down{100, 101, 110, 111, 120, 121, 0, 1, 10, 11, 20, 21};
const std::vector<double> both{120, 121, 110, 111, 100, 101, 20, 21, 10, 11, 0, 1};

}  // namespace

TEST_CASE("RandomFlip flips exactly as drawn") {
  const Index count = 64;
  const Tensor<double> x = copies_of_small_image(count);
  Random rng(0);
  const FlipMode modes[] = {FlipMode::Horizontal, FlipMode::Vertical,
                            FlipMode::HorizontalAndVertical};
  for (FlipMode mode : modes) {
    CAPTURE(RandomFlip<double>::mode_name(mode));
    RandomFlip<double> layer(mode);
    layer.build(Shape{2, 3, 2}, rng);
    layer.reseed(5);
    const Tensor<double>& y = layer.forward(x, Mode::Train);
    REQUIRE(layer.last_flips().size() == static_cast<std::size_t>(count));
    Index horizontal = 0, vertical = 0;
    for (Index n = 0; n < count; ++n) {
      const nn::FlipDraw draw = layer.last_flips()[static_cast<std::size_t>(n)];
      const auto& expected = draw.horizontal ? (draw.vertical ? both : mirrored)
                                             : (draw.vertical ? upside_down : original);
      CHECK(values(y, n * 12, (n + 1) * 12) == expected);
      horizontal += draw.horizontal;
      vertical += draw.vertical;
    }
    // Each allowed axis flips about half the images; the other axis never flips.
    if (mode == FlipMode::Vertical) {
      CHECK(horizontal == 0);
    } else {
      CHECK(horizontal > 16);
      CHECK(horizontal < 48);
    }
    if (mode == FlipMode::Horizontal) {
      CHECK(vertical == 0);
    } else {
      CHECK(vertical > 16);
      CHECK(vertical < 48);
    }
  }
}

TEST_CASE("RandomFlip with the same draw twice is the identity") {
  RandomFlip<double> layer;
  Random rng(0);
  layer.build(Shape{5, 4, 3}, rng);
  const Tensor<double> x = nn::test::random_tensor(Shape{16, 5, 4, 3}, 2);
  layer.reseed(8);
  const Tensor<double> once = layer.forward(x, Mode::Train);
  CHECK(values(once) != values(x));
  layer.reseed(8);
  CHECK(values(layer.forward(once, Mode::Train)) == values(x));
}

TEST_CASE("RandomFlip is the identity in inference") {
  RandomFlip<double> layer("horizontal");
  Random rng(0);
  layer.build(Shape{2, 3, 2}, rng);
  const Tensor<double> x = copies_of_small_image(8);
  CHECK(values(layer.forward(x, Mode::Infer)) == values(x));
  CHECK(layer.last_flips().empty());
  const Tensor<double> dy = nn::test::random_tensor(x.shape(), 3);
  CHECK(values(layer.backward(dy)) == values(dy));
}

TEST_CASE("RandomFlip output does not depend on the thread count") {
  Tensor<float> input(Shape{16, 24, 25, 3});
  for (Index i = 0; i < input.size(); ++i) input[i] = static_cast<float>(i % 251);
  // Large enough for the layer to use the OpenMP team.
  REQUIRE(input.size() >= nn::detail::augmentation_parallel_min_elements);
  const int threads = nn::num_threads();
  std::vector<std::vector<float>> outputs;
  for (int count : {1, 2}) {
    nn::set_num_threads(count);
    RandomFlip<float> layer;
    Random rng(0);
    layer.build(Shape{24, 25, 3}, rng);
    layer.reseed(42);
    const Tensor<float>& y = layer.forward(input, Mode::Train);
    outputs.emplace_back(y.data(), y.data() + y.size());
  }
  nn::set_num_threads(threads);
  CHECK(outputs[0] == outputs[1]);
}

TEST_CASE("RandomFlip gradient matches finite differences") {
  const FlipMode modes[] = {FlipMode::Horizontal, FlipMode::Vertical,
                            FlipMode::HorizontalAndVertical};
  for (FlipMode mode : modes) {
    CAPTURE(RandomFlip<double>::mode_name(mode));
    RandomFlip<double> layer(mode);
    nn::test::check_layer_gradients(layer, Shape{6, 3, 4, 2}, 31);
  }
}

TEST_CASE("RandomFlip takes Keras mode names") {
  CHECK(RandomFlip<float>("horizontal").mode() == FlipMode::Horizontal);
  CHECK(RandomFlip<float>("vertical").mode() == FlipMode::Vertical);
  CHECK(RandomFlip<float>("horizontal_and_vertical").mode() == FlipMode::HorizontalAndVertical);
  CHECK(RandomFlip<float>().mode() == FlipMode::HorizontalAndVertical);
  CHECK_THROWS_WITH_AS(RandomFlip<float>("left_right"),
                       doctest::Contains("RandomFlip: expected mode \"horizontal\", \"vertical\" "
                                         "or \"horizontal_and_vertical\", got \"left_right\""),
                       nn::ShapeError);
}

TEST_CASE("RandomFlip checks its input shape") {
  RandomFlip<float> layer;
  Random rng(0);
  CHECK_THROWS_WITH_AS(layer.build(Shape{10}, rng),
                       doctest::Contains("expected a per-sample input shape [H, W, C], got [10]"),
                       nn::ShapeError);
  CHECK(layer.build(Shape{4, 4, 1}, rng) == Shape{4, 4, 1});
  CHECK(layer.parameter_count() == 0);
  Tensor<float> dy(Shape{1, 4, 4, 1});
  CHECK_THROWS_WITH_AS(layer.backward(dy),
                       doctest::Contains("expected a forward pass before backward"),
                       nn::ShapeError);
  Tensor<float> x(Shape{1, 4, 5, 1});
  CHECK_THROWS_WITH_AS(layer.forward(x, Mode::Train),
                       doctest::Contains("RandomFlip::forward: expected input [N, 4, 4, 1]"),
                       nn::ShapeError);
}

TEST_CASE("RandomFlip config round trip") {
  RandomFlip<float> layer(FlipMode::Vertical);
  const nn::LayerConfig config = layer.config();
  CHECK(config.text("mode") == "vertical");
  CHECK(RandomFlip<float>::from_config(config)->config() == config);

  nn::LayerConfig bad;
  bad.set("mode", "diagonal");
  CHECK_THROWS_WITH_AS(RandomFlip<float>::from_config(bad), doctest::Contains("got \"diagonal\""),
                       nn::DataError);
}
