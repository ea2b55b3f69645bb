#pragma once
/// The train and summary commands.

#include <string>
#include <vector>

#include "cli.hpp"
#include "plots.hpp"

namespace pet_breeds {

/// Loads the data, trains, and writes the model, history and pictures; returns the exit code.
int run_train(const TrainOptions& options);

/// Prints the model summary; returns the exit code.
int run_summary(const SummaryOptions& options);

/// Reads history.csv; rows for epochs after `last_epoch` are dropped. Returns {} when the
/// file does not exist; throws nn::DataError when it exists but cannot be parsed.
std::vector<EpochRecord> read_history_csv(const std::string& path, int last_epoch);

/// Writes history.csv: a header and one row per epoch (1-based), replacing the file whole.
void write_history_csv(const std::string& path, const std::vector<EpochRecord>& history);

/// Asks a running training to stop and save a checkpoint, as Ctrl-C does.
void install_interrupt_handler();

}  // namespace pet_breeds
