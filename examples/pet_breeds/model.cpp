#include "model.hpp"

#include <fstream>

#include <nn/layers/conv2d.hpp>
#include <nn/layers/dense.hpp>
#include <nn/layers/dropout.hpp>
#include <nn/layers/flatten.hpp>
#include <nn/layers/max_pool2d.hpp>
#include <nn/layers/random_flip.hpp>
#include <nn/layers/random_rotation.hpp>
#include <nn/layers/random_zoom.hpp>
#include <nn/layers/rescaling.hpp>
#include <nn/optimizers/adam.hpp>

namespace pet_breeds {

Model build_model(int classes, int image_size, bool augment, std::uint64_t seed,
                  double learning_rate) {
  using nn::Activation;
  using nn::Padding;
  Model model({image_size, image_size, 3}, seed);
  if (augment) {
    for (auto& layer : make_augmentation_layers()) model.add(std::move(layer));
  }
  model.add(nn::Rescaling<float>(1.0 / 255.0));
  model.add(nn::Conv2D<float>(16, 3, Padding::Same, Activation::ReLU));
  model.add(nn::MaxPool2D<float>());
  model.add(nn::Conv2D<float>(32, 3, Padding::Same, Activation::ReLU));
  model.add(nn::MaxPool2D<float>());
  model.add(nn::Conv2D<float>(64, 3, Padding::Same, Activation::ReLU));
  model.add(nn::MaxPool2D<float>());
  if (augment) model.add(nn::Dropout<float>(0.2));
  model.add(nn::Flatten<float>());
  model.add(nn::Dense<float>(128, Activation::ReLU));
  model.add(nn::Dense<float>(classes));
  model.compile(nn::Adam<float>(learning_rate));
  model.build();
  return model;
}

std::vector<std::unique_ptr<nn::Layer<float>>> make_augmentation_layers() {
  std::vector<std::unique_ptr<nn::Layer<float>>> layers;
  layers.push_back(std::make_unique<nn::RandomFlip<float>>("horizontal"));
  layers.push_back(std::make_unique<nn::RandomRotation<float>>(0.1));
  layers.push_back(std::make_unique<nn::RandomZoom<float>>(0.1));
  return layers;
}

std::string class_names_path(const std::string& model_path) {
  const auto slash = model_path.find_last_of('/');
  const std::string folder = slash == std::string::npos ? "" : model_path.substr(0, slash + 1);
  return folder + "classes.txt";
}

void save_class_names(const std::string& model_path, const std::vector<std::string>& names) {
  const std::string path = class_names_path(model_path);
  std::ofstream out(path, std::ios::trunc);
  for (const auto& name : names) out << name << '\n';
  out.close();
  if (!out) throw nn::DataError("save_class_names: cannot write \"" + path + "\"");
}

std::vector<std::string> load_class_names(const std::string& model_path,
                                          nn::Index expected_count) {
  const std::string path = class_names_path(model_path);
  std::ifstream in(path);
  if (!in) {
    throw nn::DataError("load_class_names: cannot read \"" + path +
                        "\"; train writes it next to model.nn, one class name per line");
  }
  std::vector<std::string> names;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  if (static_cast<nn::Index>(names.size()) != expected_count) {
    throw nn::DataError("load_class_names: \"" + path + "\" expected " +
                        std::to_string(expected_count) + " class names (the model outputs " +
                        std::to_string(expected_count) + " logits), got " +
                        std::to_string(names.size()));
  }
  return names;
}

}  // namespace pet_breeds
