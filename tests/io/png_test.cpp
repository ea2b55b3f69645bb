#include "nn/io/png.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <unistd.h>

// The reader is only needed to check the written files, so the tests compile their own static
// copy of stb_image.
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

namespace {

/// A fresh directory under the system temporary directory, removed with its contents.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name) {
    path_ = fs::temp_directory_path() /
            ("nn_png_test_" + name + "_" + std::to_string(static_cast<long long>(::getpid())));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(path_)) {
      names.push_back(entry.path().filename().string());
    }
    return names;
  }

 private:
  fs::path path_;
};

/// Reads a PNG back with stb_image, keeping its own channel count.
nn::Image8 read_png(const std::string& path) {
  int w = 0, h = 0, c = 0;
  unsigned char* data = stbi_load(path.c_str(), &w, &h, &c, 0);
  REQUIRE_MESSAGE(data != nullptr, "stb_image could not read " << path);
  nn::Image8 image;
  image.height = h;
  image.width = w;
  image.channels = c;
  image.pixels.assign(data, data + static_cast<std::size_t>(w) * h * c);
  stbi_image_free(data);
  return image;
}

nn::Image8 pattern_image(nn::Index height, nn::Index width, nn::Index channels) {
  nn::Image8 image;
  image.height = height;
  image.width = width;
  image.channels = channels;
  for (nn::Index i = 0; i < height * width * channels; ++i) {
    image.pixels.push_back(static_cast<std::uint8_t>((i * 37 + 11) % 256));
  }
  return image;
}

}  // namespace

TEST_CASE("write_png round trip keeps every byte") {
  ScratchDir dir("round_trip");
  for (nn::Index channels = 1; channels <= 4; ++channels) {
    CAPTURE(channels);
    const nn::Image8 image = pattern_image(3, 5, channels);
    const std::string path = dir.file("image" + std::to_string(channels) + ".png");
    nn::write_png(path, image);

    const nn::Image8 back = read_png(path);
    CHECK(back.height == 3);
    CHECK(back.width == 5);
    CHECK(back.channels == channels);
    CHECK(back.pixels == image.pixels);
  }
}

TEST_CASE("write_png of a tensor rounds and clamps to 0..255") {
  ScratchDir dir("tensor");
  nn::Tensor<float> image(nn::Shape{1, 2, 3});
  const float values[] = {-3.0f, 0.4f, 0.6f, 127.5f, 254.6f, 300.0f};
  for (int i = 0; i < 6; ++i) image[i] = values[i];
  const std::string path = dir.file("tensor.png");
  nn::write_png(path, image);

  const nn::Image8 back = read_png(path);
  REQUIRE(back.channels == 3);
  REQUIRE(back.pixels.size() == 6u);
  CHECK(back.pixels[0] == 0);
  CHECK(back.pixels[1] == 0);
  CHECK(back.pixels[2] == 1);
  CHECK(back.pixels[3] == 128);
  CHECK(back.pixels[4] == 255);
  CHECK(back.pixels[5] == 255);
}

TEST_CASE("write_png accepts a single-image batch") {
  ScratchDir dir("batch");
  nn::Tensor<double> image(nn::Shape{1, 2, 2, 1});
  for (int i = 0; i < 4; ++i) image[i] = 60.0 * i;
  const std::string path = dir.file("batch.png");
  nn::write_png(path, image);

  const nn::Image8 back = read_png(path);
  CHECK(back.height == 2);
  CHECK(back.width == 2);
  CHECK(back.channels == 1);
  CHECK(back.pixels == std::vector<std::uint8_t>{0, 60, 120, 180});
}

TEST_CASE("write_png replaces a file and leaves no temporary file") {
  ScratchDir dir("replace");
  const std::string path = dir.file("out.png");
  nn::write_png(path, pattern_image(4, 4, 3));
  nn::write_png(path, pattern_image(2, 7, 1));

  CHECK(dir.entries() == std::vector<std::string>{"out.png"});
  const nn::Image8 back = read_png(path);
  CHECK(back.height == 2);
  CHECK(back.width == 7);
}

TEST_CASE("write_png errors name the path") {
  ScratchDir dir("errors");

  SUBCASE("missing directory") {
    const std::string path = dir.file("no/such/dir/out.png");
    const std::string message = "cannot write \"" + path + "\"";
    CHECK_THROWS_WITH_AS(nn::write_png(path, pattern_image(2, 2, 3)),
                         doctest::Contains(message.c_str()), nn::DataError);
  }
  SUBCASE("target is a directory, and the temporary file is removed") {
    const std::string path = dir.file("taken");
    fs::create_directory(path);
    const std::string message = "cannot write \"" + path + "\"";
    CHECK_THROWS_WITH_AS(nn::write_png(path, pattern_image(2, 2, 3)),
                         doctest::Contains(message.c_str()), nn::DataError);
    CHECK(dir.entries() == std::vector<std::string>{"taken"});
  }
  SUBCASE("unsupported channel count") {
    const std::string path = dir.file("five.png");
    CHECK_THROWS_WITH_AS(nn::write_png(path, pattern_image(2, 2, 5)),
                         doctest::Contains("expected 1 to 4 channels"), nn::ShapeError);
    CHECK(dir.entries().empty());
  }
  SUBCASE("pixel count that does not match the extents") {
    nn::Image8 image = pattern_image(2, 2, 3);
    image.pixels.pop_back();
    CHECK_THROWS_WITH_AS(nn::write_png(dir.file("short.png"), image),
                         doctest::Contains("expected 12 bytes"), nn::ShapeError);
  }
}

TEST_CASE("to_image8 rejects NaN and wrong ranks") {
  nn::Tensor<float> image(nn::Shape{2, 2, 3});
  image[7] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH_AS(nn::to_image8(image), doctest::Contains("at [y, x, c] = [1, 0, 1]"),
                       nn::ShapeError);

  nn::Tensor<float> batch(nn::Shape{2, 2, 2, 3});
  CHECK_THROWS_WITH_AS(nn::to_image8(batch),
                       doctest::Contains("expected an image [H, W, C] or [1, H, W, C], got "
                                         "[2, 2, 2, 3]"),
                       nn::ShapeError);
}
