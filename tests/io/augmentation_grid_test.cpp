#include "nn/io/augmentation_grid.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

#include "nn/layers/random_flip.hpp"
#include "nn/layers/random_rotation.hpp"
#include "nn/layers/random_zoom.hpp"

// The PNG decoder checks the written files; the tests compile their own static copy of it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#if __has_include(<stb/stb_image.h>)
#include <stb/stb_image.h>
#else
#include <stb_image.h>
#endif
#pragma GCC diagnostic pop

namespace fs = std::filesystem;
using nn::GridStyle;
using nn::Index;
using nn::Layer;
using nn::Mode;
using nn::Shape;
using nn::Tensor;

namespace {

/// A fresh directory under the system temporary directory, removed with its contents.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name) {
    path_ = fs::temp_directory_path() /
            ("nn_grid_test_" + name + "_" + std::to_string(static_cast<long long>(::getpid())));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

/// Returns an RGB image [H, W, 3] with a different value at every position, so every flip,
/// rotation and zoom changes it.
Tensor<float> gradient_image(Index height, Index width) {
  Tensor<float> image(Shape{height, width, 3});
  for (Index y = 0; y < height; ++y) {
    for (Index x = 0; x < width; ++x) {
      float* pixel = image.data() + (y * width + x) * 3;
      pixel[0] = static_cast<float>(255 * x / (width - 1));
      pixel[1] = static_cast<float>(255 * y / (height - 1));
      pixel[2] = static_cast<float>((x * 37 + y * 11) % 256);
    }
  }
  return image;
}

std::vector<std::uint8_t> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), {});
}

/// Returns the pixels of tile `index` of a decoded grid.
std::vector<std::uint8_t> tile(const std::vector<std::uint8_t>& grid, int grid_width,
                               Index index, Index cols, Index height, Index width, Index padding) {
  const Index top = padding + (index / cols) * (height + padding);
  const Index left = padding + (index % cols) * (width + padding);
  std::vector<std::uint8_t> pixels;
  for (Index y = 0; y < height; ++y) {
    const auto* row = grid.data() + ((top + y) * grid_width + left) * 3;
    pixels.insert(pixels.end(), row, row + width * 3);
  }
  return pixels;
}

}  // namespace

TEST_CASE("image_grid places tiles row by row") {
  // Three 1 x 2 gray images in a 2 x 2 grid with padding 1 and background 9.
  Tensor<float> images(Shape{3, 1, 2, 1});
  const float values[] = {10, 11, 20, 21, 30, 31.4f};
  for (int i = 0; i < 6; ++i) images[i] = values[i];
  const nn::Image8 grid = nn::image_grid(images, 2, 2, GridStyle{1, 9});

  CHECK(grid.height == 5);  // 2 rows of 1 pixel, 3 paddings
  CHECK(grid.width == 7);   // 2 columns of 2 pixels, 3 paddings
  CHECK(grid.channels == 1);
  CHECK(grid.pixels == std::vector<std::uint8_t>{9, 9,  9,  9, 9,  9,  9,  //
                                                 9, 10, 11, 9, 20, 21, 9,  //
                                                 9, 9,  9,  9, 9,  9,  9,  //
                                                 9, 30, 31, 9, 9,  9,  9,  //
                                                 9, 9,  9,  9, 9,  9,  9});
}

TEST_CASE("image_grid rejects bad layouts") {
  Tensor<float> images(Shape{5, 2, 2, 3});
  CHECK_THROWS_WITH_AS(nn::image_grid(images, 2, 2),
                       doctest::Contains("expected at most rows * cols = 4 images, got 5"),
                       nn::ShapeError);
  CHECK_THROWS_WITH_AS(nn::image_grid(images, 0, 3), doctest::Contains("expected rows >= 1, got 0"),
                       nn::ShapeError);
  CHECK_THROWS_WITH_AS(nn::image_grid(images, 3, 3, GridStyle{-1, 0}),
                       doctest::Contains("expected padding >= 0, got -1"), nn::ShapeError);
  Tensor<float> five_channels(Shape{1, 2, 2, 5});
  CHECK_THROWS_WITH_AS(nn::image_grid(five_channels, 1, 1),
                       doctest::Contains("expected 1 to 4 channels"), nn::ShapeError);
}

