#pragma once
/// Direct 2-D convolution kernels on NHWC data with [KH, KW, C_in, C_out] kernels.
///
/// These compute a convolution without an im2col buffer: a register tile of R adjacent output
/// pixels times NV packets of output channels is accumulated over the taps of the kernel, one
/// broadcast input value times one packet of kernel row per multiply-add. Kernel rows
/// [kh, kw, ci, :] are contiguous in the [KH, KW, C_in, C_out] layout, and so are the input
/// channels of a pixel in NHWC, so the loads are unit-stride and the tile stays in registers.
/// The same tile serves the first convolution of a network (C_in = 3, where an im2col matrix
/// would have 27 columns and a general matrix product runs far below peak) and the deeper ones.
///
/// Shape letters: N batch, H/W input height and width, C input channels, OH/OW output height
/// and width, F output channels (filters), KH/KW kernel extent, s stride, pt/pl top/left
/// padding. Forward, with x outside the image read as zero:
///   y[n, oh, ow, f] = act(b[f] + sum_{kh, kw, c} x[n, oh*s + kh - pt, ow*s + kw - pl, c]
///                                                * w[kh, kw, c, f])
/// Gradients, given g = dL/dy after the activation's derivative:
///   dw[kh, kw, c, f] = sum_{n, oh, ow} x[n, oh*s + kh - pt, ow*s + kw - pl, c] * g[n, oh, ow, f]
///   db[f]            = sum_{n, oh, ow} g[n, oh, ow, f]
///   dx[n, i, j, c]   = sum_{kh, kw, f} g[n, (i + pt - kh)/s, (j + pl - kw)/s, f] * w[kh, kw, c, f]
/// For s = 1 the input gradient is itself a forward convolution of g with the kernel rotated by
/// 180 degrees and its channel axes swapped, padded by KH - 1 - pt and KW - 1 - pl.
///
/// Every output element is computed by one thread in a fixed order, and the weight gradient is
/// summed per image and then over images in image order, so results do not depend on the number
/// of threads.

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "nn/core/shape.hpp"
#include "nn/kernels/packet.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace nn::detail::kernels {

/// Extents of one convolution; see the shape letters in this header's comment.
struct ConvGeometry {
  Index batch = 0, in_h = 0, in_w = 0, in_c = 0;
  Index out_h = 0, out_w = 0, out_c = 0;
  Index kernel_h = 0, kernel_w = 0;
  Index stride = 1, pad_top = 0, pad_left = 0;

  /// The geometry of the stride-1 input gradient seen as a forward convolution of dy.
  ConvGeometry transposed() const {
    ConvGeometry t = *this;
    t.in_h = out_h, t.in_w = out_w, t.in_c = out_c;
    t.out_h = in_h, t.out_w = in_w, t.out_c = in_c;
    t.pad_top = kernel_h - 1 - pad_top;
    t.pad_left = kernel_w - 1 - pad_left;
    return t;
  }
};

/// Multiply-adds of the forward pass; each gradient costs the same.
inline Index conv_work(const ConvGeometry& g) {
  return g.batch * g.out_h * g.out_w * g.out_c * g.kernel_h * g.kernel_w * g.in_c;
}

