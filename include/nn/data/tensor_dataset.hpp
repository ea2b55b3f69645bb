#pragma once
/// An in-memory data set: a tensor of samples and their labels, served in (shuffled) batches.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "nn/core/errors.hpp"
#include "nn/core/random.hpp"
#include "nn/core/shape.hpp"
#include "nn/core/tensor.hpp"
#include "nn/data/batch_source.hpp"

namespace nn {

/// A BatchSource over samples [N, ...] and N labels kept in memory, like Keras'
/// `fit(x, y, batch_size, shuffle)`.
///
/// With shuffling on, epoch e visits the samples in an order drawn from
/// `Random(Random::derive_seed(seed, e))`, so an epoch's order depends only on the seed and the
/// epoch number: a run resumed at epoch e receives the same batches as an uninterrupted one.
template <typename Scalar>
class TensorDataset : public BatchSource<Scalar> {
 public:
  /// Takes ownership of the samples and labels. `class_count` 0 means max(label) + 1.
  TensorDataset(Tensor<Scalar> samples, std::vector<std::int32_t> labels, Index batch_size,
                bool shuffle = true, std::uint64_t seed = 0, Index class_count = 0)
      : TensorDataset(std::make_shared<const Tensor<Scalar>>(std::move(samples)),
                      std::make_shared<const std::vector<std::int32_t>>(std::move(labels)),
                      batch_size, shuffle, seed, class_count) {}

  /// Serves batches from tensors that the caller keeps alive, without copying them.
  static TensorDataset view(const Tensor<Scalar>& samples, const std::vector<std::int32_t>& labels,
                            Index batch_size, bool shuffle = true, std::uint64_t seed = 0,
                            Index class_count = 0) {
    auto no_delete = [](const void*) {};
    return TensorDataset(std::shared_ptr<const Tensor<Scalar>>(&samples, no_delete),
                         std::shared_ptr<const std::vector<std::int32_t>>(&labels, no_delete),
                         batch_size, shuffle, seed, class_count);
  }

  Shape sample_shape() const override { return sample_shape_; }
  Index sample_count() const override { return samples_->dim(0); }
  Index batch_size() const override { return batch_size_; }
  Index class_count() const override { return class_count_; }

  void begin_epoch(Index epoch) override {
    std::iota(order_.begin(), order_.end(), Index(0));
    if (shuffle_) {
      Random rng(Random::derive_seed(seed_, static_cast<std::uint64_t>(epoch)));
      rng.shuffle(order_.begin(), order_.end());
    }
    position_ = 0;
  }

  bool next_batch(Tensor<Scalar>& images, std::vector<std::int32_t>& labels) override {
    const Index n = sample_count();
    if (position_ >= n) return false;
    const Index count = std::min(batch_size_, n - position_);
    const Index sample_size = sample_shape_.size();
    batch_shape_[0] = count;
    images.resize(batch_shape_);  // copies into the existing shape, so no allocation
    labels.resize(static_cast<std::size_t>(count));
    for (Index i = 0; i < count; ++i) {
      const Index source = order_[static_cast<std::size_t>(position_ + i)];
      std::copy(samples_->data() + source * sample_size,
                samples_->data() + (source + 1) * sample_size, images.data() + i * sample_size);
      labels[static_cast<std::size_t>(i)] = (*labels_)[static_cast<std::size_t>(source)];
    }
    position_ += count;
    return true;
  }

 private:
  TensorDataset(std::shared_ptr<const Tensor<Scalar>> samples,
                std::shared_ptr<const std::vector<std::int32_t>> labels, Index batch_size,
                bool shuffle, std::uint64_t seed, Index class_count)
      : samples_(std::move(samples)), labels_(std::move(labels)), batch_size_(batch_size),
        shuffle_(shuffle), seed_(seed) {
    if (samples_->rank() < 2) {
      throw ShapeError("TensorDataset: expected samples [N, ...] of rank 2 or more, got " +
                       samples_->shape().to_string());
    }
    const Index n = samples_->dim(0);
    if (static_cast<Index>(labels_->size()) != n) {
      throw ShapeError("TensorDataset: expected " + std::to_string(n) +
                       " labels (one per sample of " + samples_->shape().to_string() +
                       "), got " + std::to_string(labels_->size()));
    }
    if (batch_size < 1) {
      throw ShapeError("TensorDataset: batch_size must be >= 1, got " +
                       std::to_string(batch_size));
    }
    if (class_count < 0) {
      throw ShapeError("TensorDataset: class_count must be >= 0 (0 counts the labels), got " +
                       std::to_string(class_count));
    }
    std::int32_t max_label = -1;
    for (std::size_t i = 0; i < labels_->size(); ++i) {
      const std::int32_t label = (*labels_)[i];
      if (label < 0 || (class_count > 0 && label >= class_count)) {
        const std::string expected =
            class_count > 0 ? "a class index in [0, " + std::to_string(class_count) + ")"
                            : std::string("a class index >= 0");
        throw ShapeError("TensorDataset: label " + std::to_string(label) + " at index " +
                         std::to_string(i) + " is out of range; expected " + expected);
      }
      max_label = std::max(max_label, label);
    }
    class_count_ = class_count > 0 ? class_count : static_cast<Index>(max_label) + 1;
    sample_shape_ = samples_->shape().without_batch();
    batch_shape_ = samples_->shape();
    order_.resize(static_cast<std::size_t>(n));
    begin_epoch(0);
  }

  std::shared_ptr<const Tensor<Scalar>> samples_;  // [N, ...sample_shape]
  std::shared_ptr<const std::vector<std::int32_t>> labels_;
  Index batch_size_;
  bool shuffle_;
  std::uint64_t seed_;
  Index class_count_ = 0;
  Shape sample_shape_;  // [...] of one sample
  Shape batch_shape_;   // [count, ...sample_shape_] of the last batch
  std::vector<Index> order_;  // sample indices in this epoch's order
  Index position_ = 0;
};

}  // namespace nn
