#pragma once
/// Sparse categorical cross-entropy on logits: softmax and negative log-likelihood in one step.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "nn/core/errors.hpp"
#include "nn/core/shape.hpp"
#include "nn/core/tensor.hpp"

namespace nn {

/// Mean cross-entropy between softmax(logits) and integer class labels, with its gradient.
///
/// Shapes: logits [N, C] (or any [N, ...] whose trailing extents multiply to C), labels N class
/// indices in [0, C). This is Keras' `SparseCategoricalCrossentropy(from_logits=True)`.
///
/// For one sample with logits z and label y, with m = max_j z_j:
///   loss = log(sum_j exp(z_j)) - z_y = m + log(sum_j exp(z_j - m)) - z_y
/// Subtracting m keeps every exponent <= 0, so logits of +-1e4 give a finite loss. The batch
/// loss is the mean over the N samples, hence
///   dloss/dz_ij = (softmax(z_i)_j - [j == y_i]) / N.
template <typename Scalar>
class SoftmaxCrossEntropy {
 public:
  /// The Keras class name, stored in saved models.
  std::string type() const { return "SparseCategoricalCrossentropy"; }

  /// Computes the mean loss over the batch and keeps its gradient for `gradient()`.
  ///
  /// Throws ShapeError when the label count differs from N or a label is out of range.
  double forward(const Tensor<Scalar>& logits, const std::vector<std::int32_t>& labels) {
    check(logits, labels);
    const Index n = logits.dim(0);
    const Index classes = logits.size() / std::max<Index>(n, 1);
    gradient_.resize({n, classes});
    last_batch_loss_sum_ = 0.0;
    if (n == 0) return 0.0;

    const Scalar* z = logits.data();
    Scalar* dz = gradient_.data();
    const Scalar inv_n = Scalar(1) / static_cast<Scalar>(n);
    for (Index i = 0; i < n; ++i) {
      const Scalar* row = z + i * classes;
      Scalar* drow = dz + i * classes;
      const Scalar max = *std::max_element(row, row + classes);

      // exp(z - max) lands in (0, 1], and the sum is at least 1 because the maximum gives 1.
      Scalar sum = 0;
      for (Index j = 0; j < classes; ++j) {
        drow[j] = std::exp(row[j] - max);
        sum += drow[j];
      }
      const auto label = static_cast<Index>(labels[static_cast<std::size_t>(i)]);
      last_batch_loss_sum_ += static_cast<double>(max) + std::log(static_cast<double>(sum)) -
                              static_cast<double>(row[label]);

      const Scalar scale = inv_n / sum;
      for (Index j = 0; j < classes; ++j) drow[j] *= scale;
      drow[label] -= inv_n;
    }
    return last_batch_loss_sum_ / static_cast<double>(n);
  }

  /// Returns dloss/dlogits of the last `forward()`, shaped [N, C] and owned by this object.
  const Tensor<Scalar>& gradient() const { return gradient_; }

  /// Returns the sum (not the mean) of the per-sample losses of the last `forward()`.
  double last_loss_sum() const { return last_batch_loss_sum_; }

  /// Returns the mean loss over the batch without computing the gradient.
  static double loss(const Tensor<Scalar>& logits, const std::vector<std::int32_t>& labels) {
    check(logits, labels);
    const Index n = logits.dim(0);
    if (n == 0) return 0.0;
    const Index classes = logits.size() / n;
    double total = 0.0;
    for (Index i = 0; i < n; ++i) {
      const Scalar* row = logits.data() + i * classes;
      const double max = static_cast<double>(*std::max_element(row, row + classes));
      double sum = 0.0;
      for (Index j = 0; j < classes; ++j) sum += std::exp(static_cast<double>(row[j]) - max);
      const auto label = static_cast<Index>(labels[static_cast<std::size_t>(i)]);
      total += max + std::log(sum) - static_cast<double>(row[label]);
    }
    return total / static_cast<double>(n);
  }

 private:
  static void check(const Tensor<Scalar>& logits, const std::vector<std::int32_t>& labels) {
    if (logits.rank() < 2) {
      throw ShapeError("SoftmaxCrossEntropy: expected logits [N, C], got " +
                       logits.shape().to_string());
    }
    const Index n = logits.dim(0);
    const Index classes = n == 0 ? logits.shape().without_batch().size() : logits.size() / n;
    if (classes < 1) {
      throw ShapeError("SoftmaxCrossEntropy: expected at least 1 class, got logits " +
                       logits.shape().to_string());
    }
    if (static_cast<Index>(labels.size()) != n) {
      throw ShapeError("SoftmaxCrossEntropy: expected " + std::to_string(n) +
                       " labels (one per row of logits " + logits.shape().to_string() +
                       "), got " + std::to_string(labels.size()));
    }
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (labels[i] < 0 || labels[i] >= classes) {
        throw ShapeError("SoftmaxCrossEntropy: label " + std::to_string(labels[i]) +
                         " at index " + std::to_string(i) + " is out of range; expected a " +
                         "class index in [0, " + std::to_string(classes) + ") for " +
                         std::to_string(classes) + " classes");
      }
    }
  }

  Tensor<Scalar> gradient_;  // [N, C]
  double last_batch_loss_sum_ = 0.0;
};

/// Returns the softmax of each row of logits [N, C]: class probabilities that sum to 1.
template <typename Scalar>
Tensor<Scalar> softmax(const Tensor<Scalar>& logits) {
  if (logits.rank() < 2) {
    throw ShapeError("softmax: expected logits [N, C], got " + logits.shape().to_string());
  }
  Tensor<Scalar> probabilities(logits.shape());
  const Index n = logits.dim(0);
  if (n == 0 || logits.size() == 0) return probabilities;
  const Index classes = logits.size() / n;
  for (Index i = 0; i < n; ++i) {
    const Scalar* row = logits.data() + i * classes;
    Scalar* out = probabilities.data() + i * classes;
    const Scalar max = *std::max_element(row, row + classes);
    Scalar sum = 0;
    for (Index j = 0; j < classes; ++j) {
      out[j] = std::exp(row[j] - max);
      sum += out[j];
    }
    for (Index j = 0; j < classes; ++j) out[j] /= sum;
  }
  return probabilities;
}

/// Returns how many rows of logits [N, C] have their maximum at the label's column.
///
/// Ties go to the first maximum, as `argmax` does in NumPy and Keras.
template <typename Scalar>
Index count_correct(const Tensor<Scalar>& logits, const std::vector<std::int32_t>& labels) {
  const Index n = logits.rank() == 0 ? 0 : logits.dim(0);
  if (static_cast<Index>(labels.size()) != n) {
    throw ShapeError("count_correct: expected " + std::to_string(n) + " labels, got " +
                     std::to_string(labels.size()));
  }
  if (n == 0) return 0;
  const Index classes = logits.size() / n;
  Index correct = 0;
  for (Index i = 0; i < n; ++i) {
    const Scalar* row = logits.data() + i * classes;
    const auto predicted = static_cast<Index>(std::max_element(row, row + classes) - row);
    if (predicted == labels[static_cast<std::size_t>(i)]) ++correct;
  }
  return correct;
}

}  // namespace nn
