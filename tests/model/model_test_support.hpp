#pragma once
/// Small data sets and scratch folders shared by the model tests.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "nn/core/random.hpp"
#include "nn/core/tensor.hpp"

namespace nn::test {

/// Grey 8x8 images [n, 8, 8, 1] in 0..255 of two classes: class 0 has a bright left half and a
/// dark right half, class 1 the opposite. Every pixel carries uniform noise of +-40.
struct TwoHalves {
  Tensor<float> images;
  std::vector<std::int32_t> labels;
};

inline TwoHalves make_two_halves(Index n, std::uint64_t seed) {
  TwoHalves data;
  data.images.resize(Shape{n, 8, 8, 1});
  data.labels.resize(static_cast<std::size_t>(n));
  Random rng(seed);
  for (Index i = 0; i < n; ++i) {
    const auto label = static_cast<std::int32_t>(i % 2);
    data.labels[static_cast<std::size_t>(i)] = label;
    for (Index y = 0; y < 8; ++y) {
      for (Index x = 0; x < 8; ++x) {
        const bool left = x < 4;
        const double base = (left == (label == 0)) ? 190.0 : 60.0;
        data.images[((i * 8 + y) * 8 + x)] = static_cast<float>(base + rng.uniform(-40.0, 40.0));
      }
    }
  }
  return data;
}

/// A fresh folder under the system's temporary folder, removed with its contents at the end.
class ScratchFolder {
 public:
  ScratchFolder() {
    static std::atomic<int> counter{0};
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path_ = std::filesystem::temp_directory_path() /
            ("nn_model_test_" + std::to_string(stamp) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~ScratchFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;

  /// Returns the path of a file in this folder.
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace nn::test
