#pragma once
/// The tensor type of nn and its memory layout.
///
/// Layout, stated once for the whole library: a batch of images is [N, H, W, C] (NHWC,
/// channels last, as in Keras and as image decoders produce it) in row-major order, so the
/// channels of one pixel are contiguous and an interleaved RGB image maps onto a tensor
/// without reordering. A batch of feature vectors is [N, F]. Convolution kernels are
/// [KH, KW, C_in, C_out] and dense weights are [in, out], also row-major.
///
/// `Tensor<Scalar>` is one contiguous, aligned buffer plus a `Shape`. Its views are Eigen maps
/// over that buffer: `tensor4()` is an `Eigen::TensorMap` of `Eigen::Tensor<Scalar, 4,
/// Eigen::RowMajor>`, `matrix()` an `Eigen::Map` of a row-major matrix. Eigen's default is
/// column-major, so every alias here spells out `Eigen::RowMajor`.

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <vector>

#include <Eigen/Core>
#include <unsupported/Eigen/CXX11/Tensor>

#include "nn/core/errors.hpp"
#include "nn/core/shape.hpp"

namespace nn {

/// Whether a forward pass is part of training (dropout and augmentation active, caches kept
/// for backward) or inference (those layers are the identity).
enum class Mode { Train, Infer };

template <typename Scalar>
using EigenTensor4 = Eigen::Tensor<Scalar, 4, Eigen::RowMajor>;
template <typename Scalar>
using TensorMap4 = Eigen::TensorMap<EigenTensor4<Scalar>, Eigen::Aligned>;
template <typename Scalar>
using ConstTensorMap4 = Eigen::TensorMap<const EigenTensor4<Scalar>, Eigen::Aligned>;
template <typename Scalar>
using RowMatrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename Scalar>
using MatrixMap = Eigen::Map<RowMatrix<Scalar>, Eigen::Aligned>;
template <typename Scalar>
using ConstMatrixMap = Eigen::Map<const RowMatrix<Scalar>, Eigen::Aligned>;
template <typename Scalar>
using VectorMap = Eigen::Map<Eigen::Matrix<Scalar, Eigen::Dynamic, 1>, Eigen::Aligned>;
template <typename Scalar>
using ConstVectorMap = Eigen::Map<const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>, Eigen::Aligned>;

/// A dense row-major tensor of rank 1 to 4: one aligned buffer and its shape.
///
/// `resize()` keeps the buffer when its capacity suffices, so layers that own their output and
/// gradient tensors allocate only on the first batch of a given size.
template <typename Scalar>
class Tensor {
 public:
  Tensor() = default;

  /// Creates a zero-filled tensor of the given shape.
  explicit Tensor(const Shape& shape) { resize(shape); }

  /// Copies an Eigen rank-4 row-major tensor, keeping its [N, H, W, C] extents.
  explicit Tensor(const EigenTensor4<Scalar>& t) {
    resize({t.dimension(0), t.dimension(1), t.dimension(2), t.dimension(3)});
    std::copy(t.data(), t.data() + t.size(), data());
  }

  const Shape& shape() const { return shape_; }
  Index rank() const { return shape_.rank(); }
  Index dim(Index i) const { return shape_[i]; }
  Index size() const { return static_cast<Index>(data_.size()); }
  Scalar* data() { return data_.data(); }
  const Scalar* data() const { return data_.data(); }
  Scalar& operator[](Index i) { return data_[static_cast<std::size_t>(i)]; }
  Scalar operator[](Index i) const { return data_[static_cast<std::size_t>(i)]; }

  /// Sets the shape. Elements are kept in memory order up to the smaller size, new ones are
  /// zero, and the buffer is reallocated only when it grows past its capacity.
  void resize(const Shape& shape) {
    for (Index d : shape.dims()) {
      if (d < 0) throw ShapeError("Tensor::resize: expected non-negative extents, got " +
                                  shape.to_string());
    }
    shape_ = shape;
    data_.resize(static_cast<std::size_t>(shape.size()));
  }

  /// Sets the shape from its extents, as resize(Shape), without building a Shape (and so
  /// without allocating) when the shape does not change: layers call this on every batch.
  void resize(std::initializer_list<Index> dims) {
    if (std::equal(dims.begin(), dims.end(), shape_.dims().begin(), shape_.dims().end())) return;
    resize(Shape(dims));
  }

  /// Changes the shape without touching the data; the element count must stay the same.
  void reshape(const Shape& shape) {
    if (shape.size() != size()) {
      throw ShapeError("Tensor::reshape: expected a shape with " + std::to_string(size()) +
                       " elements, got " + shape.to_string());
    }
    shape_ = shape;
  }

  void set_zero() { std::fill(data_.begin(), data_.end(), Scalar(0)); }
  void fill(Scalar value) { std::fill(data_.begin(), data_.end(), value); }

  /// The elements as one column vector.
  VectorMap<Scalar> flat() { return VectorMap<Scalar>(data(), size()); }
  ConstVectorMap<Scalar> flat() const { return ConstVectorMap<Scalar>(data(), size()); }

  /// The tensor as a row-major matrix [dim(0), size / dim(0)], e.g. [N, F] or [N, H*W*C].
  MatrixMap<Scalar> matrix() { return MatrixMap<Scalar>(data(), rows(), size() / rows()); }
  ConstMatrixMap<Scalar> matrix() const {
    return ConstMatrixMap<Scalar>(data(), rows(), size() / rows());
  }

  /// The tensor as an Eigen rank-4 row-major map; throws unless the rank is 4.
  TensorMap4<Scalar> tensor4() {
    require_rank4();
    return TensorMap4<Scalar>(data(), shape_[0], shape_[1], shape_[2], shape_[3]);
  }
  ConstTensorMap4<Scalar> tensor4() const {
    require_rank4();
    return ConstTensorMap4<Scalar>(data(), shape_[0], shape_[1], shape_[2], shape_[3]);
  }

 private:
  Index rows() const { return shape_.rank() == 0 || shape_[0] == 0 ? 1 : shape_[0]; }

  void require_rank4() const {
    if (shape_.rank() != 4) {
      throw ShapeError("Tensor::tensor4: expected a rank-4 tensor [N, H, W, C], got " +
                       shape_.to_string());
    }
  }

  Shape shape_;
  std::vector<Scalar, Eigen::aligned_allocator<Scalar>> data_;
};

}  // namespace nn
