#pragma once
/// A convolution and the max pooling after it, run as one layer pair.
///
/// The convolution's full-resolution output is the largest tensor of a small image network
/// (32 x 180 x 180 x 16 floats, 66 MB, for the first layer of the reference network) and only
/// the pooling ever reads it. Here each thread computes the `pool` output rows of one pooled row
/// into its own buffer and pools them at once, so that tensor is never written to memory; the
/// backward pass rebuilds each image's output gradient in cache from the pooled gradient, the
/// window positions of the maxima and the pooled values (the ReLU derivative at a maximum is
/// pooled > 0). Both passes compute exactly what the two layers compute one after the other.
///
/// Requires windows that tile without overlap (pool stride = pool size).

#include <algorithm>
#include <cstdint>

#include "nn/kernels/conv2d_direct.hpp"
#include "nn/kernels/max_pool.hpp"

namespace nn::detail::kernels {

/// Scratch memory of conv2d_pool_forward, in scalars: `pool` output rows per thread.
inline Index conv2d_pool_forward_workspace(const ConvGeometry& g, const PoolGeometry& p,
                                           int threads) {
  return threads * p.pool * g.out_w * g.out_c;
}

/// pooled = max-pool(act(conv(x, w) + b)); arg, unless null, receives the window position of
/// each maximum. p describes the pooling of the convolution's output (p.in_h = g.out_h, ...).
template <typename Scalar>
void conv2d_pool_forward(const ConvGeometry& g, const PoolGeometry& p, const Scalar* x,
                         const Scalar* w, const Scalar* bias, bool relu, Scalar* pooled,
                         std::uint8_t* arg, Scalar* workspace) {
  const Index rows = g.batch * p.out_h;
  const Index row_size = g.out_w * g.out_c;
  const Index pooled_row = p.out_w * p.channels;
  const bool parallel = rows > 1 && conv_work(g) >= min_parallel_work;
  parallel_for(rows, parallel, [&](Index row) {
    int thread = 0;
#ifdef _OPENMP
    thread = omp_get_thread_num();
#endif
    const Index n = row / p.out_h, ph = row % p.out_h;
    Scalar* buffer = workspace + thread * p.pool * row_size;
    for (Index k = 0; k < p.pool; ++k) {
      conv2d_forward_row_to(g, x, w, bias, relu, n, ph * p.pool + k, buffer + k * row_size);
    }
    for (Index pw = 0; pw < p.out_w; ++pw) {
      const Index out = row * pooled_row + pw * p.channels;
      window_max(p, buffer + pw * p.pool * p.channels, pooled + out, arg ? arg + out : nullptr);
    }
  });
}

/// The output gradient of image n of the convolution, [OH, OW, F], from the pooled gradient
/// dy [N, POH, POW, F]: dy at each window's maximum, zero elsewhere, and with relu also zero
/// where the pooled value is not positive.
template <typename Scalar>
void unpool_gradient_image(const ConvGeometry& g, const PoolGeometry& p, const Scalar* dy,
                           const Scalar* pooled, const std::uint8_t* arg, bool relu, Index n,
                           Scalar* out) {
  const Index c_n = p.channels;
  const Index row_size = g.out_w * c_n;
  for (Index oh = 0; oh < g.out_h; ++oh) {
    Scalar* out_row = out + oh * row_size;
    const Index ph = oh / p.pool;
    if (ph >= p.out_h) {
      std::fill(out_row, out_row + row_size, Scalar(0));
      continue;
    }
    const Index kh = oh % p.pool;
    for (Index pw = 0; pw < p.out_w; ++pw) {
      const Index at = ((n * p.out_h + ph) * p.out_w + pw) * c_n;
      for (Index kw = 0; kw < p.pool; ++kw) {
        const auto index = static_cast<std::uint8_t>(kh * p.pool + kw);
        route_gradient(dy + at, arg + at, index, relu ? pooled + at : nullptr, c_n,
                       out_row + (pw * p.pool + kw) * c_n);
      }
    }
    std::fill(out_row + p.out_w * p.pool * c_n, out_row + row_size, Scalar(0));
  }
}

/// The backward pass of the pair: from dy = dL/dpooled, adds the kernel and bias gradients and
/// overwrites dx (unless null) as conv2d_backward does for the unpooled gradient. workspace
/// must have room for conv2d_backward_workspace(g, threads) scalars.
template <typename Scalar>
void conv2d_pool_backward(const ConvGeometry& g, const PoolGeometry& p, const Scalar* x,
                          const Scalar* dy, const Scalar* pooled, const std::uint8_t* arg,
                          bool relu, const Scalar* w, const Scalar* rotated, Scalar* dw,
                          Scalar* db, Scalar* dx, Scalar* workspace) {
  auto gradient_image = [&](Index n, Scalar* buffer) -> const Scalar* {
    unpool_gradient_image(g, p, dy, pooled, arg, relu, n, buffer);
    return buffer;
  };
  conv2d_backward_with(g, x, gradient_image, w, rotated, dw, db, dx, workspace);
}

}  // namespace nn::detail::kernels
