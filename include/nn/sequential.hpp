#pragma once
/// The entry header: Sequential and every layer, loss and optimizer of nn.

#include "nn/core/errors.hpp"
#include "nn/core/random.hpp"
#include "nn/core/shape.hpp"
#include "nn/core/tensor.hpp"
#include "nn/core/threads.hpp"
#include "nn/layers/layer.hpp"
