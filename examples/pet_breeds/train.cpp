#include "train.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nn/core/threads.hpp>
#include <nn/data/image_folder.hpp>
#include <nn/io/augmentation_grid.hpp>
#include <nn/io/progress.hpp>

#include "confusion.hpp"
#include "model.hpp"

namespace pet_breeds {

namespace {

// Set by the SIGINT handler and polled by the training callbacks. A lock-free atomic is one
// of the few things a signal handler may touch.
std::atomic<bool> interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the SIGINT flag must be lock-free");

extern "C" void on_sigint(int) {
  interrupted.store(true);
  // A second Ctrl-C ends the program at once, e.g. if saving the checkpoint hangs.
  std::signal(SIGINT, SIG_DFL);
}

std::string join_path(const std::string& folder, const std::string& file) {
  return (std::filesystem::path(folder) / file).string();
}

// Prints the class names as Python prints a list, wrapped at 100 columns.
void print_class_names(const std::vector<std::string>& names) {
  std::cout << "Class names (" << names.size() << "):\n";
  std::string line = "[";
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string item = "'" + names[i] + "'" + (i + 1 < names.size() ? "," : "]");
    if (line.size() > 1 && line.size() + 1 + item.size() > 100) {
      std::cout << line << '\n';
      line = " ";
    } else if (line.size() > 1) {
      line += ' ';
    }
    line += item;
  }
  std::cout << line << "\n\n";
}

// Converts image i of a batch [N, H, W, 3] with values 0..255 to 8-bit RGB.
LabelledImage batch_image(const nn::Tensor<float>& images, nn::Index i, std::string caption) {
  LabelledImage image;
  image.height = static_cast<int>(images.dim(1));
  image.width = static_cast<int>(images.dim(2));
  const nn::Index size = images.dim(1) * images.dim(2) * 3;
  image.rgb.resize(static_cast<std::size_t>(size));
  for (nn::Index k = 0; k < size; ++k) {
    const float v = std::clamp(images[i * size + k], 0.0f, 255.0f);
    image.rgb[static_cast<std::size_t>(k)] = static_cast<std::uint8_t>(std::lround(v));
  }
  image.caption = std::move(caption);
  return image;
}

// Display size of grid tiles: the images themselves when large enough, scaled up otherwise.
int tile_size(int image_size) { return std::clamp(image_size, 160, 256); }

// samples.png: the first 9 training images of epoch 1, as the notebook's plt.imshow grid.
void write_samples(nn::ImageDataset<float>& train, const std::vector<std::string>& names,
                   const Font& font, int image_size, const std::string& path) {
  nn::Tensor<float> images;
  std::vector<std::int32_t> labels;
  train.begin_epoch(0);
  std::vector<LabelledImage> tiles;
  while (tiles.size() < 9 && train.next_batch(images, labels)) {
    for (std::size_t i = 0; i < labels.size() && tiles.size() < 9; ++i) {
      tiles.push_back(batch_image(images, static_cast<nn::Index>(i),
                                  names[static_cast<std::size_t>(labels[i])]));
    }
  }
  draw_image_grid(font, tiles, 3, 3, tile_size(image_size), "Training images").save_png(path);
}

// augmentation.png: the first training image through the model's augmentation layers 9 times,
// as the notebook shows it.
void write_augmentation(nn::ImageDataset<float>& train, const std::vector<std::string>& names,
                        const Font& font, int image_size, std::uint64_t seed,
                        const std::string& path) {
  nn::Tensor<float> images;
  std::vector<std::int32_t> labels;
  train.begin_epoch(0);
  if (!train.next_batch(images, labels)) return;
  nn::Tensor<float> first(nn::Shape{1, images.dim(1), images.dim(2), images.dim(3)});
  std::copy(images.data(), images.data() + first.size(), first.data());

  const auto layers = make_augmentation_layers();
  std::vector<nn::Layer<float>*> pointers;
  for (const auto& layer : layers) pointers.push_back(layer.get());
  const nn::Tensor<float> copies = nn::augmented_copies(first, 9, pointers, seed);
  std::vector<LabelledImage> tiles;
  for (nn::Index i = 0; i < copies.dim(0); ++i) {
    tiles.push_back(batch_image(copies, i, "version " + std::to_string(i + 1)));
  }
  draw_image_grid(font, tiles, 3, 3, tile_size(image_size),
                  "Random flip, rotation and zoom of one \"" +
                      names[static_cast<std::size_t>(labels[0])] + "\" image")
      .save_png(path);
}

// "1 complete epoch", "3 complete epochs".
std::string epochs_text(nn::Index count) {
  return std::to_string(count) + (count == 1 ? " complete epoch" : " complete epochs");
}

EpochRecord to_record(const nn::EpochLogs& logs) {
  return {static_cast<int>(logs.epoch + 1), logs.loss, logs.accuracy, logs.val_loss,
          logs.val_accuracy, logs.seconds};
}

// Checks that a resumed run trains on the image size and the classes of the checkpoint.
void check_resumed_model(const std::string& checkpoint, Model& model, int image_size,
                         const std::vector<std::string>& names) {
  const nn::Shape input = model.input_shape();
  if (input[0] != image_size || input[1] != image_size) {
    throw nn::DataError("--resume: \"" + checkpoint + "\" was trained on " +
                        std::to_string(input[0]) + "x" + std::to_string(input[1]) +
                        " images, got --image-size " + std::to_string(image_size) +
                        "; resume with --image-size " + std::to_string(input[0]));
  }
  const std::vector<std::string> saved = load_class_names(checkpoint, model.output_shape()[0]);
  if (saved != names) {
    throw nn::DataError("--resume: the classes of \"" + checkpoint + "\" (" +
                        std::to_string(saved.size()) + ", listed in " +
                        class_names_path(checkpoint) + ") differ from the " +
                        std::to_string(names.size()) +
                        " class folders of the data; resume with the same --data");
  }
}

}  // namespace

