#pragma once
/// Helpers for the layers' OpenMP loops: thread indices, per-thread workspaces and
/// unaligned matrix maps over one sample of a batch.

#ifdef _OPENMP
#include <omp.h>
#endif

#include <vector>

#include "nn/core/tensor.hpp"
#include "nn/core/threads.hpp"

namespace nn::detail {

/// Returns the index of the calling thread in the current OpenMP team, 0 without OpenMP.
inline int thread_index() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

/// Returns whether a loop of about `work` multiply-adds or comparisons should start an OpenMP
/// team. Starting a team and joining it costs microseconds, far more than a tiny loop, and
/// much more when the cores are busy with other processes.
inline bool worth_parallel(Index work) { return work >= (Index(1) << 15); }

/// Sizes one workspace per thread that a parallel loop may use; buffers keep their capacity.
template <typename Scalar>
void prepare_workspaces(std::vector<Tensor<Scalar>>& workspaces, const Shape& shape) {
  const auto count = static_cast<std::size_t>(num_threads());
  if (workspaces.size() < count) workspaces.resize(count);
  for (auto& workspace : workspaces) workspace.resize(shape);
}

// A sample inside a batch starts at an offset that need not be 16-byte aligned, so maps over
// one sample must not promise alignment to Eigen.
template <typename Scalar>
using SampleMatrixMap = Eigen::Map<RowMatrix<Scalar>>;
template <typename Scalar>
using ConstSampleMatrixMap = Eigen::Map<const RowMatrix<Scalar>>;

}  // namespace nn::detail
