#pragma once
/// RandomRotation: rotates each training image by a random angle about its centre.

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/layers/detail/affine_sampling.hpp"
#include "nn/layers/layer.hpp"

namespace nn {

/// Rotates each image of a training batch about its centre by an angle drawn uniformly from
/// [lower, upper] * 2 pi, as Keras' `RandomRotation`. A positive angle turns the content
/// counter-clockwise. A single factor f gives the range [-f, f], so RandomRotation(0.1) turns
/// by up to 36 degrees either way.
///
/// Shapes: [N, H, W, C] -> [N, H, W, C], any C; no parameters. Points that the rotation brings
/// in from outside the image are filled as `fill_mode` says (reflect by default), and the input
/// is read with bilinear (default) or nearest interpolation. Mode::Infer returns a copy of the
/// input. Angles are drawn serially from the layer's stream (see reseed()), so a seed gives the
/// same rotations whatever the thread count; the images are then rotated in parallel.
///
/// backward() sends each output gradient back to the input pixels that output pixel read, with
/// the same interpolation weights (the transpose of the resampling). Fill values of
/// `FillMode::Constant` receive no gradient.
template <typename Scalar>
class RandomRotation : public detail::AffineAugmentation<Scalar> {
 public:
  /// Angles in [-factor, factor] * 2 pi; factor must be in [0, 1].
  explicit RandomRotation(double factor, FillMode fill_mode = FillMode::Reflect,
                          Interpolation interpolation = Interpolation::Bilinear,
                          double fill_value = 0.0)
      : RandomRotation(symmetric_range(factor), fill_mode, interpolation, fill_value) {}

  /// Angles in [lower, upper] * 2 pi; -1 <= lower <= upper <= 1.
  RandomRotation(double lower, double upper, FillMode fill_mode = FillMode::Reflect,
                 Interpolation interpolation = Interpolation::Bilinear, double fill_value = 0.0)
      : RandomRotation(FactorRange{lower, upper}, fill_mode, interpolation, fill_value) {}

  /// Angles in [factor.lower, factor.upper] * 2 pi; -1 <= lower <= upper <= 1.
  RandomRotation(FactorRange factor, FillMode fill_mode = FillMode::Reflect,
                 Interpolation interpolation = Interpolation::Bilinear, double fill_value = 0.0)
      : detail::AffineAugmentation<Scalar>(fill_mode, interpolation, fill_value),
        lower_(factor.lower),
        upper_(factor.upper) {
    check_range(factor);
    this->check_fill_value("RandomRotation");
  }

  std::string type() const override { return "RandomRotation"; }

  LayerConfig config() const override {
    LayerConfig config;
    config.set("lower", lower_);
    config.set("upper", upper_);
    this->add_sampling_config(config);
    return config;
  }

  /// Rebuilds a RandomRotation from "lower" and "upper", or from a single "factor", plus the
  /// optional "fill_mode", "interpolation" and "fill_value".
  static std::unique_ptr<Layer<Scalar>> from_config(const LayerConfig& config) {
    const auto sampling = detail::SamplingConfig::read(config, "RandomRotation");
    const FactorRange range = config.contains("factor")
                                  ? symmetric_range(config.number("factor"))
                                  : FactorRange{config.number("lower"), config.number("upper")};
    return std::make_unique<RandomRotation>(range, sampling.fill_mode, sampling.interpolation,
                                            sampling.fill_value);
  }

  /// The lower and upper ends of the angle range, in turns (multiples of 2 pi).
  double lower() const { return lower_; }
  double upper() const { return upper_; }

  /// The angles in radians drawn by the last training forward, one per image.
  const std::vector<double>& last_angles() const { return last_angles_; }

 protected:
  void draw_maps(Index height, Index width, std::vector<detail::AffineMap>& maps) override {
    const double two_pi = 2.0 * 3.14159265358979323846;
    last_angles_.resize(maps.size());
    for (std::size_t n = 0; n < maps.size(); ++n) {
      last_angles_[n] = this->random_.uniform(lower_ * two_pi, upper_ * two_pi);
      maps[n] = detail::rotation_map(last_angles_[n], height, width);
    }
  }

 private:
  static FactorRange symmetric_range(double factor) {
    if (!(factor >= 0.0 && factor <= 1.0)) {
      throw ShapeError("RandomRotation: expected factor in [0, 1], got " +
                       detail::factor_text(factor) +
                       "; a single factor f draws angles from [-f, f] * 2 pi, and a range with a "
                       "negative end is given as (lower, upper)");
    }
    return {-factor, factor};
  }

  static void check_range(const FactorRange& factor) {
    for (double value : {factor.lower, factor.upper}) {
      if (!(value >= -1.0 && value <= 1.0)) {
        throw ShapeError("RandomRotation: expected factor values in [-1, 1] (turns of 2 pi), "
                         "got " + detail::factor_text(value));
      }
    }
    if (factor.lower > factor.upper) {
      throw ShapeError("RandomRotation: expected lower <= upper, got lower = " +
                       detail::factor_text(factor.lower) +
                       ", upper = " + detail::factor_text(factor.upper));
    }
  }

  double lower_;
  double upper_;
  std::vector<double> last_angles_;  // radians, one per image of the last training batch
};

}  // namespace nn
