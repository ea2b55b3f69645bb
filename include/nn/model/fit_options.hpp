#pragma once
/// The options of `Sequential::fit` and the callbacks through which training reports progress.

#include <cstdint>
#include <functional>

#include "nn/core/shape.hpp"
#include "nn/model/history.hpp"

namespace nn {

/// Callback after every training batch. `step` counts the batches finished in this epoch
/// (1 to `steps_per_epoch`). `loss` and `accuracy` are running means over the epoch's samples
/// so far, as Keras' progress bar shows them.
using BatchEndCallback =
    std::function<void(Index step, Index steps_per_epoch, double loss, double accuracy)>;

/// Callback before each epoch, with its 0-based index and the `epochs` value of the fit call.
using EpochBeginCallback = std::function<void(Index epoch, Index epochs)>;

/// Callback after each finished epoch, validation included.
using EpochEndCallback = std::function<void(const EpochLogs& logs)>;

/// Settings of `Sequential::fit`, each with the meaning of Keras' argument of that name.
struct FitOptions {
  /// Index of the epoch at which training stops: epochs initial_epoch .. epochs - 1 run.
  Index epochs = 1;

  /// First epoch to run, to resume a model saved after `initial_epoch` epochs. Shuffling and
  /// random layers are seeded by the epoch index, so a resumed run repeats what an
  /// uninterrupted one would have done.
  Index initial_epoch = 0;

  /// Samples per batch and reshuffling per epoch, used only by the overloads that take
  /// tensors; a BatchSource batches and shuffles by itself.
  Index batch_size = 32;
  bool shuffle = true;

  EpochBeginCallback on_epoch_begin;
  BatchEndCallback on_batch_end;
  EpochEndCallback on_epoch_end;
};

}  // namespace nn
