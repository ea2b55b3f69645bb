#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "nn/data/tensor_dataset.hpp"

namespace {

// Ten samples [10, 2] whose first feature is the sample index; label = index % 3.
nn::TensorDataset<float> make_dataset(nn::Index batch_size, bool shuffle, std::uint64_t seed = 1) {
  nn::Tensor<float> samples(nn::Shape{10, 2});
  std::vector<std::int32_t> labels(10);
  for (nn::Index i = 0; i < 10; ++i) {
    samples[2 * i] = static_cast<float>(i);
    samples[2 * i + 1] = -static_cast<float>(i);
    labels[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(i % 3);
  }
  return nn::TensorDataset<float>(std::move(samples), std::move(labels), batch_size, shuffle, seed);
}

// Returns the sample indices of one epoch in the order the batches deliver them.
std::vector<int> epoch_order(nn::TensorDataset<float>& data, nn::Index epoch) {
  data.begin_epoch(epoch);
  nn::Tensor<float> images;
  std::vector<std::int32_t> labels;
  std::vector<int> order;
  while (data.next_batch(images, labels)) {
    for (nn::Index i = 0; i < images.dim(0); ++i) {
      const int index = static_cast<int>(images[2 * i]);
      CHECK(images[2 * i + 1] == -static_cast<float>(index));
      CHECK(labels[static_cast<std::size_t>(i)] == index % 3);
      order.push_back(index);
    }
  }
  return order;
}

}  // namespace

TEST_CASE("TensorDataset reports its shapes and counts") {
  auto data = make_dataset(4, false);
  CHECK(data.sample_shape() == nn::Shape{2});
  CHECK(data.sample_count() == 10);
  CHECK(data.batch_size() == 4);
  CHECK(data.batch_count() == 3);
  CHECK(data.class_count() == 3);
}

TEST_CASE("TensorDataset without shuffling serves samples in order with a smaller last batch") {
  auto data = make_dataset(4, false);
  data.begin_epoch(0);
  nn::Tensor<float> images;
  std::vector<std::int32_t> labels;
  std::vector<nn::Index> sizes;
  while (data.next_batch(images, labels)) sizes.push_back(images.dim(0));
  CHECK(sizes == std::vector<nn::Index>{4, 4, 2});
  CHECK(epoch_order(data, 3) == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
}

TEST_CASE("TensorDataset shuffles every sample once per epoch, reproducibly") {
  auto data = make_dataset(3, true, 42);
  const auto first = epoch_order(data, 0);
  const auto second = epoch_order(data, 1);
  auto sorted = first;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(first != second);

  auto again = make_dataset(3, true, 42);
  CHECK(epoch_order(again, 1) == second);
  CHECK(epoch_order(again, 0) == first);
  auto other_seed = make_dataset(3, true, 43);
  CHECK(epoch_order(other_seed, 0) != first);
}

TEST_CASE("TensorDataset view serves the caller's tensors") {
  nn::Tensor<double> samples(nn::Shape{3, 1, 1, 1});
  samples[2] = 5.0;
  const std::vector<std::int32_t> labels{0, 1, 0};
  auto data = nn::TensorDataset<double>::view(samples, labels, 8, false, 0, 4);
  CHECK(data.class_count() == 4);
  data.begin_epoch(0);
  nn::Tensor<double> images;
  std::vector<std::int32_t> batch_labels;
  REQUIRE(data.next_batch(images, batch_labels));
  CHECK(images.shape() == nn::Shape{3, 1, 1, 1});
  CHECK(images[2] == 5.0);
  CHECK(batch_labels == labels);
  CHECK_FALSE(data.next_batch(images, batch_labels));
}

TEST_CASE("TensorDataset rejects mismatched labels and invalid arguments") {
  nn::Tensor<float> samples(nn::Shape{3, 2});
  CHECK_THROWS_WITH_AS(nn::TensorDataset<float>(samples, {0, 1}, 2),
                       "TensorDataset: expected 3 labels (one per sample of [3, 2]), got 2",
                       nn::ShapeError);
  CHECK_THROWS_WITH_AS(nn::TensorDataset<float>(samples, {0, 1, 2}, 0),
                       "TensorDataset: batch_size must be >= 1, got 0", nn::ShapeError);
  CHECK_THROWS_WITH_AS(nn::TensorDataset<float>(samples, {0, -1, 2}, 2),
                       doctest::Contains("label -1 at index 1 is out of range"), nn::ShapeError);
  CHECK_THROWS_WITH_AS(nn::TensorDataset<float>(samples, {0, 1, 2}, 2, true, 0, 2),
                       "TensorDataset: label 2 at index 2 is out of range; expected a class "
                       "index in [0, 2)",
                       nn::ShapeError);
  CHECK_THROWS_WITH_AS(nn::TensorDataset<float>(nn::Tensor<float>(nn::Shape{3}), {0, 1, 2}, 2),
                       doctest::Contains("expected samples [N, ...] of rank 2 or more, got [3]"),
                       nn::ShapeError);
}
