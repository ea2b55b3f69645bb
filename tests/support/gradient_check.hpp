#pragma once
/// Finite-difference gradient checks in double precision, shared by the test suite.
///
/// For a layer, the checked scalar is L(x) = sum(r * forward(x)) with a fixed random r shaped
/// like the output. Then backward(r) must equal dL/dx, and the parameter gradients that
/// backward adds must equal dL/dw. Every element of the input and of every parameter is
/// perturbed by +h and -h (h = 1e-6) and the central difference (L(+h) - L(-h)) / 2h must
/// satisfy |analytic - numeric| <= tolerance * max(1, |analytic|, |numeric|).
///
/// Before every forward the checker calls layer.reseed(seed), so a random layer (dropout,
/// augmentation) repeats the same draw and L is a deterministic function of x and w.
///
/// The `gradient_check_*` functions return a result and assert nothing, so a test can also
/// show that a wrong gradient is caught. The `check_*` functions assert through doctest.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "nn/core/random.hpp"
#include "nn/core/shape.hpp"
#include "nn/core/tensor.hpp"
#include "nn/layers/layer.hpp"

namespace nn::test {

/// Settings of a gradient check; the defaults are the project's standard.
struct GradientCheckOptions {
  double step = 1e-6;             ///< h of the central difference
  double tolerance = 1e-6;        ///< relative to max(1, |analytic|, |numeric|)
  Mode mode = Mode::Train;        ///< mode of every forward pass
  double input_low = -1.0;        ///< range of inputs drawn by the shape-based overloads
  double input_high = 1.0;
  double min_abs_input = 1e-4;    ///< drawn inputs closer to zero move out to this distance
  Index max_reported = 10;        ///< mismatches listed in the report
};

/// One element whose analytic and numeric derivatives disagree.
struct GradientMismatch {
  std::string tensor;  ///< "input", "kernel", "bias", ...
  Shape shape;         ///< shape of that tensor
  Index element;       ///< flat row-major index
  double analytic;
  double numeric;
};

/// The outcome of a gradient check.
struct GradientCheckResult {
  std::uint64_t seed = 0;
  Index checked = 0;          ///< number of elements compared
  double max_error = 0.0;     ///< largest |a - n| / max(1, |a|, |n|)
  std::vector<GradientMismatch> mismatches;
  std::vector<std::string> failures;  ///< failures that are not about one element

  bool passed() const { return mismatches.empty() && failures.empty(); }

  /// Describes every failure with tensor, element, both derivatives and the seed.
  std::string report(Index max_reported = 10) const {
    std::ostringstream out;
    out.precision(10);
    out << "gradient check with seed " << seed << ": " << checked << " elements, "
        << mismatches.size() << " mismatches, max relative error " << max_error << '\n';
    for (const auto& failure : failures) out << "  " << failure << '\n';
    const Index shown = std::min<Index>(max_reported, static_cast<Index>(mismatches.size()));
    for (Index i = 0; i < shown; ++i) {
      const auto& m = mismatches[static_cast<std::size_t>(i)];
      out << "  d/d " << m.tensor << ' ' << m.shape.to_string() << " at "
          << index_string(m.shape, m.element) << ": analytic " << m.analytic << ", numeric "
          << m.numeric << '\n';
    }
    return out.str();
  }

