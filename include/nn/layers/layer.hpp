#pragma once
/// The interface that every layer implements, and the pieces it shares with models.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/core/errors.hpp"
#include "nn/core/random.hpp"
#include "nn/core/shape.hpp"
#include "nn/core/tensor.hpp"

namespace nn {

/// Activation fused into the output pass of Conv2D and Dense.
enum class Activation { None, ReLU };

/// Border handling of Conv2D and pooling: `Valid` uses only full windows, `Same` pads with
/// zeros so that the output extent is ceil(input / stride).
enum class Padding { Valid, Same };

/// One trainable tensor of a layer and the gradient that backward() adds into.
template <typename Scalar>
struct Parameter {
  std::string name;       ///< "kernel" or "bias"
  Tensor<Scalar>* value;  ///< owned by the layer
  Tensor<Scalar>* grad;   ///< same shape as value; zeroed by the model once per batch
};

/// A layer's constructor arguments as text, for saving a model's architecture.
///
/// Numbers are stored with 17 significant digits, so doubles survive a round trip.
class LayerConfig {
 public:
  void set(const std::string& key, const std::string& value) { entries_.emplace_back(key, value); }
  void set(const std::string& key, double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.17g", value);
    set(key, std::string(text));
  }

  /// Returns the text stored under key; throws DataError when it is missing.
  const std::string& text(const std::string& key) const {
    for (const auto& entry : entries_) {
      if (entry.first == key) return entry.second;
    }
    throw DataError("LayerConfig: missing key \"" + key + "\"");
  }

  /// Returns the number stored under key; throws DataError when it is missing or not a number.
  double number(const std::string& key) const {
    const std::string& value = text(key);
    try {
      std::size_t used = 0;
      const double x = std::stod(value, &used);
      if (used == value.size()) return x;
    } catch (const std::exception&) {
    }
    throw DataError("LayerConfig: key \"" + key + "\" expected a number, got \"" + value + "\"");
  }

  bool contains(const std::string& key) const {
    for (const auto& entry : entries_) {
      if (entry.first == key) return true;
    }
    return false;
  }

  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

  friend bool operator==(const LayerConfig& a, const LayerConfig& b) {
    return a.entries_ == b.entries_;
  }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

/// Base class of all layers: a forward pass, a hand-written backward pass and its parameters.
///
/// Contract:
/// - `build(input_shape, rng)` receives the per-sample input shape (no batch extent, e.g.
///   [H, W, C] or [F]), checks it, initialises the parameters from `rng` and returns the
///   per-sample output shape. It throws ShapeError naming the expected and received shapes.
/// - `forward(x, mode)` takes a batch [N, ...input_shape] and returns a reference to an output
///   tensor owned by the layer, valid until the next forward(). In `Mode::Train` it keeps what
///   backward() needs.
/// - `backward(dy)` takes the gradient of the loss with respect to the last training forward
///   output and returns the gradient with respect to its input (owned by the layer). It adds
///   (+=) into the parameter gradients, so two calls without zeroing give twice the gradient.
/// - Layers that draw random numbers (dropout, augmentation) take their stream from
///   `reseed()`; reseeding with the same value repeats the same draws.
template <typename Scalar>
class Layer {
 public:
  virtual ~Layer() = default;

  /// The Keras class name of the layer, e.g. "Conv2D", shown in summaries and saved files.
  virtual std::string type() const = 0;

  /// Checks the per-sample input shape, initialises parameters and returns the output shape.
  virtual Shape build(const Shape& input_shape, Random& rng) = 0;

  virtual const Tensor<Scalar>& forward(const Tensor<Scalar>& x, Mode mode) = 0;
  virtual const Tensor<Scalar>& backward(const Tensor<Scalar>& dy) = 0;

  /// Runs this layer and `next`, the layer after it in a model, as one step when the pair has a
  /// fused implementation (Conv2D followed by MaxPool2D), and returns next's output. Returns
  /// nullptr when it has none; the model then calls forward() on each layer. A fused step gives
  /// the same results as the two forward() calls but may skip storing this layer's output.
  virtual const Tensor<Scalar>* forward_with_next(const Tensor<Scalar>& /*x*/,
                                                  Layer<Scalar>& /*next*/, Mode /*mode*/) {
    return nullptr;
  }

  /// The backward pass of a step run by forward_with_next: takes dL/d(next's output), adds
  /// into both layers' parameter gradients and returns dL/d(this layer's input).
  virtual const Tensor<Scalar>& backward_with_next(const Tensor<Scalar>& dy, Layer<Scalar>& next) {
    return backward(next.backward(dy));
  }

  /// The trainable tensors with their gradients; empty for layers without parameters.
  virtual std::vector<Parameter<Scalar>> parameters() { return {}; }

  /// The constructor arguments, enough to rebuild the layer with `make_layer`.
  virtual LayerConfig config() const = 0;

  /// Restarts the layer's random stream; layers that draw nothing ignore it.
  virtual void reseed(std::uint64_t /*seed*/) {}

  /// Sets whether backward() must compute the gradient with respect to the input (default
  /// true). A model clears it for its first layer with parameters, whose input is the data:
  /// that gradient is never used, and for a first convolution it costs as much as its kernel
  /// gradient. Layers may then skip it and return a tensor of unspecified values.
  void set_input_gradient_needed(bool needed) { input_gradient_needed_ = needed; }
  bool input_gradient_needed() const { return input_gradient_needed_; }

  /// Number of trainable scalars.
  Index parameter_count() {
    Index n = 0;
    for (const auto& p : parameters()) n += p.value->size();
    return n;
  }

  /// The instance name, e.g. "conv2d_1"; the model assigns one when it is empty.
  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }

 private:
  std::string name_;
  bool input_gradient_needed_ = true;
};

}  // namespace nn
