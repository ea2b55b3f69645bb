#pragma once
/// The entry header: Sequential and every layer, loss and optimizer of nn.
///
/// `#include <nn/sequential.hpp>` is all a training program needs. nn/nn.hpp adds the data
/// loaders and image input and output.

#include "nn/core/errors.hpp"
#include "nn/core/random.hpp"
#include "nn/core/shape.hpp"
#include "nn/core/tensor.hpp"
#include "nn/core/threads.hpp"
#include "nn/data/batch_source.hpp"
#include "nn/data/tensor_dataset.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/layers/dense.hpp"
#include "nn/layers/dropout.hpp"
#include "nn/layers/flatten.hpp"
#include "nn/layers/layer.hpp"
#include "nn/layers/max_pool2d.hpp"
#include "nn/layers/random_flip.hpp"
#include "nn/layers/random_rotation.hpp"
#include "nn/layers/random_zoom.hpp"
#include "nn/layers/relu.hpp"
#include "nn/layers/rescaling.hpp"
#include "nn/losses/softmax_cross_entropy.hpp"
#include "nn/model/fit_options.hpp"
#include "nn/model/history.hpp"
#include "nn/model/registry.hpp"
#include "nn/model/sequential.hpp"
#include "nn/optimizers/adam.hpp"
#include "nn/optimizers/optimizer.hpp"
#include "nn/optimizers/sgd.hpp"