TEST_CASE("augmentation grid of layers has the grid's dimensions") {
  ScratchDir dir("layers");
  const Tensor<float> image = gradient_image(12, 10);
  nn::RandomFlip<float> flip("horizontal");
  nn::RandomRotation<float> rotation(0.1);
  nn::RandomZoom<float> zoom(0.1);
  const std::string path = dir.file("grid.png");
  nn::write_augmentation_grid(path, image, {&flip, &rotation, &zoom}, 3, 4, 7, GridStyle{2, 0});

  int width = 0, height = 0, channels = 0;
  unsigned char* data = stbi_load(path.c_str(), &width, &height, &channels, 0);
  REQUIRE(data != nullptr);
  const std::vector<std::uint8_t> pixels(data, data + width * height * channels);
  stbi_image_free(data);
  CHECK(height == 3 * 12 + 4 * 2);
  CHECK(width == 4 * 10 + 5 * 2);
  CHECK(channels == 3);

  // Every tile is its own random transform, so no two of the 12 tiles are the same.
  std::vector<std::vector<std::uint8_t>> tiles;
  for (Index i = 0; i < 12; ++i) tiles.push_back(tile(pixels, width, i, 4, 12, 10, 2));
  for (Index i = 0; i < 12; ++i) {
    for (Index j = i + 1; j < 12; ++j) {
      CAPTURE(i);
      CAPTURE(j);
      CHECK(tiles[static_cast<std::size_t>(i)] != tiles[static_cast<std::size_t>(j)]);
    }
  }
  // The padding keeps the background: the corner, and pixel (14, 5) between the first two
  // rows of tiles (rows 2 to 13 and 16 to 27).
  CHECK(pixels[0] == 0);
  CHECK(pixels[static_cast<std::size_t>((14 * width + 5) * 3)] == 0);
  const auto* inside = &pixels[static_cast<std::size_t>((13 * width + 5) * 3)];
  CHECK(inside[0] + inside[1] + inside[2] > 0);
}

TEST_CASE("augmentation grid repeats with the same seed") {
  ScratchDir dir("seed");
  const Tensor<float> image = gradient_image(8, 8);
  nn::RandomRotation<float> rotation(0.2);
  nn::RandomZoom<float> zoom(0.2);
  const std::vector<Layer<float>*> layers{&rotation, &zoom};
  nn::write_augmentation_grid(dir.file("a.png"), image, layers, 2, 2, 5);
  nn::write_augmentation_grid(dir.file("b.png"), image, layers, 2, 2, 5);
  nn::write_augmentation_grid(dir.file("c.png"), image, layers, 2, 2, 6);
  CHECK(file_bytes(dir.file("a.png")) == file_bytes(dir.file("b.png")));
  CHECK(file_bytes(dir.file("a.png")) != file_bytes(dir.file("c.png")));
}

TEST_CASE("augmented_copies runs a model-like object in training mode") {
  const Tensor<float> image = gradient_image(6, 5);
  nn::RandomFlip<float> flip(nn::FlipMode::Horizontal);
  nn::Random rng(0);
  flip.build(Shape{6, 5, 3}, rng);
  flip.reseed(1);
  // A layer has forward(x, mode), as a Sequential has, so it is called in Mode::Train.
  const Tensor<float> copies = nn::augmented_copies(image, 16, flip);
  REQUIRE(copies.shape() == Shape{16, 6, 5, 3});
  Index flipped = 0;
  for (Index n = 0; n < 16; ++n) {
    const bool was_flipped = flip.last_flips()[static_cast<std::size_t>(n)].horizontal;
    flipped += was_flipped;
    // Pixel (0, 0) of a flipped copy is the original pixel (0, 4).
    const float expected = image[was_flipped ? 4 * 3 : 0];
    CHECK(copies[n * 6 * 5 * 3] == expected);
  }
  CHECK(flipped > 0);
  CHECK(flipped < 16);
}

TEST_CASE("augmented_copies takes a callable and checks its output") {
  const Tensor<float> image = gradient_image(4, 4);
  const Tensor<float> copies = nn::augmented_copies(image, 3, [](const Tensor<float>& batch) {
    Tensor<float> inverted(batch.shape());
    for (Index i = 0; i < batch.size(); ++i) inverted[i] = 255 - batch[i];
    return inverted;
  });
  REQUIRE(copies.shape() == Shape{3, 4, 4, 3});
  CHECK(copies[2 * 48 + 5] == 255 - image[5]);

  auto drop_one = [](const Tensor<float>& batch) {
    return Tensor<float>(Shape{batch.dim(0) - 1, 4, 4, 3});
  };
  CHECK_THROWS_WITH_AS(nn::augmented_copies(image, 3, drop_one),
                       doctest::Contains("expected the augmented batch [3, H, W, C], got "
                                         "[2, 4, 4, 3]"),
                       nn::ShapeError);

  Tensor<float> flat(Shape{48});
  CHECK_THROWS_WITH_AS(nn::augmented_copies(flat, 3, drop_one),
                       doctest::Contains("expected an image [H, W, C] or [1, H, W, C], got [48]"),
                       nn::ShapeError);
}
