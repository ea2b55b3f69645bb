#include "confusion.hpp"

#include <cmath>
#include <cstdio>
#include <limits>

namespace pet_breeds {

long ConfusionMatrix::total() const {
  long n = 0;
  for (const auto& row : counts) {
    for (long c : row) n += c;
  }
  return n;
}

long ConfusionMatrix::correct() const {
  long n = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) n += counts[i][i];
  return n;
}

double ConfusionMatrix::accuracy() const {
  const long n = total();
  return n > 0 ? static_cast<double>(correct()) / n : 0.0;
}

double ConfusionMatrix::loss() const {
  const long n = total();
  return n > 0 ? loss_sum / n : 0.0;
}

long ConfusionMatrix::support(std::size_t c) const {
  long n = 0;
  for (long v : counts[c]) n += v;
  return n;
}

long ConfusionMatrix::predicted(std::size_t c) const {
  long n = 0;
  for (const auto& row : counts) n += row[c];
  return n;
}

double ConfusionMatrix::precision(std::size_t c) const {
  const long n = predicted(c);
  return n > 0 ? static_cast<double>(counts[c][c]) / n : std::numeric_limits<double>::quiet_NaN();
}

double ConfusionMatrix::recall(std::size_t c) const {
  const long n = support(c);
  return n > 0 ? static_cast<double>(counts[c][c]) / n : std::numeric_limits<double>::quiet_NaN();
}

ConfusionMatrix confusion_matrix(Model& model, nn::BatchSource<float>& data,
                                 std::size_t classes, const std::vector<int>& label_map) {
  ConfusionMatrix result;
  result.counts.assign(classes, std::vector<long>(classes, 0));
  nn::Tensor<float> images;
  std::vector<std::int32_t> labels;
  data.begin_epoch(0);
  while (data.next_batch(images, labels)) {
    const nn::Tensor<float> logits = model.predict(images);
    const auto width = static_cast<std::size_t>(logits.dim(1));
    for (std::size_t i = 0; i < labels.size(); ++i) {
      const float* row = logits.data() + i * width;
      const auto label = static_cast<std::size_t>(labels[i]);
      const auto truth = static_cast<std::size_t>(label_map.empty() ? labels[i] : label_map[label]);

      // Cross-entropy from logits through log-sum-exp, stable for large logits.
      std::size_t best = 0;
      for (std::size_t k = 1; k < width; ++k) {
        if (row[k] > row[best]) best = k;
      }
      double sum = 0.0;
      for (std::size_t k = 0; k < width; ++k) sum += std::exp(double(row[k]) - row[best]);
      result.loss_sum += double(row[best]) + std::log(sum) - double(row[truth]);
      ++result.counts[truth][best];
    }
  }
  return result;
}

std::string format_percent(double fraction) {
  if (std::isnan(fraction)) return "n/a";
  char text[32];
  std::snprintf(text, sizeof text, "%.2f%%", 100.0 * fraction);
  return text;
}

}  // namespace pet_breeds
