#pragma once
/// Training reports: one epoch's metrics, the whole run's history, and evaluation results.

#include <cstddef>
#include <limits>
#include <vector>

#include "nn/core/shape.hpp"

namespace nn {

/// Metrics of one finished epoch, as Keras passes them to `on_epoch_end`.
struct EpochLogs {
  Index epoch = 0;           ///< 0-based epoch index; progress displays show epoch + 1
  double loss = 0.0;         ///< mean training loss over the epoch's samples
  double accuracy = 0.0;     ///< fraction of the epoch's training samples classified correctly
  bool has_validation = false;
  double val_loss = std::numeric_limits<double>::quiet_NaN();      ///< NaN without validation
  double val_accuracy = std::numeric_limits<double>::quiet_NaN();  ///< NaN without validation
  double seconds = 0.0;      ///< wall time of the epoch, validation included
};

/// Loss and accuracy of a model over a whole data set, as returned by `evaluate`.
struct Evaluation {
  double loss = 0.0;      ///< mean loss over the samples
  double accuracy = 0.0;  ///< fraction of samples whose largest logit is at their label
  Index samples = 0;
};

/// Per-epoch metrics of one `fit` call, like Keras' `History.history`.
///
/// Entry i of every vector belongs to epoch `epochs[i]`. `val_loss` and `val_accuracy` stay
/// empty when fit ran without validation data.
struct History {
  std::vector<Index> epochs;
  std::vector<double> loss;
  std::vector<double> accuracy;
  std::vector<double> val_loss;
  std::vector<double> val_accuracy;
  std::vector<double> seconds;
  bool stopped_early = false;  ///< true when `stop_training()` ended fit before its last epoch

  /// Appends one finished epoch.
  void append(const EpochLogs& logs) {
    epochs.push_back(logs.epoch);
    loss.push_back(logs.loss);
    accuracy.push_back(logs.accuracy);
    if (logs.has_validation) {
      val_loss.push_back(logs.val_loss);
      val_accuracy.push_back(logs.val_accuracy);
    }
    seconds.push_back(logs.seconds);
  }

  /// Number of epochs recorded.
  std::size_t size() const { return loss.size(); }
};

}  // namespace nn
