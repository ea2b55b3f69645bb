#pragma once
/// The sampling rule shared by image resizing and the geometric augmentation layers.

namespace nn {

/// How an image is sampled at a non-integer point: from the 4 nearest pixels, weighted by
/// distance (`Bilinear`), or from the nearest one (`Nearest`).
enum class Interpolation { Bilinear, Nearest };

}  // namespace nn
