#pragma once
/// The evaluate and predict commands: running a saved model on labelled folders or images.

#include "cli.hpp"

namespace pet_breeds {

/// Prints loss, accuracy and a per-class table for every image of a folder; returns the exit
/// code.
int run_evaluate(const EvaluateOptions& options);

/// Prints the five most likely classes of each image; returns the exit code (1 when an image
/// could not be read, after the others were classified).
int run_predict(const PredictOptions& options);

}  // namespace pet_breeds
