// pet_breeds: the Keras image-classification tutorial's workflow written with nn.
//
//   pet_breeds train [--data DIR] [--epochs N] [--augment] ...   train and write pictures
//   pet_breeds summary [--augment] [--classes N] [--image-size S]
//   pet_breeds evaluate --model FILE --data DIR
//   pet_breeds predict --model FILE IMAGE...
//
// Exit codes: 0 success, 1 a runtime failure (unreadable data, a broken model file),
// 2 a usage error, 130 interrupted by Ctrl-C after saving a checkpoint.

#include <exception>
#include <iostream>

#include <nn/core/errors.hpp>

#include "cli.hpp"
#include "inference.hpp"
#include "train.hpp"

int main(int argc, char** argv) {
  using namespace pet_breeds;
  CommandLine command;
  try {
    command = parse_command_line(argc, argv);
  } catch (const UsageError& e) {
    const std::string prefix = "pet_breeds" + (e.command().empty() ? "" : " " + e.command());
    std::cerr << prefix << ": error: " << e.what() << "\nRun '" << prefix
              << " --help' for the usage.\n";
    return kExitUsage;
  }
  if (command.help_text) {
    std::cout << *command.help_text;
    return kExitOk;
  }

  try {
    if (command.command == "train") {
      install_interrupt_handler();
      return run_train(command.train);
    }
    if (command.command == "summary") return run_summary(command.summary);
    if (command.command == "evaluate") return run_evaluate(command.evaluate);
    return run_predict(command.predict);
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "\npet_breeds " << command.command << ": error: " << e.what() << '\n';
    return kExitFailure;
  }
}
