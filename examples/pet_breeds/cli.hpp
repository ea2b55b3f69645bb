#pragma once
/// Command-line parsing for pet_breeds: commands, options, help texts and usage errors.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace pet_breeds {

/// Process exit codes. 2 for usage errors follows the convention of getopt-based tools.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,
  kExitUsage = 2,
  kExitInterrupted = 130,  ///< 128 + SIGINT, what shells report for Ctrl-C
};

/// A command line that cannot run: an unknown option, a missing or invalid value.
///
/// `command` is the command it belongs to ("" before one was recognised), so the message can
/// point at that command's --help.
class UsageError : public std::runtime_error {
 public:
  UsageError(std::string command, const std::string& message)
      : std::runtime_error(message), command_(std::move(command)) {}
  const std::string& command() const { return command_; }

 private:
  std::string command_;
};

struct TrainOptions {
  std::string data_dir;  ///< "" selects the photos shipped with the example
  int epochs = 10;
  bool epochs_given = false;  ///< --augment defaults to 15 epochs unless --epochs is given
  int batch_size = 32;
  int image_size = 180;
  double validation_split = 0.2;
  std::uint64_t seed = 123;
  bool augment = false;
  double learning_rate = 0.001;
  int threads = 0;  ///< 0 keeps OpenMP's default
  std::string out_dir = "pet_breeds_out";
  bool resume = false;
};

struct SummaryOptions {
  bool augment = false;
  int classes = 37;  ///< the embedded data set's breed count
  int image_size = 180;
};

struct EvaluateOptions {
  std::string model_path;
  std::string data_dir;
};

struct PredictOptions {
  std::string model_path;
  std::vector<std::string> images;
};

/// The parsed command line: exactly one of the option sets is filled, or `help_text` is set
/// when --help was given (the caller prints it and exits with 0).
struct CommandLine {
  std::string command;  ///< "train", "summary", "evaluate" or "predict"
  std::optional<std::string> help_text;
  TrainOptions train;
  SummaryOptions summary;
  EvaluateOptions evaluate;
  PredictOptions predict;
};

/// Parses argv; throws UsageError for anything that cannot run.
///
/// Options take their value as the next argument or after '=' (--epochs 3, --epochs=3). Paths
/// are checked here too, so a missing folder or file is a usage error that names its option.
CommandLine parse_command_line(int argc, const char* const* argv);

/// The overview printed by `pet_breeds --help` and after a usage error without a command.
std::string general_help();

/// The help of one command, e.g. `pet_breeds train --help`.
std::string command_help(const std::string& command);

/// The folder of photos shipped with the example, set at build time.
std::string embedded_data_dir();

/// The checkpoint that train writes after every epoch into its output folder.
std::string checkpoint_path(const std::string& out_dir);

}  // namespace pet_breeds