void install_interrupt_handler() { std::signal(SIGINT, on_sigint); }

std::vector<EpochRecord> read_history_csv(const std::string& path, int last_epoch) {
  std::ifstream in(path);
  if (!in) return {};
  std::vector<EpochRecord> rows;
  std::string line;
  std::getline(in, line);  // header
  for (int number = 2; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    for (char& c : line) {
      if (c == ',') c = ' ';
    }
    std::istringstream fields(line);
    EpochRecord r;
    std::string val_loss, val_accuracy;
    if (!(fields >> r.epoch >> r.loss >> r.accuracy >> val_loss >> val_accuracy >> r.seconds)) {
      throw nn::DataError("read_history_csv: \"" + path + "\" line " + std::to_string(number) +
                          ": expected epoch,loss,accuracy,val_loss,val_accuracy,seconds");
    }
    r.val_loss = std::strtod(val_loss.c_str(), nullptr);
    r.val_accuracy = std::strtod(val_accuracy.c_str(), nullptr);
    if (r.epoch <= last_epoch) rows.push_back(r);
  }
  return rows;
}

void write_history_csv(const std::string& path, const std::vector<EpochRecord>& history) {
  std::ostringstream text;
  text << "epoch,loss,accuracy,val_loss,val_accuracy,seconds\n";
  char row[256];
  for (const EpochRecord& r : history) {
    std::snprintf(row, sizeof row, "%d,%.6f,%.6f,%.6f,%.6f,%.3f\n", r.epoch, r.loss, r.accuracy,
                  r.val_loss, r.val_accuracy, r.seconds);
    text << row;
  }
  // Written beside the target and renamed over it, so an interrupted write never leaves a
  // truncated history behind.
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text.str();
    out.close();
    if (!out) throw nn::DataError("write_history_csv: cannot write \"" + temporary + "\"");
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    throw nn::DataError("write_history_csv: cannot replace \"" + path + "\"");
  }
}

int run_summary(const SummaryOptions& options) {
  Model model = build_model(options.classes, options.image_size, options.augment, 0);
  std::cout << model.summary();
  return kExitOk;
}

