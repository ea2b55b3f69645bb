// Builds, trains, saves and reloads a small Sequential through the installed package.
#include <nn/sequential.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

int main() {
  // Two classes of 4x4 images: bright top rows or bright bottom rows.
  const nn::Index n = 32;
  nn::Tensor<float> images(nn::Shape{n, 4, 4, 1});
  std::vector<std::int32_t> labels(static_cast<std::size_t>(n));
  nn::Random rng(1);
  for (nn::Index i = 0; i < n; ++i) {
    labels[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(i % 2);
    for (nn::Index p = 0; p < 16; ++p) {
      const bool top = p < 8;
      const bool bright = top == (i % 2 == 0);
      images[i * 16 + p] = static_cast<float>((bright ? 200.0 : 40.0) + rng.uniform(-20, 20));
    }
  }

  nn::Sequential<float> model({4, 4, 1}, 3, nn::Rescaling<float>(1.0 / 255.0),
                              nn::Conv2D<float>(4, 3, nn::Padding::Same, nn::Activation::ReLU),
                              nn::MaxPool2D<float>(), nn::Flatten<float>(), nn::Dense<float>(2));
  const nn::Index expected_parameters = (3 * 3 * 1 * 4 + 4) + (2 * 2 * 4 * 2 + 2);
  if (model.parameter_count() != expected_parameters) {
    std::cerr << "expected " << expected_parameters << " parameters, got "
              << model.parameter_count() << "\n";
    return 1;
  }
  std::cout << model.summary();

  model.compile(nn::Adam<float>(0.02));
  nn::FitOptions options;
  options.epochs = 20;
  options.batch_size = 8;
  const nn::History history = model.fit(images, labels, options);
  std::cout << "final loss " << history.loss.back() << ", accuracy " << history.accuracy.back()
            << "\n";
  if (!(history.loss.back() < history.loss.front())) {
    std::cerr << "expected the loss to fall, got " << history.loss.front() << " then "
              << history.loss.back() << "\n";
    return 1;
  }

  const std::string path =
      (std::filesystem::temp_directory_path() / "nn_consumer_model.nn").string();
  model.save(path);
  auto loaded = nn::Sequential<float>::load(path);
  std::remove(path.c_str());
  const nn::Tensor<float> a = model.predict(images);
  const nn::Tensor<float> b = loaded.predict(images);
  for (nn::Index i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) {
      std::cerr << "expected identical predictions after save and load, element " << i
                << " differs: " << a[i] << " vs " << b[i] << "\n";
      return 1;
    }
  }
  std::cout << "consumer built, trained and reloaded a model through find_package(nn)\n";
  return 0;
}
