#pragma once
/// RandomZoom: zooms each training image in or out by a random amount about its centre.

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/layers/detail/affine_sampling.hpp"
#include "nn/layers/layer.hpp"

namespace nn {

/// The scales drawn for one image: the output at distance d from the centre shows the input
/// at distance scale * d, so a scale above 1 zooms out and a scale below 1 zooms in.
struct ZoomScale {
  double height;
  double width;
};

/// Zooms each image of a training batch about its centre, as Keras' `RandomZoom`.
///
/// The vertical scale is 1 + z with z drawn uniformly from the height range: a positive z
/// zooms out and a negative z zooms in, so RandomZoom(0.1) shows between 90% and 110% of the
/// image height. A single factor f gives the range [-f, f]. Without a width factor the same
/// draw scales the width too and the aspect ratio is kept; with one, the width scale is drawn
/// separately from its own range.
///
/// Shapes: [N, H, W, C] -> [N, H, W, C], any C; no parameters. Points from outside the image
/// (when zooming out) are filled as `fill_mode` says (reflect by default), and the input is read
/// with bilinear (default) or nearest interpolation. Mode::Infer returns a copy of the input.
/// Scales are drawn serially from the layer's stream (see reseed()), so a seed gives the same
/// zooms whatever the thread count; the images are then resampled in parallel.
///
/// backward() sends each output gradient back to the input pixels that output pixel read, with
/// the same interpolation weights. Fill values of `FillMode::Constant` receive no gradient.
template <typename Scalar>
class RandomZoom : public detail::AffineAugmentation<Scalar> {
 public:
  /// Height and width zoom from [-height_factor, height_factor]; height_factor >= 0.
  explicit RandomZoom(double height_factor, FillMode fill_mode = FillMode::Reflect,
                      Interpolation interpolation = Interpolation::Bilinear,
                      double fill_value = 0.0)
      : RandomZoom(symmetric_range("height_factor", height_factor), fill_mode, interpolation,
                   fill_value) {}

  /// Height zoom from [-height_factor, height_factor], width zoom drawn separately from
  /// [-width_factor, width_factor]; both factors >= 0.
  RandomZoom(double height_factor, double width_factor, FillMode fill_mode = FillMode::Reflect,
             Interpolation interpolation = Interpolation::Bilinear, double fill_value = 0.0)
      : RandomZoom(symmetric_range("height_factor", height_factor),
                   symmetric_range("width_factor", width_factor), fill_mode, interpolation,
                   fill_value) {}

  /// Height and width zoom from [height.lower, height.upper]; -1 <= lower <= upper.
  explicit RandomZoom(FactorRange height, FillMode fill_mode = FillMode::Reflect,
                      Interpolation interpolation = Interpolation::Bilinear,
                      double fill_value = 0.0)
      : detail::AffineAugmentation<Scalar>(fill_mode, interpolation, fill_value),
        height_(height),
        width_(height),
        separate_width_(false) {
    check_range("height_factor", height);
    this->check_fill_value("RandomZoom");
  }

  /// Height zoom from `height` and width zoom drawn separately from `width`; in each range
  /// -1 <= lower <= upper.
  RandomZoom(FactorRange height, FactorRange width, FillMode fill_mode = FillMode::Reflect,
             Interpolation interpolation = Interpolation::Bilinear, double fill_value = 0.0)
      : detail::AffineAugmentation<Scalar>(fill_mode, interpolation, fill_value),
        height_(height),
        width_(width),
        separate_width_(true) {
    check_range("height_factor", height);
    check_range("width_factor", width);
    this->check_fill_value("RandomZoom");
  }

  std::string type() const override { return "RandomZoom"; }

  /// "width_lower" and "width_upper" appear only when the width is drawn separately.
  LayerConfig config() const override {
    LayerConfig config;
    config.set("height_lower", height_.lower);
    config.set("height_upper", height_.upper);
    if (separate_width_) {
      config.set("width_lower", width_.lower);
      config.set("width_upper", width_.upper);
    }
    this->add_sampling_config(config);
    return config;
  }

  /// Rebuilds a RandomZoom from "height_lower" and "height_upper" (or a single "height_factor"),
  /// the optional "width_lower" and "width_upper" (or "width_factor"), and the optional
  /// "fill_mode", "interpolation" and "fill_value".
  static std::unique_ptr<Layer<Scalar>> from_config(const LayerConfig& config) {
    const auto sampling = detail::SamplingConfig::read(config, "RandomZoom");
    const FactorRange height = read_range(config, "height");
    if (config.contains("width_factor") || config.contains("width_lower")) {
      return std::make_unique<RandomZoom>(height, read_range(config, "width"),
                                          sampling.fill_mode, sampling.interpolation,
                                          sampling.fill_value);
    }
    return std::make_unique<RandomZoom>(height, sampling.fill_mode, sampling.interpolation,
                                        sampling.fill_value);
  }

  FactorRange height_factor() const { return height_; }
  /// The width range; equal to the height range when the width uses the height's draw.
  FactorRange width_factor() const { return width_; }
  bool has_separate_width() const { return separate_width_; }

  /// The scales drawn by the last training forward, one per image.
  const std::vector<ZoomScale>& last_zooms() const { return last_zooms_; }

 protected:
  void draw_maps(Index height, Index width, std::vector<detail::AffineMap>& maps) override {
    last_zooms_.resize(maps.size());
    for (std::size_t n = 0; n < maps.size(); ++n) {
      ZoomScale& zoom = last_zooms_[n];
      zoom.height = 1.0 + this->random_.uniform(height_.lower, height_.upper);
      zoom.width = separate_width_ ? 1.0 + this->random_.uniform(width_.lower, width_.upper)
                                   : zoom.height;
      maps[n] = detail::zoom_map(zoom.height, zoom.width, height, width);
    }
  }

 private:
  static FactorRange symmetric_range(const std::string& what, double factor) {
    if (!(factor >= 0.0) || !std::isfinite(factor)) {
      throw ShapeError("RandomZoom: expected " + what + " >= 0, got " +
                       detail::factor_text(factor) + "; a single factor f draws zooms from "
                       "[-f, f], and a range with a negative end is given as (lower, upper)");
    }
    return {-factor, factor};
  }

  static void check_range(const std::string& what, const FactorRange& factor) {
    for (double value : {factor.lower, factor.upper}) {
      if (!(value >= -1.0) || !std::isfinite(value)) {
        throw ShapeError("RandomZoom: expected finite " + what + " values >= -1, got " +
                         detail::factor_text(value) + "; the zoom scale is 1 + value and "
                         "must not be negative");
      }
    }
    if (factor.lower > factor.upper) {
      throw ShapeError("RandomZoom: expected " + what + " lower <= upper, got lower = " +
                       detail::factor_text(factor.lower) + ", upper = " +
                       detail::factor_text(factor.upper));
    }
  }

  /// Reads "<axis>_lower" and "<axis>_upper", or "<axis>_factor" as a symmetric range.
  static FactorRange read_range(const LayerConfig& config, const std::string& axis) {
    if (config.contains(axis + "_factor")) {
      return symmetric_range(axis + "_factor", config.number(axis + "_factor"));
    }
    return {config.number(axis + "_lower"), config.number(axis + "_upper")};
  }

  FactorRange height_;
  FactorRange width_;
  bool separate_width_;
  std::vector<ZoomScale> last_zooms_;  // one per image of the last training batch
};

}  // namespace nn
