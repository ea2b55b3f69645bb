#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "nn/layers/conv2d.hpp"
#include "nn/layers/dense.hpp"
#include "nn/layers/dropout.hpp"
#include "nn/layers/flatten.hpp"
#include "nn/layers/max_pool2d.hpp"
#include "nn/layers/random_flip.hpp"
#include "nn/layers/random_rotation.hpp"
#include "nn/layers/random_zoom.hpp"
#include "nn/layers/rescaling.hpp"
#include "nn/model/sequential.hpp"
#include "nn/optimizers/adam.hpp"

using nn::Index;
using nn::Mode;
using nn::Shape;
using nn::Tensor;

namespace {

/// The reference classifier with augmentation in front: RandomFlip("horizontal"),
/// RandomRotation(0.1), RandomZoom(0.1), Rescaling(1/255), three Conv2D + MaxPool blocks of
/// 16, 32 and 64 filters, Dropout(0.2), Flatten, Dense(128, relu), Dense(classes).
nn::Sequential<float> augmented_reference_model(Index size, Index classes, std::uint64_t seed) {
  using nn::Activation;
  using nn::Padding;
  return nn::Sequential<float>(
      Shape{size, size, 3}, seed, nn::RandomFlip<float>("horizontal"),
      nn::RandomRotation<float>(0.1), nn::RandomZoom<float>(0.1),
      nn::Rescaling<float>(1.0 / 255.0),
      nn::Conv2D<float>(16, 3, Padding::Same, Activation::ReLU), nn::MaxPool2D<float>(),
      nn::Conv2D<float>(32, 3, Padding::Same, Activation::ReLU), nn::MaxPool2D<float>(),
      nn::Conv2D<float>(64, 3, Padding::Same, Activation::ReLU), nn::MaxPool2D<float>(),
      nn::Dropout<float>(0.2), nn::Flatten<float>(),
      nn::Dense<float>(128, Activation::ReLU), nn::Dense<float>(classes));
}

/// Images [n, size, size, 3] in 0..255 whose class is the bright colour channel, with noise.
/// Flips, small rotations and zooms keep the class, as augmentation must.
void make_colour_images(Index n, Index size, std::uint64_t seed, Tensor<float>& images,
                        std::vector<std::int32_t>& labels) {
  images.resize(Shape{n, size, size, 3});
  labels.resize(static_cast<std::size_t>(n));
  nn::Random rng(seed);
  for (Index i = 0; i < n; ++i) {
    const auto label = static_cast<std::int32_t>(i % 3);
    labels[static_cast<std::size_t>(i)] = label;
    for (Index p = 0; p < size * size; ++p) {
      for (Index c = 0; c < 3; ++c) {
        const double base = c == label ? 200.0 : 50.0;
        images[(i * size * size + p) * 3 + c] = static_cast<float>(base + rng.uniform(-40, 40));
      }
    }
  }
}

/// Returns the first summary line of the layer called `name`. Keras' layout wraps a long
/// "name (type)" column onto the next line, but the output shape and parameter count stay on
/// the first.
std::string summary_row(const std::string& summary, const std::string& name) {
  std::istringstream lines(summary);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(" " + name + " (", 0) == 0) return line;
  }
  return "";
}

}  // namespace

TEST_CASE("augmented reference network builds with parameter-free augmentation") {
  auto model = augmented_reference_model(32, 3, 1);
  const std::string summary = model.summary();
  CAPTURE(summary);

  for (const std::string name : {"random_flip", "random_rotation", "random_zoom"}) {
    const std::string row = summary_row(summary, name);
    CAPTURE(name);
    REQUIRE_FALSE(row.empty());
    CHECK(row.find("(None, 32, 32, 3)") != std::string::npos);
    CHECK(row.substr(row.find_last_not_of(' ')) == "0");
  }
  CHECK(model.layer(0).parameter_count() == 0);
  CHECK(model.layer(1).parameter_count() == 0);
  CHECK(model.layer(2).parameter_count() == 0);

  // Conv2D 448 + 4,640 + 18,496, Dense 1024 * 128 + 128 and 128 * 3 + 3.
  CHECK(model.parameter_count() == 155171);
  CHECK(summary.find("Total params: 155,171") != std::string::npos);
  CHECK(model.output_shape() == Shape{3});
}

TEST_CASE("augmented reference network trains and predicts deterministically") {
  Tensor<float> images;
  std::vector<std::int32_t> labels;
  make_colour_images(12, 32, 5, images, labels);

  auto model = augmented_reference_model(32, 3, 2);
  model.compile(nn::Adam<float>(1e-3));
  std::vector<double> losses;
  for (int step = 0; step < 8; ++step) losses.push_back(model.train_on_batch(images, labels));

  // The augmentation ran in training: every image of the batch got its own draw.
  const auto& rotation = dynamic_cast<const nn::RandomRotation<float>&>(model.layer(1));
  CHECK(rotation.last_angles().size() == 12u);

  CAPTURE(losses[0]);
  CAPTURE(losses.back());
  CHECK(losses[0] == doctest::Approx(std::log(3.0)).epsilon(0.3));
  CHECK(losses.back() < 0.5 * losses[0]);

  // In inference augmentation and dropout are the identity, so predictions repeat exactly.
  const Tensor<float> first = model.predict(images);
  const Tensor<float> second = model.predict(images);
  CHECK(std::vector<float>(first.data(), first.data() + first.size()) ==
        std::vector<float>(second.data(), second.data() + second.size()));
}
