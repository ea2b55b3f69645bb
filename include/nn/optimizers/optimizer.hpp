#pragma once
/// The interface of the optimizers that update a model's parameters from their gradients.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "nn/core/errors.hpp"
#include "nn/core/shape.hpp"
#include "nn/core/tensor.hpp"
#include "nn/layers/layer.hpp"

namespace nn {

/// Base class of Adam and SGD: applies one update per batch and keeps per-parameter state.
///
/// The state is `slots_per_parameter()` tensors per parameter (Adam: first and second moment,
/// SGD with momentum: velocity), each shaped like its parameter, plus the number of updates
/// applied so far (`iterations()`, Keras' `optimizer.iterations`). A saved model stores both,
/// so training resumes where it stopped.
template <typename Scalar>
class Optimizer {
 public:
  virtual ~Optimizer() = default;

  /// The Keras class name, e.g. "Adam", stored in saved models.
  virtual std::string type() const = 0;

  /// The hyper-parameters, enough to rebuild the optimizer with `make_optimizer`.
  virtual LayerConfig config() const = 0;

  /// Number of state tensors kept per parameter.
  virtual Index slots_per_parameter() const = 0;

  virtual double learning_rate() const = 0;

  /// Sets the step size, e.g. from a learning-rate schedule between epochs.
  virtual void set_learning_rate(double learning_rate) = 0;

  /// Updates every parameter from its gradient, then counts one iteration.
  ///
  /// The first call allocates the state; later calls must pass parameters of the same shapes
  /// in the same order, otherwise ShapeError.
  void apply(const std::vector<Parameter<Scalar>>& parameters) {
    prepare(parameters);
    update(parameters, iterations_ + 1);
    ++iterations_;
  }

  /// Allocates zeroed state for these parameters, or checks that the existing state fits them.
  void prepare(const std::vector<Parameter<Scalar>>& parameters) {
    const auto slots = static_cast<std::size_t>(slots_per_parameter());
    if (state_.empty() && slots > 0) {
      state_.reserve(parameters.size() * slots);
      for (const auto& p : parameters) {
        for (std::size_t s = 0; s < slots; ++s) state_.emplace_back(p.value->shape());
      }
      return;
    }
    if (state_.size() != parameters.size() * slots) {
      throw ShapeError(type() + "::apply: expected " +
                       std::to_string(state_.size() / std::max<std::size_t>(slots, 1)) +
                       " parameters (the state was created for them), got " +
                       std::to_string(parameters.size()));
    }
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      const Shape& shape = parameters[i].value->shape();
      if (slots > 0 && state_[i * slots].shape() != shape) {
        throw ShapeError(type() + "::apply: parameter " + std::to_string(i) + " \"" +
                         parameters[i].name + "\" expected shape " +
                         state_[i * slots].shape().to_string() + ", got " + shape.to_string());
      }
    }
  }

  /// Number of updates applied so far.
  std::int64_t iterations() const { return iterations_; }
  void set_iterations(std::int64_t iterations) { iterations_ = iterations; }

  /// The state tensors, parameter-major: slot s of parameter i is `state()[i * slots + s]`.
  std::vector<Tensor<Scalar>>& state() { return state_; }
  const std::vector<Tensor<Scalar>>& state() const { return state_; }

  /// Forgets the state and the iteration count, as a freshly constructed optimizer.
  void reset() {
    state_.clear();
    iterations_ = 0;
  }

 protected:
  /// Applies update number `step` (1-based) to every parameter.
  virtual void update(const std::vector<Parameter<Scalar>>& parameters, std::int64_t step) = 0;

  /// Throws unless `value` is finite and inside the range from low to high, each bound
  /// inclusive or exclusive as its flag sets.
  static void check_range(const std::string& where, const std::string& name, double value,
                          double low, bool low_inclusive, double high, bool high_inclusive) {
    const bool above = low_inclusive ? value >= low : value > low;
    const bool below = high_inclusive ? value <= high : value < high;
    if (std::isfinite(value) && above && below) return;
    std::string range;
    if (high == std::numeric_limits<double>::infinity()) {
      range = std::string(low_inclusive ? ">= " : "> ") + format_number(low);
    } else {
      range = std::string("in ") + (low_inclusive ? "[" : "(") + format_number(low) + ", " +
              format_number(high) + (high_inclusive ? "]" : ")");
    }
    throw ShapeError(where + ": " + name + " must be " + range + ", got " +
                     format_number(value));
  }

  static std::string format_number(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", value);
    return text;
  }

 private:
  std::vector<Tensor<Scalar>> state_;
  std::int64_t iterations_ = 0;
};

}  // namespace nn
