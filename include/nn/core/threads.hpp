#pragma once
/// The number of threads nn's kernels use.
///
/// By default it follows OpenMP, so `OMP_NUM_THREADS` sets it; `set_num_threads` overrides it
/// from code. Without OpenMP every kernel runs on the calling thread.

#ifdef _OPENMP
#include <omp.h>
#endif

#include <string>

#include "nn/core/errors.hpp"

namespace nn {

/// Sets the number of threads for nn's parallel kernels; n must be at least 1.
inline void set_num_threads(int n) {
  if (n < 1) throw ShapeError("set_num_threads: expected at least 1 thread, got " + std::to_string(n));
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
}

/// Returns the number of threads that nn's parallel kernels use.
inline int num_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace nn
