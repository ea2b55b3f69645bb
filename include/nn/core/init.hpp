#pragma once
/// Parameter initialisation with Keras' defaults: Glorot-uniform kernels and zero biases.

#include <cmath>
#include <string>

#include "nn/core/errors.hpp"
#include "nn/core/random.hpp"
#include "nn/core/tensor.hpp"

namespace nn {

/// Returns the Glorot-uniform bound sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio, 2010).
///
/// Keras counts fans as: Dense [in, out] has fan_in = in and fan_out = out; a convolution
/// kernel [KH, KW, C_in, C_out] has fan_in = KH*KW*C_in and fan_out = KH*KW*C_out.
inline double glorot_limit(Index fan_in, Index fan_out) {
  if (fan_in < 1 || fan_out < 1) {
    throw ShapeError("glorot_limit: expected fan_in and fan_out >= 1, got fan_in = " +
                     std::to_string(fan_in) + ", fan_out = " + std::to_string(fan_out));
  }
  return std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
}

/// Fills `tensor` with values uniform in [-limit, limit) from `rng`, in memory order.
///
/// The draws happen serially, so one seed gives the same tensor for any thread count.
template <typename Scalar>
void glorot_uniform(Tensor<Scalar>& tensor, Index fan_in, Index fan_out, Random& rng) {
  const double limit = glorot_limit(fan_in, fan_out);
  for (Index i = 0; i < tensor.size(); ++i) {
    tensor[i] = static_cast<Scalar>(rng.uniform(-limit, limit));
  }
}

/// Sets every element to zero, Keras' default for biases; draws nothing from a generator.
template <typename Scalar>
void zeros(Tensor<Scalar>& tensor) {
  tensor.set_zero();
}

}  // namespace nn