int run_train(const TrainOptions& options) {
  if (options.threads > 0) nn::set_num_threads(options.threads);
  std::error_code error;
  std::filesystem::create_directories(options.out_dir, error);
  if (error) {
    throw nn::DataError("train: cannot create the output folder \"" + options.out_dir +
                        "\": " + error.message());
  }
  const Font font = Font::load(font_path());
  if (!font.is_truetype()) {
    std::cout << "Note: the font \"" << font_path()
              << "\" could not be loaded, so the pictures use the built-in bitmap font; install "
                 "Debian's fonts-dejavu-core or set PET_BREEDS_FONT to a .ttf file\n";
  }
  const std::string checkpoint = checkpoint_path(options.out_dir);
  const std::string model_path = join_path(options.out_dir, "model.nn");
  const std::string history_path = join_path(options.out_dir, "history.csv");
  const std::string curves_path = join_path(options.out_dir, "training_curves.png");

  std::cout << "Data: " << options.data_dir << "\nSeed " << options.seed << ", images "
            << options.image_size << "x" << options.image_size << ", batch size "
            << options.batch_size << ", validation split " << options.validation_split
            << ", learning rate " << options.learning_rate << ", " << nn::num_threads()
            << (nn::num_threads() == 1 ? " thread" : " threads")
            << (options.augment ? ", with augmentation and dropout" : "") << "\n";

  // The data, split and shuffled as Keras' image_dataset_from_directory does.
  nn::ImageFolderOptions folder;
  folder.image_size = {options.image_size, options.image_size};
  folder.batch_size = options.batch_size;
  folder.seed = options.seed;
  folder.validation_split = options.validation_split;
  folder.subset = nn::Subset::Both;
  folder.log = nn::ostream_sink(std::cout);
  auto [train, validation] = nn::image_dataset_from_directory<float>(options.data_dir, folder);
  const std::vector<std::string> names = train.class_names();
  std::cout << '\n';
  print_class_names(names);

  write_samples(train, names, font, options.image_size, join_path(options.out_dir, "samples.png"));
  std::cout << "Wrote " << join_path(options.out_dir, "samples.png") << '\n';
  if (options.augment) {
    write_augmentation(train, names, font, options.image_size, options.seed,
                       join_path(options.out_dir, "augmentation.png"));
    std::cout << "Wrote " << join_path(options.out_dir, "augmentation.png") << '\n';
  }

  // A fresh model, or the checkpoint with its weights, Adam state and epoch count.
  Model model = options.resume ? Model::load(checkpoint)
                               : build_model(static_cast<int>(names.size()), options.image_size,
                                             options.augment, options.seed,
                                             options.learning_rate);
  std::vector<EpochRecord> history;
  if (options.resume) {
    check_resumed_model(checkpoint, model, options.image_size, names);
    const auto done = static_cast<int>(model.epochs_completed());
    history = read_history_csv(history_path, done);
    std::cout << "Resuming from " << checkpoint << " after " << done << " of " << options.epochs
              << " epochs\n";
    if (done >= options.epochs) {
      std::cout << "Nothing to train: the checkpoint has " << done
                << " epochs; pass a larger --epochs to train further\n";
    }
  }
  std::cout << '\n' << model.summary() << '\n';
  save_class_names(checkpoint, names);

  // Training, with Keras' progress display and a checkpoint after every epoch.
  nn::ConsoleProgress progress(std::cout, nn::stdout_is_terminal());
  nn::FitOptions fit;
  fit.epochs = options.epochs;
  fit.initial_epoch = model.epochs_completed();

  nn::Index current_epoch = fit.initial_epoch;
  nn::Index batches_done = 0;  // in the current epoch
  fit.on_epoch_begin = [&](nn::Index epoch, nn::Index epochs) {
    current_epoch = epoch;
    batches_done = 0;
    progress.begin_epoch(epoch, epochs, train.batch_count());
  };
  fit.on_batch_end = [&](nn::Index step, nn::Index, double loss, double accuracy) {
    batches_done = step;
    progress.update(step, {{"loss", loss}, {"accuracy", accuracy}});
    if (interrupted.load()) model.stop_training();
  };
  fit.on_epoch_end = [&](const nn::EpochLogs& logs) {
    progress.end_epoch({{"loss", logs.loss},
                        {"accuracy", logs.accuracy},
                        {"val_loss", logs.val_loss},
                        {"val_accuracy", logs.val_accuracy}});
    history.push_back(to_record(logs));
    write_history_csv(history_path, history);
    draw_training_curves(font, history).save_png(curves_path);
    model.save(checkpoint);
    if (interrupted.load()) model.stop_training();
  };
  if (interrupted.load()) {
    std::cout << "Interrupted before training; nothing was saved.\n";
    return kExitInterrupted;
  }
  model.fit(train, fit, &validation);

  // Ctrl-C during the validation of the last epoch leaves a finished run, which is saved as
  // such below.
  //
  // Stopped inside an epoch, the checkpoint keeps the weights after that epoch's finished
  // batches, so that their work is not lost, while its epoch count stays at the last complete
  // epoch: --resume runs the unfinished epoch again from its first batch.
  if (model.epochs_completed() < options.epochs && interrupted.load()) {
    const nn::Index done = model.epochs_completed();
    const bool inside_epoch = current_epoch == done && batches_done > 0;
    progress.abandon_epoch();
    model.save(checkpoint);
    if (inside_epoch) {
      std::cout << "\nInterrupted in epoch " << done + 1 << '/' << options.epochs << " after "
                << batches_done << " of " << train.batch_count() << " batches. Saved "
                << checkpoint << " with " << epochs_text(done) << " and those batches; run "
                << "the same command with --resume to start epoch " << done + 1 << " again.\n";
    } else {
      std::cout << "\nInterrupted after " << epochs_text(done) << ". Saved " << checkpoint
                << "; run the same command with --resume to continue with epoch " << done + 1
                << ".\n";
    }
    return kExitInterrupted;
  }

  // The final model and the pictures of the run.
  model.save(model_path);
  save_class_names(model_path, names);
  draw_training_curves(font, history).save_png(curves_path);
  const ConfusionMatrix confusion = confusion_matrix(model, validation, names.size());
  const std::string confusion_path = join_path(options.out_dir, "confusion_matrix.png");
  draw_confusion_matrix(font, names, confusion.counts,
                        "Confusion matrix of the validation set (" +
                            std::to_string(confusion.total()) + " images, accuracy " +
                            format_percent(confusion.accuracy()) + ")")
      .save_png(confusion_path);

  std::cout << "\nWrote " << model_path << ", " << class_names_path(model_path) << ", "
            << history_path << ",\n      " << curves_path << ", " << confusion_path
            << "\nTry: pet_breeds predict --model " << model_path << " IMAGE\n";
  return kExitOk;
}

}  // namespace pet_breeds
