#pragma once
/// The sampling rule shared by image resizing and the geometric augmentation layers.

namespace nn {

/// The sampling rule of an image at a non-integer point: the 4 nearest pixels weighted by
/// distance (`Bilinear`), or the nearest pixel alone (`Nearest`).
enum class Interpolation { Bilinear, Nearest };

}  // namespace nn
