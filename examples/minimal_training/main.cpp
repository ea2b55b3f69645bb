// Trains a small CNN on a folder of images with one sub-folder per class and saves it.
// Usage: minimal_training DIR
#include <iostream>

#include <nn/data/image_folder.hpp>
#include <nn/sequential.hpp>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: minimal_training DIR\n";
    return 2;
  }

  // Like Keras' image_dataset_from_directory: 80% for training, 20% for validation.
  nn::ImageFolderOptions data;
  data.image_size = {64, 64};
  data.batch_size = 32;
  data.validation_split = 0.2;
  data.subset = nn::Subset::Both;
  data.seed = 123;
  data.log = nn::ostream_sink(std::cout);  // "Found 370 files belonging to 37 classes." ...
  auto [train, validation] = nn::image_dataset_from_directory<float>(argv[1], data);

  nn::Sequential<float> model({64, 64, 3}, /*seed=*/123,
                              nn::Rescaling<float>(1.0 / 255),
                              nn::Conv2D<float>(16, 3, nn::Padding::Same, nn::Activation::ReLU),
                              nn::MaxPool2D<float>(),
                              nn::Conv2D<float>(32, 3, nn::Padding::Same, nn::Activation::ReLU),
                              nn::MaxPool2D<float>(),
                              nn::Flatten<float>(),
                              nn::Dense<float>(64, nn::Activation::ReLU),
                              nn::Dense<float>(train.class_count()));  // logits
  model.compile(nn::Adam<float>(0.001));
  std::cout << model.summary();

  nn::FitOptions fit;
  fit.epochs = 3;
  fit.on_epoch_end = [](const nn::EpochLogs& logs) {
    std::cout << "epoch " << logs.epoch + 1 << ": loss " << logs.loss << ", accuracy "
              << logs.accuracy << ", val_loss " << logs.val_loss << ", val_accuracy "
              << logs.val_accuracy << '\n';
  };
  const nn::History history = model.fit(train, fit, &validation);
  model.save("model.nn");
  return history.loss.back() < history.loss.front() ? 0 : 1;
}
