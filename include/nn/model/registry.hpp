#pragma once
/// Rebuilds layers and optimizers from their saved type name and configuration.

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "nn/core/errors.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/layers/dense.hpp"
#include "nn/layers/dropout.hpp"
#include "nn/layers/flatten.hpp"
#include "nn/layers/layer.hpp"
#include "nn/layers/max_pool2d.hpp"
#include "nn/layers/random_flip.hpp"
#include "nn/layers/random_rotation.hpp"
#include "nn/layers/random_zoom.hpp"
#include "nn/layers/relu.hpp"
#include "nn/layers/rescaling.hpp"
#include "nn/optimizers/adam.hpp"
#include "nn/optimizers/optimizer.hpp"
#include "nn/optimizers/sgd.hpp"

namespace nn {

/// A function that builds a layer from the configuration its `config()` wrote.
template <typename Scalar>
using LayerFactory = std::function<std::unique_ptr<Layer<Scalar>>(const LayerConfig&)>;

/// A function that builds an optimizer from the configuration its `config()` wrote.
template <typename Scalar>
using OptimizerFactory = std::function<std::unique_ptr<Optimizer<Scalar>>(const LayerConfig&)>;

namespace detail {

/// The layer factories by type name: every built-in layer, plus those added by register_layer.
template <typename Scalar>
std::map<std::string, LayerFactory<Scalar>>& layer_factories() {
  static std::map<std::string, LayerFactory<Scalar>> factories{
      {"Conv2D", &Conv2D<Scalar>::from_config},
      {"Dense", &Dense<Scalar>::from_config},
      {"Dropout", &Dropout<Scalar>::from_config},
      {"Flatten", &Flatten<Scalar>::from_config},
      {"MaxPooling2D", &MaxPool2D<Scalar>::from_config},
      {"RandomFlip", &RandomFlip<Scalar>::from_config},
      {"RandomRotation", &RandomRotation<Scalar>::from_config},
      {"RandomZoom", &RandomZoom<Scalar>::from_config},
      {"ReLU", &ReLU<Scalar>::from_config},
      {"Rescaling", &Rescaling<Scalar>::from_config},
  };
  return factories;
}

template <typename Scalar>
std::map<std::string, OptimizerFactory<Scalar>>& optimizer_factories() {
  static std::map<std::string, OptimizerFactory<Scalar>> factories{
      {"Adam", &Adam<Scalar>::from_config},
      {"SGD", &SGD<Scalar>::from_config},
  };
  return factories;
}

template <typename Map>
std::string known_names(const Map& factories) {
  std::string names;
  for (const auto& entry : factories) names += (names.empty() ? "" : ", ") + entry.first;
  return names;
}

}  // namespace detail

/// Makes a custom layer type loadable: `load` calls `factory` for layers saved with this
/// type name, as Keras' `custom_objects` does. Call it before loading; not thread-safe.
template <typename Scalar>
void register_layer(const std::string& type, LayerFactory<Scalar> factory) {
  detail::layer_factories<Scalar>()[type] = std::move(factory);
}

/// Makes a custom optimizer type loadable; see register_layer.
template <typename Scalar>
void register_optimizer(const std::string& type, OptimizerFactory<Scalar> factory) {
  detail::optimizer_factories<Scalar>()[type] = std::move(factory);
}

/// Builds a layer of the given type from its configuration.
///
/// Throws DataError naming the type when no factory is registered for it, and passes on the
/// layer's own error when the configuration is invalid.
template <typename Scalar>
std::unique_ptr<Layer<Scalar>> make_layer(const std::string& type, const LayerConfig& config) {
  const auto& factories = detail::layer_factories<Scalar>();
  const auto found = factories.find(type);
  if (found == factories.end()) {
    throw DataError("make_layer: unknown layer type \"" + type + "\"; expected one of " +
                    detail::known_names(factories) +
                    ", or a custom type added with nn::register_layer");
  }
  return found->second(config);
}

/// Builds an optimizer of the given type from its configuration; see make_layer.
template <typename Scalar>
std::unique_ptr<Optimizer<Scalar>> make_optimizer(const std::string& type,
                                                  const LayerConfig& config) {
  const auto& factories = detail::optimizer_factories<Scalar>();
  const auto found = factories.find(type);
  if (found == factories.end()) {
    throw DataError("make_optimizer: unknown optimizer type \"" + type + "\"; expected one of " +
                    detail::known_names(factories) +
                    ", or a custom type added with nn::register_optimizer");
  }
  return found->second(config);
}

}  // namespace nn
