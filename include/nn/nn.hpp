#pragma once
/// The umbrella header: everything in nn, including image decoding and resizing, the
/// image-folder data set, PNG output and the console progress display. Training code that needs
/// only models and layers can include nn/sequential.hpp instead.

#include "nn/sequential.hpp"

#include "nn/core/init.hpp"
#include "nn/core/interpolation.hpp"
#include "nn/data/image_folder.hpp"
#include "nn/io/augmentation_grid.hpp"
#include "nn/io/image.hpp"
#include "nn/io/png.hpp"
#include "nn/io/progress.hpp"
#include "nn/io/resize.hpp"
