#include "inference.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <numeric>

#include <nn/data/image_folder.hpp>
#include <nn/io/image.hpp>
#include <nn/io/resize.hpp>
#include <nn/losses/softmax_cross_entropy.hpp>

#include "confusion.hpp"
#include "model.hpp"

namespace pet_breeds {

namespace {

struct LoadedModel {
  Model model;
  std::vector<std::string> class_names;
};

LoadedModel load_model(const std::string& path) {
  Model model = Model::load(path);
  const nn::Shape output = model.output_shape();
  const nn::Shape input = model.input_shape();
  if (output.rank() != 1 || input.rank() != 3 || input[2] != 3) {
    throw nn::DataError("\"" + path + "\": expected an image classifier with input [H, W, 3] "
                        "and output [classes], got input " + input.to_string() + " and output " +
                        output.to_string());
  }
  std::vector<std::string> names = load_class_names(path, output[0]);
  return {std::move(model), std::move(names)};
}

std::string pad_right(const std::string& text, std::size_t width) {
  return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}

std::string pad_left(const std::string& text, std::size_t width) {
  return text.size() >= width ? text : std::string(width - text.size(), ' ') + text;
}

}  // namespace

int run_evaluate(const EvaluateOptions& options) {
  LoadedModel loaded = load_model(options.model_path);
  const nn::Shape input = loaded.model.input_shape();

  nn::ImageFolderOptions folder;
  folder.image_size = {input[0], input[1]};
  folder.shuffle = false;
  folder.subset = nn::Subset::All;
  folder.log = nn::ostream_sink(std::cout);
  nn::ImageDataset<float> data =
      std::move(nn::image_dataset_from_directory<float>(options.data_dir, folder).training);

  // The folder's classes are matched to the model's by name, so a folder may hold a subset of
  // them, in any order.
  const std::vector<std::string> folder_names = data.class_names();
  std::vector<int> label_map;
  for (const auto& name : folder_names) {
    const auto it = std::find(loaded.class_names.begin(), loaded.class_names.end(), name);
    if (it == loaded.class_names.end()) {
      throw nn::DataError("evaluate: class folder \"" + name + "\" of \"" + options.data_dir +
                          "\" is not one of the model's " +
                          std::to_string(loaded.class_names.size()) + " classes (listed in " +
                          class_names_path(options.model_path) + ")");
    }
    label_map.push_back(static_cast<int>(it - loaded.class_names.begin()));
  }

  const ConfusionMatrix result =
      confusion_matrix(loaded.model, data, loaded.class_names.size(), label_map);
  std::printf("\nEvaluated %s on %ld images of %zu classes\n", options.model_path.c_str(),
              result.total(), folder_names.size());
  std::printf("loss: %.4f - accuracy: %.4f\n\n", result.loss(), result.accuracy());

  // Per-class table, as scikit-learn's classification_report: precision is the fraction of
  // the images predicted as a class that belong to it, recall the fraction of a class's
  // images predicted as it (its accuracy).
  std::size_t width = 5;
  for (const auto& name : folder_names) width = std::max(width, name.size());
  std::cout << pad_right("class", width) << "  count  correct  precision   recall\n";
  double precision_sum = 0.0, recall_sum = 0.0;
  int precision_count = 0, recall_count = 0;
  for (int c : label_map) {
    const auto k = static_cast<std::size_t>(c);
    const double precision = result.precision(k);
    const double recall = result.recall(k);
    if (!std::isnan(precision)) {
      precision_sum += precision;
      ++precision_count;
    }
    if (!std::isnan(recall)) {
      recall_sum += recall;
      ++recall_count;
    }
    std::cout << pad_right(loaded.class_names[k], width) << "  "
              << pad_left(std::to_string(result.support(k)), 5) << "  "
              << pad_left(std::to_string(result.counts[k][k]), 7) << "  "
              << pad_left(format_percent(precision), 9) << "  "
              << pad_left(format_percent(recall), 7) << '\n';
  }
  std::cout << pad_right("mean", width) << "  " << pad_left(std::to_string(result.total()), 5)
            << "  " << pad_left(std::to_string(result.correct()), 7) << "  "
            << pad_left(format_percent(precision_count ? precision_sum / precision_count : NAN), 9)
            << "  "
            << pad_left(format_percent(recall_count ? recall_sum / recall_count : NAN), 7)
            << '\n';
  if (precision_count < static_cast<int>(label_map.size())) {
    std::cout << "(precision is n/a for a class that was never predicted)\n";
  }
  return kExitOk;
}

int run_predict(const PredictOptions& options) {
  LoadedModel loaded = load_model(options.model_path);
  const nn::Shape input = loaded.model.input_shape();
  const nn::ImageSize size{input[0], input[1]};
  const std::size_t top = std::min<std::size_t>(5, loaded.class_names.size());
  std::size_t width = 0;
  for (const auto& name : loaded.class_names) width = std::max(width, name.size());

  int exit_code = kExitOk;
  for (std::size_t n = 0; n < options.images.size(); ++n) {
    const std::string& path = options.images[n];
    nn::RgbImage image;
    try {
      image = nn::load_image(path);
    } catch (const nn::DataError& e) {
      std::cerr << "pet_breeds predict: error: " << e.what() << '\n';
      exit_code = kExitFailure;
      continue;
    }

    // Resized exactly as the training images were: bilinear to 8 bits, then to float.
    std::vector<std::uint8_t> resized(static_cast<std::size_t>(size.height * size.width * 3));
    nn::resize_image(image.pixels.data(), image.height, image.width, 3, resized.data(), size);
    nn::Tensor<float> x(nn::Shape{1, size.height, size.width, 3});
    std::copy(resized.begin(), resized.end(), x.data());
    const nn::Tensor<float> probabilities = nn::softmax(loaded.model.predict(x));

    std::vector<std::size_t> order(loaded.class_names.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return probabilities[static_cast<nn::Index>(a)] > probabilities[static_cast<nn::Index>(b)];
    });
    if (n > 0) std::cout << '\n';
    std::cout << path << '\n';
    std::printf("This image most likely belongs to %s with a %.2f percent confidence.\n",
                loaded.class_names[order[0]].c_str(),
                100.0 * probabilities[static_cast<nn::Index>(order[0])]);
    for (std::size_t i = 0; i < top; ++i) {
      const std::size_t c = order[i];
      std::printf("  %zu. %s  %6.2f%%\n", i + 1, pad_right(loaded.class_names[c], width).c_str(),
                  100.0 * probabilities[static_cast<nn::Index>(c)]);
    }
  }
  return exit_code;
}

}  // namespace pet_breeds
