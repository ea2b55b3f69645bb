#pragma once
/// Matrix products of a dense layer, split into fixed blocks that threads take whole.
///
/// Eigen parallelises one large product by letting threads wait for each other's packed panels
/// inside the product, in spin loops. When another process holds one of the cores, a waiting
/// thread spins through whole scheduler time slices, and a product that takes 3 ms alone took
/// anywhere up to seconds. Here each thread computes whole blocks of the output with Eigen's
/// single-threaded product and meets the others once, at the end. Block extents are constants,
/// not functions of the thread count, so the result does not depend on the number of threads.
///
/// Shape letters: N batch, F input features, U units. x [N, F], w [F, U], y and g [N, U].

#include <algorithm>

#include "nn/core/tensor.hpp"
#include "nn/kernels/packet.hpp"

namespace nn::detail::kernels {

/// Columns of the output per block of the forward product.
constexpr Index dense_forward_block = 64;
/// Rows of the kernel gradient (and columns of the input gradient) per block.
constexpr Index dense_backward_block = 512;

template <typename Scalar>
using StridedMap = Eigen::Map<RowMatrix<Scalar>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <typename Scalar>
using ConstStridedMap =
    Eigen::Map<const RowMatrix<Scalar>, Eigen::Unaligned, Eigen::OuterStride<>>;

/// y = x w (+ b), then max(y, 0) when relu; y is overwritten. bias may be null.
template <typename Scalar>
void dense_forward(const Scalar* x, const Scalar* w, const Scalar* bias, bool relu, Index n,
                   Index f, Index u, Scalar* y) {
  const Index blocks = (u + dense_forward_block - 1) / dense_forward_block;
  [[maybe_unused]] const bool parallel = blocks > 1 && n * f * u >= min_parallel_work;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (parallel)
#endif
  for (Index b = 0; b < blocks; ++b) {
    const Index c0 = b * dense_forward_block;
    const Index width = std::min(dense_forward_block, u - c0);
    ConstStridedMap<Scalar> xm(x, n, f, Eigen::OuterStride<>(f));
    ConstStridedMap<Scalar> wm(w + c0, f, width, Eigen::OuterStride<>(u));
    StridedMap<Scalar> ym(y + c0, n, width, Eigen::OuterStride<>(u));
    ym.noalias() = xm * wm;
    for (Index r = 0; r < n; ++r) {
      Scalar* row = y + r * u + c0;
      for (Index c = 0; c < width; ++c) {
        const Scalar v = bias ? row[c] + bias[c0 + c] : row[c];
        row[c] = relu && v < Scalar(0) ? Scalar(0) : v;
      }
    }
  }
}

/// dw += x^T g, db += column sums of g (when db is not null), and dx = g w^T (when dx is not
/// null; dx is overwritten).
template <typename Scalar>
void dense_backward(const Scalar* x, const Scalar* w, const Scalar* g, Index n, Index f, Index u,
                    Scalar* dw, Scalar* db, Scalar* dx) {
  const Index blocks = (f + dense_backward_block - 1) / dense_backward_block;
  [[maybe_unused]] const bool parallel = blocks > 1 && n * f * u >= min_parallel_work;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (parallel)
#endif
  for (Index b = 0; b < blocks; ++b) {
    const Index r0 = b * dense_backward_block;
    const Index rows = std::min(dense_backward_block, f - r0);
    ConstStridedMap<Scalar> xm(x + r0, n, rows, Eigen::OuterStride<>(f));
    ConstStridedMap<Scalar> gm(g, n, u, Eigen::OuterStride<>(u));
    StridedMap<Scalar> dwm(dw + r0 * u, rows, u, Eigen::OuterStride<>(u));
    dwm.noalias() += xm.transpose() * gm;
    if (dx) {
      ConstStridedMap<Scalar> wm(w + r0 * u, rows, u, Eigen::OuterStride<>(u));
      StridedMap<Scalar> dxm(dx + r0, n, rows, Eigen::OuterStride<>(f));
      dxm.noalias() = gm * wm.transpose();
    }
  }
  if (db) {
    for (Index r = 0; r < n; ++r) {
      for (Index c = 0; c < u; ++c) db[c] += g[r * u + c];
    }
  }
}

}  // namespace nn::detail::kernels
