#pragma once
/// The interface through which a model reads batches of samples and labels.

#include <cstdint>
#include <vector>

#include "nn/core/shape.hpp"
#include "nn/core/tensor.hpp"

namespace nn {

/// A data set that a model iterates batch by batch, epoch after epoch.
///
/// Images arrive as [N, H, W, C] with values as stored (0 to 255 for decoded photos; the model
/// rescales). Labels are class indices in [0, class_count()).
template <typename Scalar>
class BatchSource {
 public:
  virtual ~BatchSource() = default;

  /// Per-sample shape, e.g. [H, W, 3].
  virtual Shape sample_shape() const = 0;
  virtual Index sample_count() const = 0;
  virtual Index batch_size() const = 0;
  virtual Index class_count() const = 0;

  /// Number of batches in one epoch; the last one may be smaller.
  Index batch_count() const { return (sample_count() + batch_size() - 1) / batch_size(); }

  /// Starts epoch `epoch` (0-based): reshuffles when the source shuffles, seeded by the epoch.
  virtual void begin_epoch(Index epoch) = 0;

  /// Fills the next batch of this epoch; returns false when the epoch has no batch left.
  virtual bool next_batch(Tensor<Scalar>& images, std::vector<std::int32_t>& labels) = 0;
};

}  // namespace nn
