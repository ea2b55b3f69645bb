// Throughput of the image folder data set: images decoded and resized per second, and batches
// per second once the images are cached (or streamed from disk).
//
// Real photos: set NN_DATA_BENCH_DIR to a folder of class sub-folders, e.g.
//   NN_DATA_BENCH_DIR=/path/to/pet_breeds ./data_bench
// Without it, a temporary folder of 96 generated 500x375 JPEGs (the median size of the
// Oxford-IIIT pet photos) in 3 classes is used.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "nn/data/image_folder.hpp"
#include "nn/io/image.hpp"
#include "nn/io/resize.hpp"

#if !defined(INCLUDE_STB_IMAGE_WRITE_H)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>
#undef STB_IMAGE_WRITE_IMPLEMENTATION
#pragma GCC diagnostic pop
#endif

namespace fs = std::filesystem;

namespace {

constexpr nn::ImageSize kTargetSize{180, 180};  // the size of Keras' image classification guide

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<std::uint8_t>*>(context);
  const auto* p = static_cast<const std::uint8_t*>(data);
  out->insert(out->end(), p, p + size);
}

/// A folder of generated photos-sized JPEGs, made once and removed at exit.
class GeneratedFolder {
 public:
  GeneratedFolder() {
    std::string pattern = (fs::temp_directory_path() / "nn_data_bench_XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    root_ = pattern;
    const int width = 500, height = 375;
    std::vector<std::uint8_t> pixels(static_cast<std::size_t>(width * height * 3));
    for (int i = 0; i < 96; ++i) {
      // Smooth gradients plus texture, so the JPEG is about as large as a photo's.
      std::size_t k = 0;
      for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x) {
          pixels[k++] = static_cast<std::uint8_t>((x + i * 7) & 255);
          pixels[k++] = static_cast<std::uint8_t>((y * 2 + (x * y) % 13) & 255);
          pixels[k++] = static_cast<std::uint8_t>(((x ^ y) + i) & 255);
        }
      }
      std::vector<std::uint8_t> jpeg;
      stbi_write_jpg_to_func(append_bytes, &jpeg, width, height, 3, pixels.data(), 85);
      const fs::path file = root_ / ("class_" + std::to_string(i % 3)) /
                            ("photo_" + std::to_string(i) + ".jpg");
      fs::create_directories(file.parent_path());
      std::ofstream(file, std::ios::binary)
          .write(reinterpret_cast<const char*>(jpeg.data()), static_cast<std::streamsize>(jpeg.size()));
    }
  }
  ~GeneratedFolder() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  std::string root() const { return root_.string(); }

 private:
  fs::path root_;
};

/// The folder under test: NN_DATA_BENCH_DIR when set, else the generated one.
const std::string& bench_root() {
  static const std::string root = [] {
    if (const char* dir = std::getenv("NN_DATA_BENCH_DIR"); dir != nullptr && *dir) {
      return std::string(dir);
    }
    static GeneratedFolder generated;
    return generated.root();
  }();
  return root;
}

/// The bytes of up to `limit` image files of the folder, read once so decoding is timed alone.
const std::vector<std::vector<std::uint8_t>>& file_bytes(std::size_t limit = 96) {
  static const std::vector<std::vector<std::uint8_t>> files = [limit] {
    std::vector<std::vector<std::uint8_t>> out;
    for (const auto& entry : fs::recursive_directory_iterator(bench_root())) {
      if (out.size() == limit) break;
      if (!entry.is_regular_file() || !nn::detail::has_image_extension(entry.path())) continue;
      std::vector<std::uint8_t> bytes;
      if (nn::detail::read_file_bytes(entry.path().string(), bytes).empty()) {
        out.push_back(std::move(bytes));
      }
    }
    return out;
  }();
  return files;
}

nn::ImageFolderOptions bench_options() {
  nn::ImageFolderOptions options;
  options.image_size = kTargetSize;
  options.batch_size = 32;
  options.seed = 1337;
  return options;
}

}  // namespace

// One thread: decode a file held in memory and resize it to 180x180, as the loader does.
static void BM_Image_DecodeResize(benchmark::State& state) {
  const auto& files = file_bytes();
  if (files.empty()) {
    state.SkipWithError("no image files found");
    return;
  }
  std::vector<std::uint8_t> out(static_cast<std::size_t>(kTargetSize.height * kTargetSize.width * 3));
  std::size_t next = 0;
  for (auto _ : state) {
    const auto& bytes = files[next++ % files.size()];
    nn::RgbImage image;
    if (!nn::detail::decode_rgb(bytes.data(), bytes.size(), nn::kDefaultMaxPixels, image).empty()) {
      state.SkipWithError("a file did not decode");
      return;
    }
    nn::resize_image(image.pixels.data(), image.height, image.width, 3, out.data(), kTargetSize);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());  // images/s
}
BENCHMARK(BM_Image_DecodeResize)->Unit(benchmark::kMillisecond)->UseRealTime();

// The whole load on all cores: scan, read, decode, resize and cache every image of the folder.
static void BM_ImageFolder_Load(benchmark::State& state) {
  const auto options = bench_options();
  nn::Index images = 0;
  for (auto _ : state) {
    auto [data, unused] = nn::image_dataset_from_directory<float>(bench_root(), options);
    images = data.sample_count();
    benchmark::DoNotOptimize(images);
  }
  state.SetItemsProcessed(state.iterations() * images);  // images/s
  state.counters["threads"] = nn::num_threads();
}
BENCHMARK(BM_ImageFolder_Load)->Unit(benchmark::kMillisecond)->UseRealTime();

// Batches of 32 at 180x180 from the cache (state.range(0) = 1) or streamed from disk (0).
static void BM_ImageDataset_Batches(benchmark::State& state) {
  auto options = bench_options();
  if (state.range(0) == 0) options.cache_budget_bytes = 0;
  auto [data, unused] = nn::image_dataset_from_directory<float>(bench_root(), options);
  nn::Tensor<float> images;
  std::vector<std::int32_t> labels;
  nn::Index epoch = 0, batches = 0, samples = 0;
  data.begin_epoch(epoch);
  for (auto _ : state) {
    if (!data.next_batch(images, labels)) {
      data.begin_epoch(++epoch);
      data.next_batch(images, labels);
    }
    benchmark::DoNotOptimize(images.data());
    ++batches;
    samples += images.dim(0);
  }
  state.SetItemsProcessed(samples);  // images/s
  state.counters["batches/s"] = benchmark::Counter(static_cast<double>(batches),
                                                   benchmark::Counter::kIsRate);
  state.SetLabel(data.cached() ? "cached" : "streamed");
}
BENCHMARK(BM_ImageDataset_Batches)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
