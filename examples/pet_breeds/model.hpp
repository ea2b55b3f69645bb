#pragma once
/// The reference CNN of the Keras image-classification tutorial, and its class-name file.

#include <cstdint>
#include <string>
#include <vector>

#include <nn/sequential.hpp>

namespace pet_breeds {

using Model = nn::Sequential<float>;

/// Builds the tutorial's model for `classes` classes and square images of `image_size` pixels:
///
///     Rescaling(1/255)
///     Conv2D(16, 3, same, relu)  MaxPooling2D
///     Conv2D(32, 3, same, relu)  MaxPooling2D
///     Conv2D(64, 3, same, relu)  MaxPooling2D
///     Flatten  Dense(128, relu)  Dense(classes)
///
/// With `augment`, RandomFlip("horizontal"), RandomRotation(0.1) and RandomZoom(0.1) come
/// first and Dropout(0.2) follows the last pooling layer, as in the tutorial's second model.
/// The model is compiled with Adam at `learning_rate` and outputs logits.
Model build_model(int classes, int image_size, bool augment, std::uint64_t seed,
                  double learning_rate = 0.001);

/// The augmentation layers of the second model, in their order, for drawing examples.
std::vector<std::unique_ptr<nn::Layer<float>>> make_augmentation_layers();

/// The file beside a saved model that lists its class names, one per line.
std::string class_names_path(const std::string& model_path);

/// Writes the class names, one per line, next to the model (see class_names_path).
void save_class_names(const std::string& model_path, const std::vector<std::string>& names);

/// Reads the class names saved for a model; throws nn::DataError when the file is missing or
/// its line count differs from `expected_count`.
std::vector<std::string> load_class_names(const std::string& model_path,
                                          nn::Index expected_count);

}  // namespace pet_breeds
