#pragma once
/// Exception types thrown by nn. Messages follow "where: expected ..., got ...[; hint]".

#include <stdexcept>
#include <string>

namespace nn {

/// A shape or argument that does not fit what a layer, model or optimizer expects.
class ShapeError : public std::invalid_argument {
 public:
  explicit ShapeError(const std::string& message) : std::invalid_argument(message) {}
};

/// A file or data problem: a missing folder, an unreadable image, a corrupt model file.
class DataError : public std::runtime_error {
 public:
  explicit DataError(const std::string& message) : std::runtime_error(message) {}
};

/// Training that cannot go on, for example a loss that became NaN or infinite.
class TrainingError : public std::runtime_error {
 public:
  explicit TrainingError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace nn
