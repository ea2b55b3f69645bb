#include "cli.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <sys/stat.h>

#ifndef PET_BREEDS_DATA_DIR
#define PET_BREEDS_DATA_DIR "data"
#endif

namespace pet_breeds {

namespace {

/// One option of a command: its name, the placeholder of its value ("" for a flag) and help.
struct OptionSpec {
  const char* name;
  const char* value;
  const char* help;
};

struct CommandSpec {
  const char* name;
  const char* usage;
  const char* summary;
  std::vector<OptionSpec> options;
  const char* notes;
};

const std::vector<CommandSpec>& command_specs() {
  static const std::vector<CommandSpec> specs = {
      {"train", "pet_breeds train [options]",
       "Trains the reference CNN on a folder of images with one sub-folder per class, as the\n"
       "Keras image-classification tutorial does, and writes the model, its history and\n"
       "pictures of the run to the output folder.",
       {
           {"--data", "DIR", "image folder, one sub-folder per class (default: the pet photos "
                             "shipped with the example)"},
           {"--epochs", "N", "number of epochs, at least 1 (default: 10, or 15 with --augment)"},
           {"--batch-size", "N", "images per batch, at least 1 (default: 32)"},
           {"--image-size", "S", "images are resized to S x S pixels, S at least 8 (default: 180)"},
           {"--validation-split", "F",
            "fraction of the images held out for validation, between 0 and 1 (default: 0.2)"},
           {"--seed", "N", "seed of the split, the shuffling and the initial weights "
                           "(default: 123)"},
           {"--augment", "", "train the second model: random flip, rotation and zoom in front, "
                             "dropout after the last pooling layer"},
           {"--learning-rate", "F", "Adam learning rate, greater than 0 (default: 0.001)"},
           {"--threads", "N", "number of threads, at least 1 (default: OpenMP's, e.g. "
                              "OMP_NUM_THREADS)"},
           {"--out", "DIR", "output folder, created if needed (default: pet_breeds_out)"},
           {"--resume", "", "continue from checkpoint.nn in the output folder, with its model "
                            "and optimizer settings; the finished epochs are skipped"},
       },
       "Writes to the output folder: model.nn and classes.txt (the trained model and its class\n"
       "names), checkpoint.nn (after every epoch and on Ctrl-C), history.csv,\n"
       "training_curves.png, samples.png, confusion_matrix.png and, with --augment,\n"
       "augmentation.png. The pictures use DejaVu Sans, or the TrueType font named by the\n"
       "environment variable PET_BREEDS_FONT (empty: a built-in bitmap font)."},
      {"summary", "pet_breeds summary [options]",
       "Prints the layers, output shapes and parameter counts of the model that train builds.",
       {
           {"--augment", "", "the model with augmentation and dropout"},
           {"--classes", "N", "number of classes, at least 2 (default: 37)"},
           {"--image-size", "S", "input images are S x S pixels, S at least 8 (default: 180)"},
       },
       ""},
      {"evaluate", "pet_breeds evaluate --model FILE --data DIR",
       "Prints the loss and accuracy of a trained model on every image of a folder, and a\n"
       "table with the count, precision and recall of each class.",
       {
           {"--model", "FILE", "model written by train, e.g. pet_breeds_out/model.nn "
                               "(classes.txt must be beside it)"},
           {"--data", "DIR", "image folder, one sub-folder per class; the class names must be "
                             "among the model's"},
       },
       ""},
      {"predict", "pet_breeds predict --model FILE IMAGE...",
       "Prints the five most likely classes of each image, with their probabilities.",
       {
           {"--model", "FILE", "model written by train, e.g. pet_breeds_out/model.nn "
                               "(classes.txt must be beside it)"},
       },
       "IMAGE is a JPEG, PNG, BMP or GIF file; give one or more."},
  };
  return specs;
}

const CommandSpec* find_command(const std::string& name) {
  for (const auto& spec : command_specs()) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

std::string accepted_options(const CommandSpec& spec) {
  std::string list;
  for (const auto& option : spec.options) list += std::string(option.name) + ", ";
  return list + "--help";
}

// Breaks text at spaces so that no line passes column `width`; continuation lines start at
// column `indent`, and the first line is assumed to start there too.
std::string wrap(const std::string& text, std::size_t indent, std::size_t width) {
  std::string result;
  std::size_t column = indent;
  std::istringstream words(text);
  for (std::string word; words >> word;) {
    if (column > indent && column + 1 + word.size() > width) {
      result += "\n" + std::string(indent, ' ');
      column = indent;
    } else if (column > indent) {
      result += ' ';
      ++column;
    }
    result += word;
    column += word.size();
  }
  return result;
}

bool is_directory(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

bool is_regular_file(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

/// Reads option values for one command and turns bad ones into UsageErrors.
class ValueParser {
 public:
  explicit ValueParser(std::string command) : command_(std::move(command)) {}

  [[noreturn]] void fail(const std::string& message) const {
    throw UsageError(command_, message);
  }

  [[noreturn]] void invalid(const std::string& option, const std::string& value,
                            const std::string& expected) const {
    fail("invalid value \"" + value + "\" for " + option + "; expected " + expected);
  }

  /// An integer in [minimum, maximum]; `expected` describes the accepted values.
  long long integer(const std::string& option, const std::string& value, long long minimum,
                    long long maximum, const std::string& expected) const {
    errno = 0;
    char* end = nullptr;
    const long long number = std::strtoll(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || errno == ERANGE || number < minimum ||
        number > maximum) {
      invalid(option, value, expected);
    }
    return number;
  }

  std::uint64_t unsigned_integer(const std::string& option, const std::string& value) const {
    errno = 0;
    char* end = nullptr;
    const std::string expected = "a whole number from 0 to 18446744073709551615";
    if (value.empty() || value[0] == '-' || value[0] == '+') invalid(option, value, expected);
    const unsigned long long number = std::strtoull(value.c_str(), &end, 10);
    if (*end != '\0' || errno == ERANGE) invalid(option, value, expected);
    return number;
  }

  /// A finite number in (low, high); `expected` describes the accepted values.
  double real(const std::string& option, const std::string& value, double low, double high,
              const std::string& expected) const {
    errno = 0;
    char* end = nullptr;
    const double number = std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(number) ||
        !(number > low && number < high)) {
      invalid(option, value, expected);
    }
    return number;
  }

 private:
  std::string command_;
};

}  // namespace

std::string embedded_data_dir() { return PET_BREEDS_DATA_DIR; }

std::string checkpoint_path(const std::string& out_dir) { return out_dir + "/checkpoint.nn"; }

std::string general_help() {
  std::ostringstream out;
  out << "Usage: pet_breeds COMMAND [options]\n\n"
         "Trains and uses a small convolutional network that tells pet breeds apart, the\n"
         "workflow of the Keras image-classification tutorial written with nn.\n\n"
         "Commands:\n"
         "  train      train the model on a folder of images (default: photos shipped with\n"
         "             the example)\n"
         "  summary    print the model's layers and parameter counts\n"
         "  evaluate   print the loss, accuracy and per-class results of a trained model\n"
         "  predict    print the five most likely classes of images\n\n"
         "Run 'pet_breeds COMMAND --help' for the options of a command.\n";
  return out.str();
}

std::string command_help(const std::string& command) {
  const CommandSpec* spec = find_command(command);
  if (spec == nullptr) return general_help();
  std::ostringstream out;
  out << "Usage: " << spec->usage << "\n\n" << spec->summary << "\n\nOptions:\n";
  for (const auto& option : spec->options) {
    std::string left = "  " + std::string(option.name);
    if (*option.value) left += " " + std::string(option.value);
    if (left.size() < 26) left.append(26 - left.size(), ' ');
    else left += "\n" + std::string(26, ' ');
    out << left << wrap(option.help, 26, 96) << '\n';
  }
  out << "  --help                  print this help and exit\n";
  if (*spec->notes) out << '\n' << spec->notes << '\n';
  return out.str();
}

CommandLine parse_command_line(int argc, const char* const* argv) {
  CommandLine result;
  if (argc < 2) throw UsageError("", "missing command; expected train, summary, evaluate or predict");
  const std::string first = argv[1];
  if (first == "--help" || first == "-h" || first == "help") {
    result.help_text = general_help();
    return result;
  }
  const CommandSpec* spec = find_command(first);
  if (spec == nullptr) {
    throw UsageError("", "unknown command \"" + first +
                             "\"; expected train, summary, evaluate or predict");
  }
  result.command = first;
  const ValueParser parse(first);

  // First pass: split "--name value" and "--name=value", collect positionals, catch --help
  // before any value is judged so that `train --epochs 0 --help` still prints the help.
  std::vector<std::pair<std::string, std::string>> option_values;
  std::vector<std::string> positionals;
  bool options_ended = false;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (options_ended || arg.size() < 2 || arg[0] != '-') {
      positionals.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_ended = true;
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      result.help_text = command_help(first);
      return result;
    }
    std::string value;
    bool has_value = false;
    const auto equals = arg.find('=');
    if (equals != std::string::npos) {
      value = arg.substr(equals + 1);
      arg = arg.substr(0, equals);
      has_value = true;
    }
    const OptionSpec* option = nullptr;
    for (const auto& candidate : spec->options) {
      if (arg == candidate.name) option = &candidate;
    }
    if (option == nullptr) {
      parse.fail("unknown option \"" + arg + "\"; accepted options: " + accepted_options(*spec));
    }
    if (*option->value == '\0') {
      if (has_value) parse.fail("option " + arg + " takes no value, got \"" + value + "\"");
    } else if (!has_value) {
      if (i + 1 >= argc) {
        parse.fail("option " + arg + " expects a value " + option->value + ": " + option->help);
      }
      value = argv[++i];
    }
    option_values.emplace_back(arg, value);
  }

  if (first == "train") {
    TrainOptions& options = result.train;
    for (const auto& [name, value] : option_values) {
      if (name == "--data") options.data_dir = value;
      if (name == "--epochs") {
        options.epochs = static_cast<int>(
            parse.integer(name, value, 1, 1000000, "a whole number of at least 1"));
        options.epochs_given = true;
      }
      if (name == "--batch-size") {
        options.batch_size = static_cast<int>(
            parse.integer(name, value, 1, 1000000, "a whole number of at least 1"));
      }
      if (name == "--image-size") {
        options.image_size = static_cast<int>(parse.integer(
            name, value, 8, 4096, "a whole number of pixels from 8 to 4096"));
      }
      if (name == "--validation-split") {
        options.validation_split = parse.real(
            name, value, 0.0, 1.0, "a number between 0 and 1, both excluded, e.g. 0.2");
      }
      if (name == "--seed") options.seed = parse.unsigned_integer(name, value);
      if (name == "--augment") options.augment = true;
      if (name == "--learning-rate") {
        options.learning_rate = parse.real(name, value, 0.0, HUGE_VAL,
                                           "a number greater than 0, e.g. 0.001");
      }
      if (name == "--threads") {
        options.threads = static_cast<int>(
            parse.integer(name, value, 1, 4096, "a whole number of at least 1"));
      }
      if (name == "--out") {
        if (value.empty()) parse.invalid(name, value, "a folder name");
        options.out_dir = value;
      }
      if (name == "--resume") options.resume = true;
    }
    if (!positionals.empty()) {
      parse.fail("unexpected argument \"" + positionals[0] + "\"; train takes options only");
    }
    if (options.augment && !options.epochs_given) options.epochs = 15;
    if (options.data_dir.empty()) {
      options.data_dir = embedded_data_dir();
      if (!is_directory(options.data_dir)) {
        parse.fail("the photos shipped with the example are not at \"" + options.data_dir +
                   "\"; pass --data DIR, a folder with one sub-folder per class");
      }
    } else if (!is_directory(options.data_dir)) {
      parse.fail("--data folder \"" + options.data_dir +
                 "\" not found; expected a folder with one sub-folder per class");
    }
    if (options.resume && !is_regular_file(checkpoint_path(options.out_dir))) {
      parse.fail("--resume: no checkpoint \"" + checkpoint_path(options.out_dir) +
                 "\" to continue from; run train without --resume first, or pick that run's "
                 "folder with --out");
    }
    return result;
  }

  if (first == "summary") {
    SummaryOptions& options = result.summary;
    for (const auto& [name, value] : option_values) {
      if (name == "--augment") options.augment = true;
      if (name == "--classes") {
        options.classes = static_cast<int>(
            parse.integer(name, value, 2, 1000000, "a whole number of at least 2"));
      }
      if (name == "--image-size") {
        options.image_size = static_cast<int>(parse.integer(
            name, value, 8, 4096, "a whole number of pixels from 8 to 4096"));
      }
    }
    if (!positionals.empty()) {
      parse.fail("unexpected argument \"" + positionals[0] + "\"; summary takes options only");
    }
    return result;
  }

  // evaluate and predict both need a model file.
  std::string model_path;
  std::string data_dir;
  for (const auto& [name, value] : option_values) {
    if (name == "--model") model_path = value;
    if (name == "--data") data_dir = value;
  }
  if (model_path.empty()) {
    parse.fail("missing option --model FILE; expected the model.nn written by train");
  }
  if (!is_regular_file(model_path)) {
    parse.fail("--model file \"" + model_path + "\" not found; expected the model.nn written "
               "by train");
  }

  if (first == "evaluate") {
    if (!positionals.empty()) {
      parse.fail("unexpected argument \"" + positionals[0] + "\"; evaluate takes options only");
    }
    if (data_dir.empty()) {
      parse.fail("missing option --data DIR; expected a folder with one sub-folder per class");
    }
    if (!is_directory(data_dir)) {
      parse.fail("--data folder \"" + data_dir +
                 "\" not found; expected a folder with one sub-folder per class");
    }
    result.evaluate = {model_path, data_dir};
    return result;
  }

  if (positionals.empty()) parse.fail("missing IMAGE; expected one or more image files");
  for (const auto& image : positionals) {
    if (!is_regular_file(image)) parse.fail("IMAGE file \"" + image + "\" not found");
  }
  result.predict = {model_path, positionals};
  return result;
}

}  // namespace pet_breeds
