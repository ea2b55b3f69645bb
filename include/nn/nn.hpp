#pragma once
/// The umbrella header: everything in nn, including image decoding, PNG output and the console
/// progress display. Training code that needs only models and layers can include
/// nn/sequential.hpp instead.

#include "nn/sequential.hpp"

#include "nn/core/init.hpp"
#include "nn/io/augmentation_grid.hpp"
#include "nn/io/image.hpp"
#include "nn/io/png.hpp"
#include "nn/io/progress.hpp"
