#pragma once
/// Per-class results of a model on a data set: the confusion matrix and the mean loss.

#include <cstddef>
#include <string>
#include <vector>

#include <nn/data/batch_source.hpp>

#include "model.hpp"

namespace pet_breeds {

/// Counts of (true class, predicted class) pairs plus the summed cross-entropy loss.
struct ConfusionMatrix {
  std::vector<std::vector<long>> counts;  ///< [true class][predicted class]
  double loss_sum = 0.0;

  long total() const;
  long correct() const;
  double accuracy() const;        ///< correct / total, 0 for an empty set
  double loss() const;            ///< mean cross-entropy, 0 for an empty set
  long support(std::size_t c) const;    ///< samples whose true class is c
  long predicted(std::size_t c) const;  ///< samples predicted as c
  double precision(std::size_t c) const;  ///< NaN when nothing was predicted as c
  double recall(std::size_t c) const;     ///< NaN when class c has no samples
};

/// Runs `model` in inference mode on every batch of `data` and tallies its predictions.
///
/// `label_map[k]` is the model class of the data's label k; an empty map means the labels are
/// the model's classes already. `classes` is the model's class count.
ConfusionMatrix confusion_matrix(Model& model, nn::BatchSource<float>& data,
                                 std::size_t classes, const std::vector<int>& label_map = {});

/// Formats a fraction as a percentage with two decimals, e.g. "20.93%"; "n/a" for NaN.
std::string format_percent(double fraction);

}  // namespace pet_breeds