  /// Formats a flat row-major index as a multi-index, e.g. "[0, 2, 1, 3]".
  static std::string index_string(const Shape& shape, Index flat) {
    std::vector<Index> index(static_cast<std::size_t>(shape.rank()));
    for (Index d = shape.rank() - 1; d >= 0; --d) {
      index[static_cast<std::size_t>(d)] = flat % shape[d];
      flat /= shape[d];
    }
    return Shape(index).to_string();
  }
};

/// A tensor to perturb and the analytic gradient of the checked scalar with respect to it.
struct GradientVariable {
  std::string name;
  Tensor<double>* value;
  const Tensor<double>* analytic;
};

/// Returns a tensor of the given shape with values uniform in [low, high), drawn from `seed`.
inline Tensor<double> random_tensor(const Shape& shape, std::uint64_t seed, double low = -1.0,
                                    double high = 1.0) {
  Tensor<double> t(shape);
  Random rng(seed);
  for (Index i = 0; i < t.size(); ++i) t[i] = rng.uniform(low, high);
  return t;
}

/// Returns a tensor whose values are a shuffled arithmetic sequence with gap `spacing`,
/// centred on zero, so no two elements are closer than `spacing` (for max-pool inputs).
inline Tensor<double> distinct_tensor(const Shape& shape, std::uint64_t seed,
                                      double spacing = 0.01) {
  Tensor<double> t(shape);
  std::vector<Index> order(static_cast<std::size_t>(t.size()));
  std::iota(order.begin(), order.end(), Index(0));
  Random rng(seed);
  rng.shuffle(order.begin(), order.end());
  const double centre = 0.5 * static_cast<double>(t.size() - 1);
  for (Index i = 0; i < t.size(); ++i) {
    t[i] = (static_cast<double>(order[static_cast<std::size_t>(i)]) - centre) * spacing;
  }
  return t;
}

/// Compares each variable's analytic gradient with central differences of `f`.
///
/// `f` must read the current values of the variables; each element is perturbed in place
/// and restored afterwards.
inline GradientCheckResult gradient_check_function(const std::function<double()>& f,
                                                   const std::vector<GradientVariable>& variables,
                                                   std::uint64_t seed,
                                                   const GradientCheckOptions& options = {}) {
  GradientCheckResult result;
  result.seed = seed;
  for (const auto& variable : variables) {
    Tensor<double>& value = *variable.value;
    const Tensor<double>& analytic = *variable.analytic;
    if (analytic.shape() != value.shape()) {
      result.failures.push_back("analytic gradient of " + variable.name + " has shape " +
                                analytic.shape().to_string() + ", expected " +
                                value.shape().to_string());
      continue;
    }
    for (Index i = 0; i < value.size(); ++i) {
      const double original = value[i];
      value[i] = original + options.step;
      const double plus = f();
      value[i] = original - options.step;
      const double minus = f();
      value[i] = original;

      const double numeric = (plus - minus) / (2.0 * options.step);
      const double a = analytic[i];
      const double scale = std::max({1.0, std::abs(a), std::abs(numeric)});
      const double error = std::abs(a - numeric) / scale;
      ++result.checked;
      // The negated comparison also catches a NaN derivative.
      if (!(error <= options.tolerance)) {
        result.mismatches.push_back({variable.name, value.shape(), i, a, numeric});
      }
      if (!(error <= result.max_error)) result.max_error = error;
    }
  }
  return result;
}

namespace detail {

inline double weighted_sum(const Tensor<double>& y, const Tensor<double>& r) {
  double sum = 0.0;
  for (Index i = 0; i < y.size(); ++i) sum += y[i] * r[i];
  return sum;
}

inline bool nearly_equal(double a, double b) {
  return std::abs(a - b) <= 1e-12 * std::max({1.0, std::abs(a), std::abs(b)});
}

}  // namespace detail

/// Checks dx and every parameter gradient of a built layer at input `x` [N, ...].
///
/// Also checks accumulation: a second backward(r) without zeroing must double every parameter
/// gradient and return the same dx. Parameter gradients are zeroed first.
inline GradientCheckResult gradient_check_layer(Layer<double>& layer, Tensor<double> x,
                                                std::uint64_t seed,
                                                const GradientCheckOptions& options = {}) {
  auto forward_sum = [&](const Tensor<double>& r) {
    layer.reseed(seed);
    return detail::weighted_sum(layer.forward(x, options.mode), r);
  };

  // Analytic gradients from one forward and two backward passes.
  auto parameters = layer.parameters();
  for (auto& p : parameters) p.grad->set_zero();
  layer.reseed(seed);
  const Tensor<double> y = layer.forward(x, options.mode);
  const Tensor<double> r = random_tensor(y.shape(), Random::derive_seed(seed, 1));
  const Tensor<double> dx = layer.backward(r);
  std::vector<Tensor<double>> grads;
  for (const auto& p : parameters) grads.push_back(*p.grad);

  GradientCheckResult accumulation;
  accumulation.seed = seed;
  const Tensor<double>& dx_again = layer.backward(r);
  if (dx_again.shape() != dx.shape()) {
    accumulation.failures.push_back("second backward returned dx of shape " +
                                    dx_again.shape().to_string() + ", first " +
                                    dx.shape().to_string());
  } else {
    for (Index i = 0; i < dx.size(); ++i) {
      if (!detail::nearly_equal(dx_again[i], dx[i])) {
        accumulation.failures.push_back("second backward changed dx at element " +
                                        std::to_string(i));
        break;
      }
    }
  }
  for (std::size_t k = 0; k < parameters.size(); ++k) {
    const Tensor<double>& twice = *parameters[k].grad;
    for (Index i = 0; i < twice.size(); ++i) {
      if (!detail::nearly_equal(twice[i], 2.0 * grads[k][i])) {
        std::ostringstream out;
        out.precision(10);
        out << "backward does not accumulate into " << parameters[k].name << ": after two "
            << "calls element " << i << " is " << twice[i] << ", expected 2 * " << grads[k][i];
        accumulation.failures.push_back(out.str());
        break;
      }
    }
  }
  if (dx.shape() != x.shape()) {
    accumulation.failures.push_back("backward returned dx of shape " + dx.shape().to_string() +
                                    ", expected the input shape " + x.shape().to_string());
  }

  // Numeric gradients of L with respect to the input and each parameter.
  std::vector<GradientVariable> variables{{"input", &x, &dx}};
  for (std::size_t k = 0; k < parameters.size(); ++k) {
    variables.push_back({parameters[k].name, parameters[k].value, &grads[k]});
  }
  GradientCheckResult result =
      gradient_check_function([&] { return forward_sum(r); }, variables, seed, options);
  result.failures.insert(result.failures.begin(), accumulation.failures.begin(),
                         accumulation.failures.end());
  return result;
}

/// Builds `layer` for the per-sample part of `input_shape_with_batch` with Random(seed), draws
/// an input uniform in [input_low, input_high) kept min_abs_input away from zero, and checks it.
inline GradientCheckResult gradient_check_layer(Layer<double>& layer,
                                                const Shape& input_shape_with_batch,
                                                std::uint64_t seed,
                                                const GradientCheckOptions& options = {}) {
  Random rng(seed);
  layer.build(input_shape_with_batch.without_batch(), rng);
  Tensor<double> x = random_tensor(input_shape_with_batch, Random::derive_seed(seed, 0),
                                   options.input_low, options.input_high);
  for (Index i = 0; i < x.size(); ++i) {
    if (std::abs(x[i]) < options.min_abs_input) {
      x[i] = x[i] < 0 ? -options.min_abs_input : options.min_abs_input;
    }
  }
  return gradient_check_layer(layer, std::move(x), seed, options);
}

/// Asserts through doctest that a built layer's gradients at `x` pass the check.
inline void check_layer_gradients(Layer<double>& layer, const Tensor<double>& x,
                                  std::uint64_t seed, const GradientCheckOptions& options = {}) {
  const GradientCheckResult result = gradient_check_layer(layer, x, seed, options);
  CHECK_MESSAGE(result.passed(), layer.type() << ' ' << result.report(options.max_reported));
  CHECK(result.checked > 0);
}

/// Builds the layer for `input_shape_with_batch`, draws an input and asserts the check passes.
inline void check_layer_gradients(Layer<double>& layer, const Shape& input_shape_with_batch,
                                  std::uint64_t seed, const GradientCheckOptions& options = {}) {
  const GradientCheckResult result =
      gradient_check_layer(layer, input_shape_with_batch, seed, options);
  CHECK_MESSAGE(result.passed(), layer.type() << ' ' << result.report(options.max_reported));
  CHECK(result.checked > 0);
}

/// Asserts through doctest that the analytic gradients of a scalar function pass the check.
inline void check_function_gradients(const std::function<double()>& f,
                                     const std::vector<GradientVariable>& variables,
                                     std::uint64_t seed,
                                     const GradientCheckOptions& options = {}) {
  const GradientCheckResult result = gradient_check_function(f, variables, seed, options);
  CHECK_MESSAGE(result.passed(), result.report(options.max_reported));
  CHECK(result.checked > 0);
}

}  // namespace nn::test
