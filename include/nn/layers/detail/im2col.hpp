#pragma once
/// im2col and col2im: the patch matrices that turn a 2-D convolution into one matrix product.

#include <algorithm>

#include "nn/core/shape.hpp"
#include "nn/layers/layer.hpp"

namespace nn::detail {

/// Geometry of a 2-D convolution over one [H, W, C] image with a [KH, KW, C, C_out] kernel.
///
/// Output extents follow TensorFlow: 'valid' gives floor((in - k) / stride) + 1; 'same' gives
/// ceil(in / stride) and pads pad_total = max((out - 1) * stride + k - in, 0) zeros, of which
/// pad_total / 2 go before the image (top, left) and the rest after it (bottom, right).
struct ConvGeometry {
  Index in_height = 0, in_width = 0, channels = 0;
  Index kernel_height = 0, kernel_width = 0;
  Index stride = 1;
  Index pad_top = 0, pad_left = 0;
  Index out_height = 0, out_width = 0;

  /// Columns of the patch matrix: KH * KW * C, the rows of the reshaped kernel.
  Index patch_size() const { return kernel_height * kernel_width * channels; }
  /// Rows of the patch matrix: one per output pixel.
  Index patch_count() const { return out_height * out_width; }
};

/// Computes the output extent and the padding before the input along one axis.
inline void conv_extent(Index in, Index kernel, Index stride, Padding padding, Index& out,
                        Index& pad_before) {
  if (padding == Padding::Same) {
    out = (in + stride - 1) / stride;
    const Index pad_total = std::max<Index>((out - 1) * stride + kernel - in, 0);
    pad_before = pad_total / 2;
  } else {
    out = in >= kernel ? (in - kernel) / stride + 1 : 0;
    pad_before = 0;
  }
}

/// Computes the geometry for an input [H, W, C], a square kernel and equal strides.
inline ConvGeometry make_conv_geometry(Index height, Index width, Index channels, Index kernel,
                                       Index stride, Padding padding) {
  ConvGeometry g;
  g.in_height = height;
  g.in_width = width;
  g.channels = channels;
  g.kernel_height = kernel;
  g.kernel_width = kernel;
  g.stride = stride;
  conv_extent(height, kernel, stride, padding, g.out_height, g.pad_top);
  conv_extent(width, kernel, stride, padding, g.out_width, g.pad_left);
  return g;
}

/// Writes the patch matrix [OH*OW, KH*KW*C] of one image [H, W, C], zeros where padded.
///
/// Row p = oh * OW + ow contains the window under output pixel (oh, ow) in the order (kh, kw, c),
/// which is the row order of the kernel [KH, KW, C, C_out] read as a [KH*KW*C, C_out] matrix.
template <typename Scalar>
void im2col(const Scalar* image, const ConvGeometry& g, Scalar* columns) {
  const Index c = g.channels;
  const Index row_length = g.patch_size();
  for (Index oh = 0; oh < g.out_height; ++oh) {
    for (Index ow = 0; ow < g.out_width; ++ow) {
      Scalar* row = columns + (oh * g.out_width + ow) * row_length;
      const Index iw0 = ow * g.stride - g.pad_left;
      // The kernel columns whose input column lies inside the image form one contiguous run,
      // because neighbouring pixels of an image row are adjacent in NHWC memory.
      const Index kw_begin = std::max<Index>(0, -iw0);
      const Index kw_end = std::min<Index>(g.kernel_width, g.in_width - iw0);
      for (Index kh = 0; kh < g.kernel_height; ++kh) {
        Scalar* dst = row + kh * g.kernel_width * c;
        const Index ih = oh * g.stride - g.pad_top + kh;
        if (ih < 0 || ih >= g.in_height || kw_begin >= kw_end) {
          std::fill(dst, dst + g.kernel_width * c, Scalar(0));
          continue;
        }
        std::fill(dst, dst + kw_begin * c, Scalar(0));
        const Scalar* src = image + (ih * g.in_width + iw0 + kw_begin) * c;
        std::copy(src, src + (kw_end - kw_begin) * c, dst + kw_begin * c);
        std::fill(dst + kw_end * c, dst + g.kernel_width * c, Scalar(0));
      }
    }
  }
}

/// Adds a patch-matrix gradient [OH*OW, KH*KW*C] back onto one image gradient [H, W, C].
///
/// The transpose of im2col: each input pixel receives the sum over every window that
/// contains it, and padded positions are dropped. `image_grad` must be zeroed by the caller.
template <typename Scalar>
void col2im(const Scalar* columns, const ConvGeometry& g, Scalar* image_grad) {
  const Index c = g.channels;
  const Index row_length = g.patch_size();
  for (Index oh = 0; oh < g.out_height; ++oh) {
    for (Index ow = 0; ow < g.out_width; ++ow) {
      const Scalar* row = columns + (oh * g.out_width + ow) * row_length;
      const Index iw0 = ow * g.stride - g.pad_left;
      const Index kw_begin = std::max<Index>(0, -iw0);
      const Index kw_end = std::min<Index>(g.kernel_width, g.in_width - iw0);
      for (Index kh = 0; kh < g.kernel_height; ++kh) {
        const Index ih = oh * g.stride - g.pad_top + kh;
        if (ih < 0 || ih >= g.in_height || kw_begin >= kw_end) continue;
        const Scalar* src = row + (kh * g.kernel_width + kw_begin) * c;
        Scalar* dst = image_grad + (ih * g.in_width + iw0 + kw_begin) * c;
        const Index count = (kw_end - kw_begin) * c;
        for (Index i = 0; i < count; ++i) dst[i] += src[i];
      }
    }
  }
}

}  // namespace nn::detail
