#include "nn/io/resize.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

namespace {

std::vector<float> resize_grey(const std::vector<std::uint8_t>& src, nn::Index h, nn::Index w,
                               nn::ImageSize out,
                               nn::Interpolation interpolation = nn::Interpolation::Bilinear) {
  std::vector<float> dst(static_cast<std::size_t>(out.height * out.width));
  nn::resize_image(src.data(), h, w, 1, dst.data(), out, interpolation);
  return dst;
}

}  // namespace

TEST_CASE("Bilinear upscaling of a 2x2 image matches values worked out by hand") {
  // Half-pixel centres, 2 -> 4: sample positions -0.25, 0.25, 0.75, 1.25, clamped at the edges,
  // so each axis interpolates [a, b] to [a, a + (b - a) / 4, a + 3 (b - a) / 4, b].
  const std::vector<std::uint8_t> src{0, 100, 200, 40};
  const auto out = resize_grey(src, 2, 2, {4, 4});
  const std::vector<float> expected{
      0.0f,   25.0f,  75.0f,  100.0f,   //
      50.0f,  58.75f, 76.25f, 85.0f,    //
      150.0f, 126.25f, 78.75f, 55.0f,   //
      200.0f, 160.0f, 80.0f,  40.0f};
  REQUIRE(out.size() == expected.size());
  for (std::size_t i = 0; i < out.size(); ++i) CHECK(out[i] == doctest::Approx(expected[i]));
}

TEST_CASE("Bilinear downscaling reads only the two nearest samples, without antialiasing") {
  // 4 -> 2: positions 0.5 and 2.5. 3 -> 2: positions 0.25 and 1.75.
  const auto halved = resize_grey({0, 10, 20, 30}, 1, 4, {1, 2});
  CHECK(halved[0] == doctest::Approx(5.0f));
  CHECK(halved[1] == doctest::Approx(25.0f));
  const auto thirds = resize_grey({0, 30, 60}, 1, 3, {1, 2});
  CHECK(thirds[0] == doctest::Approx(7.5f));
  CHECK(thirds[1] == doctest::Approx(52.5f));
}

TEST_CASE("Resizing to the same size is exact") {
  std::vector<std::uint8_t> src;
  for (int i = 0; i < 5 * 7 * 3; ++i) src.push_back(static_cast<std::uint8_t>(i * 7));
  std::vector<std::uint8_t> dst(src.size());
  nn::resize_image(src.data(), 5, 7, 3, dst.data(), {5, 7});
  CHECK(dst == src);
}

TEST_CASE("Resizing to uint8 rounds half up") {
  const std::vector<std::uint8_t> src{0, 100, 200, 40};
  std::vector<std::uint8_t> dst(16);
  nn::resize_image(src.data(), 2, 2, 1, dst.data(), {4, 4});
  CHECK(dst[5] == 59);   // 58.75
  CHECK(dst[6] == 76);   // 76.25
  CHECK(dst[9] == 126);  // 126.25
  const std::vector<std::uint8_t> odd{0, 15};
  std::vector<std::uint8_t> one(1);
  nn::resize_image(odd.data(), 1, 2, 1, one.data(), {1, 1});
  CHECK(one[0] == 8);  // 7.5
}

TEST_CASE("Nearest interpolation picks floor((i + 0.5) * scale)") {
  const auto down = resize_grey({0, 10, 20, 30}, 1, 4, {1, 2}, nn::Interpolation::Nearest);
  CHECK(down == std::vector<float>{10.0f, 30.0f});
  const auto up = resize_grey({0, 10}, 1, 2, {1, 4}, nn::Interpolation::Nearest);
  CHECK(up == std::vector<float>{0.0f, 0.0f, 10.0f, 10.0f});
}

TEST_CASE("The aspect-ratio crop is the centred window Keras' smart_resize takes") {
  const nn::CropBox wide = nn::center_crop_to_aspect(100, 200, {50, 50});
  CHECK(wide.top == 0);
  CHECK(wide.left == 50);
  CHECK(wide.height == 100);
  CHECK(wide.width == 100);
  const nn::CropBox tall = nn::center_crop_to_aspect(101, 40, {20, 10});
  CHECK(tall.height == 80);
  CHECK(tall.width == 40);
  CHECK(tall.top == 10);  // (101 - 80) / 2 = 10.5, truncated
  CHECK(tall.left == 0);
}

TEST_CASE("Resizing a crop reads only the pixels inside it") {
  // A 1x4 row 0, 50, 100, 250; the centre crop [1, 3) resized to 1 pixel is their mean.
  const std::vector<std::uint8_t> src{0, 50, 100, 250};
  float out = 0;
  nn::resize_image(src.data(), 1, 4, 1, nn::CropBox{0, 1, 1, 2}, &out, {1, 1});
  CHECK(out == doctest::Approx(75.0f));
}

TEST_CASE("Resizing rejects a crop outside the image and an empty output size") {
  const std::vector<std::uint8_t> src(12);
  float out[4];
  CHECK_THROWS_WITH_AS(
      nn::resize_image(src.data(), 2, 2, 3, nn::CropBox{1, 0, 2, 2}, out, {1, 1}),
      doctest::Contains("resize_image: expected a crop inside the 2x2 image, got top 1, left 0, "
                        "size 2x2"),
      nn::ShapeError);
  CHECK_THROWS_WITH_AS(nn::resize_image(src.data(), 2, 2, 3, out, {0, 1}),
                       doctest::Contains("resize_image: expected a positive output size, got 0x1"),
                       nn::ShapeError);
}
