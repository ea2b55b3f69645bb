#pragma once
/// Shape checks and config parsing shared by the built-in layers.

#include <algorithm>
#include <cmath>
#include <string>

#include "nn/core/errors.hpp"
#include "nn/core/shape.hpp"
#include "nn/core/tensor.hpp"
#include "nn/layers/layer.hpp"

namespace nn::detail {

/// Formats a per-sample shape with a leading batch letter: [H, W, C] becomes "[N, H, W, C]".
inline std::string batch_shape_string(const Shape& per_sample) {
  std::string text = "[N";
  for (Index d : per_sample.dims()) text += ", " + std::to_string(d);
  return text + "]";
}

/// Throws unless every extent of a per-sample input shape is at least 1.
inline void check_positive_extents(const std::string& layer, const Shape& input_shape) {
  for (Index d : input_shape.dims()) {
    if (d < 1) {
      throw ShapeError(layer + ": expected an input shape with positive extents, got " +
                       input_shape.to_string());
    }
  }
}

/// Throws unless the layer is built and `x` is a non-empty batch [N, ...input_shape].
///
/// `where` is a string literal or a std::string. Layers call this on every batch, so the
/// passing path builds no string and no Shape: it allocates nothing.
template <typename Scalar, typename Where>
void check_forward_input(const Where& where, bool built, const Tensor<Scalar>& x,
                         const Shape& input_shape) {
  if (!built) {
    throw ShapeError(std::string(where) + ": expected a built layer, got one without build(); "
                     "call build() with the per-sample input shape first");
  }
  const auto& dims = x.shape().dims();
  const auto& expected = input_shape.dims();
  if (dims.size() != expected.size() + 1 || x.dim(0) < 1 ||
      !std::equal(expected.begin(), expected.end(), dims.begin() + 1)) {
    throw ShapeError(std::string(where) + ": expected input " + batch_shape_string(input_shape) +
                     " with N >= 1, got " + x.shape().to_string());
  }
}

/// Throws unless a training forward pass came first and `dy` has the shape of its output.
/// Like check_forward_input, it allocates nothing when the check passes.
template <typename Scalar, typename Where>
void check_backward_input(const Where& where, bool has_train_forward, const Tensor<Scalar>& dy,
                          const Shape& output_shape) {
  if (!has_train_forward) {
    throw ShapeError(std::string(where) + ": expected a forward pass in Mode::Train before "
                     "backward, got none; backward needs what that pass keeps");
  }
  if (dy.shape() != output_shape) {
    throw ShapeError(std::string(where) + ": expected dy of the last output's shape " +
                     output_shape.to_string() + ", got " + dy.shape().to_string());
  }
}

/// Throws ShapeError unless `value` is at least `minimum`; `what` names the argument.
inline void check_at_least(const std::string& layer, const std::string& what, Index value,
                           Index minimum) {
  if (value < minimum) {
    throw ShapeError(layer + ": expected " + what + " >= " + std::to_string(minimum) + ", got " +
                     std::to_string(value));
  }
}

inline std::string activation_name(Activation activation) {
  return activation == Activation::ReLU ? "relu" : "linear";
}

inline std::string padding_name(Padding padding) {
  return padding == Padding::Same ? "same" : "valid";
}

/// Reads a whole number >= minimum stored under `key`; `fallback` is used when the key is
/// missing, and a negative fallback makes the key required.
inline Index config_index(const LayerConfig& config, const std::string& layer,
                          const std::string& key, Index minimum, Index fallback = -1) {
  if (fallback >= 0 && !config.contains(key)) return fallback;
  const double value = config.number(key);
  if (!(value >= static_cast<double>(minimum)) || value != std::floor(value) || value > 1e15) {
    throw DataError(layer + ": key \"" + key + "\" expected a whole number >= " +
                    std::to_string(minimum) + ", got \"" + config.text(key) + "\"");
  }
  return static_cast<Index>(value);
}

/// Reads "true" or "false" stored under `key`, or `fallback` when the key is missing.
inline bool config_bool(const LayerConfig& config, const std::string& layer,
                        const std::string& key, bool fallback) {
  if (!config.contains(key)) return fallback;
  const std::string& value = config.text(key);
  if (value == "true") return true;
  if (value == "false") return false;
  throw DataError(layer + ": key \"" + key + "\" expected \"true\" or \"false\", got \"" + value +
                  "\"");
}

/// Reads "relu" or "linear" stored under "activation"; a missing key means linear.
inline Activation config_activation(const LayerConfig& config, const std::string& layer) {
  if (!config.contains("activation")) return Activation::None;
  const std::string& value = config.text("activation");
  if (value == "relu") return Activation::ReLU;
  if (value == "linear") return Activation::None;
  throw DataError(layer + ": key \"activation\" expected \"relu\" or \"linear\", got \"" + value +
                  "\"");
}

/// Reads "same" or "valid" stored under "padding"; a missing key means valid.
inline Padding config_padding(const LayerConfig& config, const std::string& layer) {
  if (!config.contains("padding")) return Padding::Valid;
  const std::string& value = config.text("padding");
  if (value == "same") return Padding::Same;
  if (value == "valid") return Padding::Valid;
  throw DataError(layer + ": key \"padding\" expected \"same\" or \"valid\", got \"" + value +
                  "\"");
}

}  // namespace nn::detail
