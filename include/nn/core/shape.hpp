#pragma once
/// Shapes of tensors and the one formatter that every error message uses.

#include <cstddef>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "nn/core/errors.hpp"

namespace nn {

using Index = Eigen::Index;

/// The extents of a tensor, outermost first. Activations are [N, H, W, C] or [N, F].
class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<Index> dims) : dims_(dims) {}
  explicit Shape(std::vector<Index> dims) : dims_(std::move(dims)) {}

  Index rank() const { return static_cast<Index>(dims_.size()); }
  Index operator[](Index i) const { return dims_[static_cast<std::size_t>(i)]; }
  Index& operator[](Index i) { return dims_[static_cast<std::size_t>(i)]; }
  const std::vector<Index>& dims() const { return dims_; }

  /// Product of all extents; 1 for a rank-0 shape.
  Index size() const {
    Index n = 1;
    for (Index d : dims_) n *= d;
    return n;
  }

  /// Shape with `batch` prepended: a per-sample shape [H, W, C] becomes [batch, H, W, C].
  Shape with_batch(Index batch) const {
    std::vector<Index> dims{batch};
    dims.insert(dims.end(), dims_.begin(), dims_.end());
    return Shape(std::move(dims));
  }

  /// Shape without its first extent: [N, H, W, C] becomes [H, W, C].
  Shape without_batch() const {
    if (dims_.empty()) return {};
    return Shape(std::vector<Index>(dims_.begin() + 1, dims_.end()));
  }

  friend bool operator==(const Shape& a, const Shape& b) { return a.dims_ == b.dims_; }
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

  /// Formats as "[32, 64, 64, 1]", the form every message in nn uses.
  std::string to_string() const {
    std::ostringstream out;
    out << '[';
    for (std::size_t i = 0; i < dims_.size(); ++i) out << (i ? ", " : "") << dims_[i];
    out << ']';
    return out.str();
  }

  /// Formats a per-sample shape as Keras prints it in summaries: "(None, 180, 180, 3)".
  std::string to_keras_string() const {
    std::ostringstream out;
    out << "(None";
    for (Index d : dims_) out << ", " << d;
    out << ')';
    return out.str();
  }

 private:
  std::vector<Index> dims_;
};

}  // namespace nn