inline Index ceil_div(Index a, Index b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
inline Index floor_div(Index a, Index b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/// Output columns [begin, end) whose whole kernel window lies inside the input row.
inline void interior_columns(const ConvGeometry& g, Index& begin, Index& end) {
  begin = std::min(g.out_w, ceil_div(g.pad_left, g.stride));
  end = floor_div(g.in_w - g.kernel_w + g.pad_left, g.stride) + 1;
  end = std::max(begin, std::min(g.out_w, end));
}

// ---------------------------------------------------------------------------------------------
// Forward

/// Pixels per register tile for NV packets of output channels: the accumulators, NV kernel
/// packets and one broadcast register must fit the vector register file.
template <int NV>
constexpr int forward_tile_pixels() {
  constexpr int fit = (vector_registers - NV - 2) / NV;
  return fit > 24 ? 24 : (fit < 1 ? 1 : fit);
}

/// Computes R adjacent output pixels times NV packets of output channels.
///
/// x0 is the offset in x_img of tap (0, 0), channel 0, of the first pixel; only the taps in
/// [kh_lo, kh_hi) x [kw_lo, kw_hi) are read, so x0 itself may lie outside the image.
template <typename Scalar, int R, int NV>
inline void conv_forward_tile(const ConvGeometry& g, const Scalar* x_img, Index x0, Index kh_lo,
                              Index kh_hi, Index kw_lo, Index kw_hi, const Scalar* w,
                              const Scalar* bias, bool relu, Scalar* y) {
  using P = Packet<Scalar>;
  constexpr int S = packet_size<Scalar>;
  const Index row_step = g.in_w * g.in_c;
  const Index pixel_step = g.stride * g.in_c;
  const Index cin = g.in_c, cout = g.out_c;

  P acc[R][NV];
  NN_UNROLL
  for (int v = 0; v < NV; ++v) {
    const P b = bias ? load(bias + v * S) : broadcast<Scalar>(0);
    NN_UNROLL
    for (int r = 0; r < R; ++r) acc[r][v] = b;
  }
  for (Index kh = kh_lo; kh < kh_hi; ++kh) {
    for (Index kw = kw_lo; kw < kw_hi; ++kw) {
      const Scalar* xp = x_img + x0 + kh * row_step + kw * cin;
      const Scalar* wp = w + (kh * g.kernel_w + kw) * cin * cout;
      for (Index c = 0; c < cin; ++c, wp += cout) {
        P wv[NV];
        NN_UNROLL
        for (int v = 0; v < NV; ++v) wv[v] = load(wp + v * S);
        NN_UNROLL
        for (int r = 0; r < R; ++r) {
          const P xs = broadcast(xp[r * pixel_step + c]);
          NN_UNROLL
          for (int v = 0; v < NV; ++v) acc[r][v] = madd(xs, wv[v], acc[r][v]);
        }
      }
    }
  }
  const P zero = broadcast<Scalar>(0);
  NN_UNROLL
  for (int r = 0; r < R; ++r) {
    NN_UNROLL
    for (int v = 0; v < NV; ++v) {
      store(y + r * cout + v * S, relu ? max(acc[r][v], zero) : acc[r][v]);
    }
  }
}

/// Output channels [f_begin, out_c) of one pixel, one scalar at a time: the channels left over
/// after whole packets.
template <typename Scalar>
inline void conv_forward_pixel_scalar(const ConvGeometry& g, const Scalar* x_img, Index x0,
                                      Index kh_lo, Index kh_hi, Index kw_lo, Index kw_hi,
                                      const Scalar* w, const Scalar* bias, bool relu,
                                      Index f_begin, Scalar* y) {
  const Index row_step = g.in_w * g.in_c;
  for (Index f = f_begin; f < g.out_c; ++f) {
    Scalar sum = bias ? bias[f] : Scalar(0);
    for (Index kh = kh_lo; kh < kh_hi; ++kh) {
      for (Index kw = kw_lo; kw < kw_hi; ++kw) {
        const Scalar* xp = x_img + x0 + kh * row_step + kw * g.in_c;
        const Scalar* wp = w + (kh * g.kernel_w + kw) * g.in_c * g.out_c + f;
        for (Index c = 0; c < g.in_c; ++c) sum += xp[c] * wp[c * g.out_c];
      }
    }
    y[f] = relu && sum < Scalar(0) ? Scalar(0) : sum;
  }
}

/// One output row, channels [f0, f0 + NV * packet): interior pixels in tiles, border pixels
/// one at a time with the taps that fall inside the input.
template <typename Scalar, int NV>
inline void conv_forward_row(const ConvGeometry& g, const Scalar* x_img, Index oh, Index f0,
                             const Scalar* w, const Scalar* bias, bool relu, Scalar* y_row) {
  constexpr int R = forward_tile_pixels<NV>();
  const Index ih0 = oh * g.stride - g.pad_top;
  const Index kh_lo = std::max<Index>(0, -ih0);
  const Index kh_hi = std::min(g.kernel_h, g.in_h - ih0);
  const Index row_x0 = ih0 * g.in_w * g.in_c;
  const Scalar* wf = w + f0;
  const Scalar* bf = bias ? bias + f0 : nullptr;
  Index begin, end;
  interior_columns(g, begin, end);

  auto x0_of = [&](Index ow) { return row_x0 + (ow * g.stride - g.pad_left) * g.in_c; };
  auto border = [&](Index ow) {
    const Index iw0 = ow * g.stride - g.pad_left;
    const Index kw_lo = std::max<Index>(0, -iw0);
    const Index kw_hi = std::min(g.kernel_w, g.in_w - iw0);
    conv_forward_tile<Scalar, 1, NV>(g, x_img, x0_of(ow), kh_lo, kh_hi, kw_lo, kw_hi, wf, bf,
                                     relu, y_row + ow * g.out_c + f0);
  };

  for (Index ow = 0; ow < begin; ++ow) border(ow);
  Index ow = begin;
  for (; ow + R <= end; ow += R) {
    conv_forward_tile<Scalar, R, NV>(g, x_img, x0_of(ow), kh_lo, kh_hi, 0, g.kernel_w, wf, bf,
                                     relu, y_row + ow * g.out_c + f0);
  }
  if constexpr (R > 4) {
    for (; ow + 4 <= end; ow += 4) {
      conv_forward_tile<Scalar, 4, NV>(g, x_img, x0_of(ow), kh_lo, kh_hi, 0, g.kernel_w, wf, bf,
                                       relu, y_row + ow * g.out_c + f0);
    }
  }
  for (; ow < end; ++ow) {
    conv_forward_tile<Scalar, 1, NV>(g, x_img, x0_of(ow), kh_lo, kh_hi, 0, g.kernel_w, wf, bf,
                                     relu, y_row + ow * g.out_c + f0);
  }
  for (ow = end; ow < g.out_w; ++ow) border(ow);
}

/// Computes output row oh of image n of y = act(conv(x, w) + b) into y_row [OW, F], on the
/// calling thread.
template <typename Scalar>
void conv2d_forward_row_to(const ConvGeometry& g, const Scalar* x, const Scalar* w,
                           const Scalar* bias, bool relu, Index n, Index oh, Scalar* y_row) {
  constexpr Index S = packet_size<Scalar>;
  const Scalar* x_img = x + n * g.in_h * g.in_w * g.in_c;
  Index f0 = 0;
  while (g.out_c - f0 >= S) {
    const Index packets = std::min<Index>(4, (g.out_c - f0) / S);
    switch (packets) {
      case 4: conv_forward_row<Scalar, 4>(g, x_img, oh, f0, w, bias, relu, y_row); break;
      case 3: conv_forward_row<Scalar, 3>(g, x_img, oh, f0, w, bias, relu, y_row); break;
      case 2: conv_forward_row<Scalar, 2>(g, x_img, oh, f0, w, bias, relu, y_row); break;
      default: conv_forward_row<Scalar, 1>(g, x_img, oh, f0, w, bias, relu, y_row); break;
    }
    f0 += packets * S;
  }
  if (f0 < g.out_c) {
    const Index ih0 = oh * g.stride - g.pad_top;
    const Index kh_lo = std::max<Index>(0, -ih0);
    const Index kh_hi = std::min(g.kernel_h, g.in_h - ih0);
    for (Index ow = 0; ow < g.out_w; ++ow) {
      const Index iw0 = ow * g.stride - g.pad_left;
      const Index kw_lo = std::max<Index>(0, -iw0);
      const Index kw_hi = std::min(g.kernel_w, g.in_w - iw0);
      conv_forward_pixel_scalar(g, x_img, (ih0 * g.in_w + iw0) * g.in_c, kh_lo, kh_hi, kw_lo,
                                kw_hi, w, bias, relu, f0, y_row + ow * g.out_c);
    }
  }
}

/// Computes output row `row` (= n * OH + oh) of y = act(conv(x, w) + b) on the calling thread.
template <typename Scalar>
void conv2d_forward_row(const ConvGeometry& g, const Scalar* x, const Scalar* w,
                        const Scalar* bias, bool relu, Index row, Scalar* y) {
  conv2d_forward_row_to(g, x, w, bias, relu, row / g.out_h, row % g.out_h,
                        y + row * g.out_w * g.out_c);
}

/// y = act(conv(x, w) + b) for any stride and padding; bias may be null.
/// x is [N, H, W, C], w is [KH, KW, C, F], y is [N, OH, OW, F] and is overwritten.
template <typename Scalar>
void conv2d_forward(const ConvGeometry& g, const Scalar* x, const Scalar* w, const Scalar* bias,
                    bool relu, Scalar* y) {
  const Index rows = g.batch * g.out_h;
  const bool parallel = rows > 1 && conv_work(g) >= min_parallel_work;
  parallel_for(rows, parallel,
               [&](Index row) { conv2d_forward_row(g, x, w, bias, relu, row, y); });
}

// ---------------------------------------------------------------------------------------------
// Input gradient

/// Rotates a [KH, KW, C, F] kernel by 180 degrees and swaps its channel axes: the result
/// [KH, KW, F, C] turns the stride-1 input gradient into a forward convolution.
template <typename Scalar>
void rotate_kernel(const ConvGeometry& g, const Scalar* w, Scalar* rotated) {
  const Index kh_n = g.kernel_h, kw_n = g.kernel_w, cin = g.in_c, cout = g.out_c;
  for (Index kh = 0; kh < kh_n; ++kh) {
    for (Index kw = 0; kw < kw_n; ++kw) {
      const Scalar* src = w + (kh * kw_n + kw) * cin * cout;
      Scalar* dst = rotated + ((kh_n - 1 - kh) * kw_n + (kw_n - 1 - kw)) * cout * cin;
      for (Index c = 0; c < cin; ++c) {
        for (Index f = 0; f < cout; ++f) dst[f * cin + c] = src[c * cout + f];
      }
    }
  }
}

/// Stride-1 input gradient of one image for C input channels, C below a packet (the first
/// layer's 3 colours), and at least one packet of filters. The rotated form would give output
/// tiles of only C channels, far below a packet, so here each dx[i, j, c] is a dot product over
/// taps and filters, vectorised across filters and summed horizontally once per pixel.
template <typename Scalar, int C>
void input_grad_image_few_channels(const ConvGeometry& g, const Scalar* gy, const Scalar* w,
                                   Scalar* dx) {
  using P = Packet<Scalar>;
  constexpr Index S = packet_size<Scalar>;
  const Index full = (g.out_c / S) * S;
  for (Index i = 0; i < g.in_h; ++i) {
    for (Index j = 0; j < g.in_w; ++j) {
      P acc[C];
      Scalar tail[C] = {};
      NN_UNROLL
      for (int c = 0; c < C; ++c) acc[c] = broadcast<Scalar>(0);
      for (Index kh = 0; kh < g.kernel_h; ++kh) {
        const Index oh = i + g.pad_top - kh;
        if (oh < 0 || oh >= g.out_h) continue;
        for (Index kw = 0; kw < g.kernel_w; ++kw) {
          const Index ow = j + g.pad_left - kw;
          if (ow < 0 || ow >= g.out_w) continue;
          const Scalar* gp = gy + (oh * g.out_w + ow) * g.out_c;
          const Scalar* wp = w + (kh * g.kernel_w + kw) * C * g.out_c;
          for (Index f = 0; f < full; f += S) {
            const P gv = load(gp + f);
            NN_UNROLL
            for (int c = 0; c < C; ++c) acc[c] = madd(gv, load(wp + c * g.out_c + f), acc[c]);
          }
          for (Index f = full; f < g.out_c; ++f) {
            NN_UNROLL
            for (int c = 0; c < C; ++c) tail[c] += gp[f] * wp[c * g.out_c + f];
          }
        }
      }
      Scalar* out = dx + (i * g.in_w + j) * C;
      NN_UNROLL
      for (int c = 0; c < C; ++c) out[c] = Eigen::internal::predux(acc[c]) + tail[c];
    }
  }
}

/// Strided input gradient of one image: gathers, for each input pixel, the output pixels whose
/// window covers it.
template <typename Scalar>
void input_grad_image_strided(const ConvGeometry& g, const Scalar* gy, const Scalar* w,
                              Scalar* dx) {
  for (Index i = 0; i < g.in_h; ++i) {
    for (Index j = 0; j < g.in_w; ++j) {
      Scalar* out = dx + (i * g.in_w + j) * g.in_c;
      std::fill(out, out + g.in_c, Scalar(0));
      for (Index kh = 0; kh < g.kernel_h; ++kh) {
        const Index th = i + g.pad_top - kh;
        if (th < 0 || th % g.stride != 0 || th / g.stride >= g.out_h) continue;
        for (Index kw = 0; kw < g.kernel_w; ++kw) {
          const Index tw = j + g.pad_left - kw;
          if (tw < 0 || tw % g.stride != 0 || tw / g.stride >= g.out_w) continue;
          const Scalar* gp = gy + ((th / g.stride) * g.out_w + tw / g.stride) * g.out_c;
          const Scalar* wp = w + (kh * g.kernel_w + kw) * g.in_c * g.out_c;
          for (Index c = 0; c < g.in_c; ++c) {
            Scalar sum = 0;
            for (Index f = 0; f < g.out_c; ++f) sum += gp[f] * wp[c * g.out_c + f];
            out[c] += sum;
          }
        }
      }
    }
  }
}

/// Overwrites dx [H, W, C] of one image with its input gradient from gy = dL/dy [OH, OW, F]
/// (activation derivative applied). rotated is the output of rotate_kernel.
template <typename Scalar>
void conv2d_input_grad_image(const ConvGeometry& g, const Scalar* gy, const Scalar* w,
                             const Scalar* rotated, Scalar* dx) {
  if (g.stride != 1) {
    input_grad_image_strided(g, gy, w, dx);
    return;
  }
  if (g.in_c <= 4 && g.in_c < packet_size<Scalar> && g.out_c >= packet_size<Scalar>) {
    switch (g.in_c) {
      case 1: input_grad_image_few_channels<Scalar, 1>(g, gy, w, dx); return;
      case 2: input_grad_image_few_channels<Scalar, 2>(g, gy, w, dx); return;
      case 3: input_grad_image_few_channels<Scalar, 3>(g, gy, w, dx); return;
      default: input_grad_image_few_channels<Scalar, 4>(g, gy, w, dx); return;
    }
  }
  ConvGeometry t = g.transposed();
  t.batch = 1;
  for (Index row = 0; row < t.out_h; ++row) {
    conv2d_forward_row(t, gy, rotated, static_cast<const Scalar*>(nullptr), false, row, dx);
  }
}

// ---------------------------------------------------------------------------------------------
// Weight gradient

/// Rows of the weight gradient per register tile for NV packets of output channels. For a
/// fixed kh the rows (kw, c) read consecutive input values, so a tile covers RB of them.
template <int NV>
constexpr int weight_tile_rows() {
  constexpr int fit = (vector_registers - NV - 2) / NV;
  return fit > 24 ? 24 : (fit < 1 ? 1 : fit);
}

/// Adds to RB consecutive rows (kh fixed, (kw, c) in [j0, j0 + RB)) of the gradient, channels
/// [f0, f0 + NV * packet), the products over `count` pixels of one output row.
/// xp points at the input value of row j0 for the first pixel, gy at its gradient packet.
template <typename Scalar, int RB, int NV>
inline void conv_weight_tile(const Scalar* xp, Index pixel_step, const Scalar* gy, Index gy_step,
                             Index count, Scalar* dw, Index dw_step) {
  using P = Packet<Scalar>;
  constexpr int S = packet_size<Scalar>;
  P acc[RB][NV];
  NN_UNROLL
  for (int j = 0; j < RB; ++j) {
    NN_UNROLL
    for (int v = 0; v < NV; ++v) acc[j][v] = load(dw + j * dw_step + v * S);
  }
  for (Index p = 0; p < count; ++p, xp += pixel_step, gy += gy_step) {
    P d[NV];
    NN_UNROLL
    for (int v = 0; v < NV; ++v) d[v] = load(gy + v * S);
    NN_UNROLL
    for (int j = 0; j < RB; ++j) {
      const P xs = broadcast(xp[j]);
      NN_UNROLL
      for (int v = 0; v < NV; ++v) acc[j][v] = madd(xs, d[v], acc[j][v]);
    }
  }
  NN_UNROLL
  for (int j = 0; j < RB; ++j) {
    NN_UNROLL
    for (int v = 0; v < NV; ++v) store(dw + j * dw_step + v * S, acc[j][v]);
  }
}

/// Adds to the G * PER gradient rows of G consecutive kernel rows kh (PER = KW * C rows each),
/// channels [f0, f0 + NV * packet), the products over `count` pixels of one output row. For
/// few input channels (PER = 9 for a 3x3 kernel on RGB) one tile then covers several kh, so
/// each gradient packet loaded feeds G * PER multiply-adds instead of a handful.
template <typename Scalar, int G, int PER, int NV>
inline void conv_weight_tile_rows(const Scalar* xp, Index row_step, Index pixel_step,
                                  const Scalar* gy, Index gy_step, Index count, Scalar* dw,
                                  Index dw_step) {
  using P = Packet<Scalar>;
  constexpr int S = packet_size<Scalar>;
  P acc[G][PER][NV];
  NN_UNROLL
  for (int k = 0; k < G; ++k) {
    NN_UNROLL
    for (int j = 0; j < PER; ++j) {
      NN_UNROLL
      for (int v = 0; v < NV; ++v) acc[k][j][v] = load(dw + (k * PER + j) * dw_step + v * S);
    }
  }
  for (Index p = 0; p < count; ++p, xp += pixel_step, gy += gy_step) {
    P d[NV];
    NN_UNROLL
    for (int v = 0; v < NV; ++v) d[v] = load(gy + v * S);
    NN_UNROLL
    for (int k = 0; k < G; ++k) {
      NN_UNROLL
      for (int j = 0; j < PER; ++j) {
        const P xs = broadcast(xp[k * row_step + j]);
        NN_UNROLL
        for (int v = 0; v < NV; ++v) acc[k][j][v] = madd(xs, d[v], acc[k][j][v]);
      }
    }
  }
  NN_UNROLL
  for (int k = 0; k < G; ++k) {
    NN_UNROLL
    for (int j = 0; j < PER; ++j) {
      NN_UNROLL
      for (int v = 0; v < NV; ++v) store(dw + (k * PER + j) * dw_step + v * S, acc[k][j][v]);
    }
  }
}

/// Interior pixels [begin, end) of one output row, channels [f0, f0 + NV * packet).
template <typename Scalar, int NV>
inline void conv_weight_row(const ConvGeometry& g, const Scalar* x_img, Index ih0, Index kh_lo,
                            Index kh_hi, Index begin, Index end, const Scalar* gy_row, Index f0,
                            Scalar* dw) {
  constexpr int RB = weight_tile_rows<NV>();
  const Index rows_per_kh = g.kernel_w * g.in_c;
  const Index pixel_step = g.stride * g.in_c;
  const Index count = end - begin;
  if (count <= 0) return;
  const Scalar* gy = gy_row + begin * g.out_c + f0;
  const Index row_step = g.in_w * g.in_c;
  auto x_at = [&](Index kh) {
    return x_img + ((ih0 + kh) * g.in_w + begin * g.stride - g.pad_left) * g.in_c;
  };

  // A 3x3 kernel on 3 channels has 9 rows per kh: cover up to 3 kh per tile.
  if constexpr (NV == 1 && vector_registers >= 32) {
    if (rows_per_kh == 9) {
      Index kh = kh_lo;
      for (; kh + 3 <= kh_hi; kh += 3) {
        conv_weight_tile_rows<Scalar, 3, 9, 1>(x_at(kh), row_step, pixel_step, gy, g.out_c, count,
                                               dw + kh * 9 * g.out_c + f0, g.out_c);
      }
      for (; kh < kh_hi; ++kh) {
        conv_weight_tile_rows<Scalar, 1, 9, 1>(x_at(kh), row_step, pixel_step, gy, g.out_c, count,
                                               dw + kh * 9 * g.out_c + f0, g.out_c);
      }
      return;
    }
  }

  for (Index kh = kh_lo; kh < kh_hi; ++kh) {
    const Scalar* xp = x_at(kh);
    Scalar* dwk = dw + kh * rows_per_kh * g.out_c + f0;
    Index j = 0;
    for (; j + RB <= rows_per_kh; j += RB) {
      conv_weight_tile<Scalar, RB, NV>(xp + j, pixel_step, gy, g.out_c, count, dwk + j * g.out_c,
                                       g.out_c);
    }
    if constexpr (RB > 4) {
      for (; j + 4 <= rows_per_kh; j += 4) {
        conv_weight_tile<Scalar, 4, NV>(xp + j, pixel_step, gy, g.out_c, count,
                                        dwk + j * g.out_c, g.out_c);
      }
    }
    for (; j < rows_per_kh; ++j) {
      conv_weight_tile<Scalar, 1, NV>(xp + j, pixel_step, gy, g.out_c, count, dwk + j * g.out_c,
                                      g.out_c);
    }
  }
}

/// Adds the weight gradient of one image to dw [KH, KW, C, F] and its bias gradient to db [F].
/// x is the image [H, W, C] and gy its gradient [OH, OW, F], activation derivative applied.
template <typename Scalar>
void conv2d_weight_grad_image(const ConvGeometry& g, const Scalar* x, const Scalar* gy,
                              Scalar* dw, Scalar* db) {
  constexpr Index S = packet_size<Scalar>;
  const Index full = (g.out_c / S) * S;
  Index begin, end;
  interior_columns(g, begin, end);
  for (Index oh = 0; oh < g.out_h; ++oh) {
    const Scalar* gy_row = gy + oh * g.out_w * g.out_c;
    for (Index f = 0; f < full; f += S) {
      Packet<Scalar> sum = load(db + f);
      for (Index ow = 0; ow < g.out_w; ++ow) sum = add(sum, load(gy_row + ow * g.out_c + f));
      store(db + f, sum);
    }
    for (Index f = full; f < g.out_c; ++f) {
      Scalar sum = db[f];
      for (Index ow = 0; ow < g.out_w; ++ow) sum += gy_row[ow * g.out_c + f];
      db[f] = sum;
    }
    const Index ih0 = oh * g.stride - g.pad_top;
    const Index kh_lo = std::max<Index>(0, -ih0);
    const Index kh_hi = std::min(g.kernel_h, g.in_h - ih0);

    // Interior pixels, whole packets of channels.
    Index f0 = 0;
    while (full - f0 > 0) {
      const Index packets = std::min<Index>(4, (full - f0) / S);
      auto row = [&](auto packets_constant) {
        constexpr int NV = decltype(packets_constant)::value;
        conv_weight_row<Scalar, NV>(g, x, ih0, kh_lo, kh_hi, begin, end, gy_row, f0, dw);
      };
      switch (packets) {
        case 4: row(std::integral_constant<int, 4>()); break;
        case 3: row(std::integral_constant<int, 3>()); break;
        case 2: row(std::integral_constant<int, 2>()); break;
        default: row(std::integral_constant<int, 1>()); break;
      }
      f0 += packets * S;
    }

    // Border pixels with every channel, and interior pixels with the leftover channels.
    for (Index ow = 0; ow < g.out_w; ++ow) {
      const bool inside = ow >= begin && ow < end;
      const Index f_begin = inside ? full : 0;
      if (f_begin == g.out_c) continue;
      const Index iw0 = ow * g.stride - g.pad_left;
      const Index kw_lo = std::max<Index>(0, -iw0);
      const Index kw_hi = std::min(g.kernel_w, g.in_w - iw0);
      const Scalar* d = gy_row + ow * g.out_c;
      for (Index kh = kh_lo; kh < kh_hi; ++kh) {
        for (Index kw = kw_lo; kw < kw_hi; ++kw) {
          const Scalar* xp = x + ((ih0 + kh) * g.in_w + iw0 + kw) * g.in_c;
          Scalar* dwp = dw + (kh * g.kernel_w + kw) * g.in_c * g.out_c;
          for (Index c = 0; c < g.in_c; ++c) {
            Scalar* r = dwp + c * g.out_c;
            Index f = f_begin;
            if (f == 0) {
              const Packet<Scalar> xs = broadcast(xp[c]);
              for (; f < full; f += S) store(r + f, madd(xs, load(d + f), load(r + f)));
            }
            for (; f < g.out_c; ++f) r[f] += xp[c] * d[f];
          }
        }
      }
    }
  }
}

/// Scratch memory that conv2d_backward needs, in scalars: one kernel and bias gradient per
/// image, and one image of output gradient per thread.
inline Index conv2d_backward_workspace(const ConvGeometry& g, int threads) {
  const Index per_image = g.kernel_h * g.kernel_w * g.in_c * g.out_c + g.out_c;
  return g.batch * per_image + threads * g.out_h * g.out_w * g.out_c;
}

/// The backward pass of a convolution in one sweep over the batch, with the output gradient
/// of image n produced by `gradient_image(n, buffer)`: it returns a pointer to that [OH, OW, F]
/// gradient, activation derivative applied, either into the per-thread image buffer or
/// elsewhere. Each thread takes whole images, so a gradient formed in the buffer stays in cache
/// for both the kernel and the input gradient and never travels to memory.
///
/// Adds the kernel gradient to dw [KH, KW, C, F] and, when db is not null, the bias gradient
/// to db [F]; overwrites dx [N, H, W, C] with the input gradient unless dx is null. rotated is
/// the output of rotate_kernel (unused for strides above 1). workspace holds
/// conv2d_backward_workspace(g, threads) scalars, with threads at least the OpenMP team size.
template <typename Scalar, typename GradientImage>
void conv2d_backward_with(const ConvGeometry& g, const Scalar* x, GradientImage gradient_image,
                          const Scalar* w, const Scalar* rotated, Scalar* dw, Scalar* db,
                          Scalar* dx, Scalar* workspace) {
  const Index kernel_size = g.kernel_h * g.kernel_w * g.in_c * g.out_c;
  const Index per_image = kernel_size + g.out_c;
  const Index in_image = g.in_h * g.in_w * g.in_c;
  const Index out_image = g.out_h * g.out_w * g.out_c;
  Scalar* partials = workspace;
  Scalar* image_buffers = workspace + g.batch * per_image;
  ConvGeometry one = g;
  one.batch = 1;
  const bool parallel = g.batch > 1 && conv_work(g) >= min_parallel_work;

  parallel_for(g.batch, parallel, [&](Index n) {
    int thread = 0;
#ifdef _OPENMP
    thread = omp_get_thread_num();
#endif
    const Scalar* gy_n = gradient_image(n, image_buffers + thread * out_image);
    Scalar* pw = partials + n * per_image;
    std::fill(pw, pw + per_image, Scalar(0));
    conv2d_weight_grad_image(one, x + n * in_image, gy_n, pw, pw + kernel_size);
    if (dx) conv2d_input_grad_image(one, gy_n, w, rotated, dx + n * in_image);
  });

  // Sum the per-image partials in image order.
  parallel_for(per_image, parallel, [&](Index i) {
    Scalar sum = 0;
    for (Index n = 0; n < g.batch; ++n) sum += partials[n * per_image + i];
    if (i < kernel_size) {
      dw[i] += sum;
    } else if (db) {
      db[i - kernel_size] += sum;
    }
  });
}

/// conv2d_backward_with for gy = dL/dy [N, OH, OW, F]. When mask is not null (the output of a
/// fused ReLU), gy is first multiplied by the ReLU derivative (mask > 0), one image at a time
/// in the per-thread buffer.
template <typename Scalar>
void conv2d_backward(const ConvGeometry& g, const Scalar* x, const Scalar* gy, const Scalar* mask,
                     const Scalar* w, const Scalar* rotated, Scalar* dw, Scalar* db, Scalar* dx,
                     Scalar* workspace) {
  const Index out_image = g.out_h * g.out_w * g.out_c;
  auto gradient_image = [&](Index n, Scalar* buffer) -> const Scalar* {
    const Scalar* gy_n = gy + n * out_image;
    if (!mask) return gy_n;
    const Scalar* m = mask + n * out_image;
    for (Index i = 0; i < out_image; ++i) buffer[i] = m[i] > Scalar(0) ? gy_n[i] : Scalar(0);
    return buffer;
  };
  conv2d_backward_with(g, x, gradient_image, w, rotated, dw, db, dx, workspace);
}

/// Overwrites dx with the input gradient alone; see conv2d_backward for the arguments.
template <typename Scalar>
void conv2d_input_grad(const ConvGeometry& g, const Scalar* gy, const Scalar* w,
                       const Scalar* rotated, Scalar* dx) {
  const Index in_image = g.in_h * g.in_w * g.in_c;
  const Index out_image = g.out_h * g.out_w * g.out_c;
  ConvGeometry one = g;
  one.batch = 1;
  const bool parallel = g.batch > 1 && conv_work(g) >= min_parallel_work;
  parallel_for(g.batch, parallel, [&](Index n) {
    conv2d_input_grad_image(one, gy + n * out_image, w, rotated, dx + n * in_image);
  });
}

}  // namespace nn::detail::kernels
