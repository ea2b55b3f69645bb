#pragma once
/// Max-pooling kernels on NHWC data, vectorised across channels.
///
/// The forward pass records, for every output element, which position of its window held the
/// maximum (one byte, row-major inside the window, the first maximum on ties), so that the
/// backward pass routes each gradient without reading the input again.
///
/// Shape rule (valid padding, floor): [N, H, W, C] -> [N, (H - p)/s + 1, (W - p)/s + 1, C].

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "nn/core/shape.hpp"
#include "nn/kernels/packet.hpp"

namespace nn::detail::kernels {

/// Extents of one max-pooling; pool * pool must not exceed 256 (the window index is a byte).
struct PoolGeometry {
  Index batch = 0, in_h = 0, in_w = 0, channels = 0;
  Index out_h = 0, out_w = 0;
  Index pool = 2, stride = 2;
};

/// y = max over each window of x; arg, unless null, receives the window position of each
/// maximum.
template <typename Scalar>
void max_pool_forward(const PoolGeometry& g, const Scalar* x, Scalar* y, std::uint8_t* arg) {
  const Index c_n = g.channels;
  const Index rows = g.batch * g.out_h;
  const bool parallel = rows > 1 && rows * g.out_w * c_n * g.pool * g.pool >= min_parallel_work;
#pragma omp parallel for schedule(static) if (parallel)
  for (Index row = 0; row < rows; ++row) {
    const Index n = row / g.out_h, oh = row % g.out_h;
    for (Index ow = 0; ow < g.out_w; ++ow) {
      const Index out = (row * g.out_w + ow) * c_n;
      Scalar* yo = y + out;
      const Scalar* x0 = x + ((n * g.in_h + oh * g.stride) * g.in_w + ow * g.stride) * c_n;
      std::copy(x0, x0 + c_n, yo);
      if (!arg) {
        for (Index k = 1; k < g.pool * g.pool; ++k) {
          const Scalar* xk = x0 + ((k / g.pool) * g.in_w + k % g.pool) * c_n;
          for (Index c = 0; c < c_n; ++c) yo[c] = xk[c] > yo[c] ? xk[c] : yo[c];
        }
        continue;
      }
      // Replace only on a strictly larger value, so ties keep the first maximum.
      std::uint8_t* ao = arg + out;
      std::fill(ao, ao + c_n, std::uint8_t(0));
      for (Index k = 1; k < g.pool * g.pool; ++k) {
        const Scalar* xk = x0 + ((k / g.pool) * g.in_w + k % g.pool) * c_n;
        const auto index = static_cast<std::uint8_t>(k);
        for (Index c = 0; c < c_n; ++c) {
          const bool larger = xk[c] > yo[c];
          yo[c] = larger ? xk[c] : yo[c];
          ao[c] = larger ? index : ao[c];
        }
      }
    }
  }
}

/// dx = dy routed to the recorded maximum of each window; dx is overwritten entirely.
template <typename Scalar>
void max_pool_backward(const PoolGeometry& g, const Scalar* dy, const std::uint8_t* arg,
                       Scalar* dx) {
  const Index c_n = g.channels;
  const Index image = g.in_h * g.in_w * c_n;
  const bool parallel = g.batch * image >= min_parallel_work;
  if (g.stride == g.pool) {
    // Windows tile the input without overlap: write each covered element exactly once and
    // zero the rows and columns that no window covers.
    const Index rows = g.batch * g.in_h;
#pragma omp parallel for schedule(static) if (parallel)
    for (Index row = 0; row < rows; ++row) {
      const Index n = row / g.in_h, i = row % g.in_h;
      Scalar* dx_row = dx + row * g.in_w * c_n;
      const Index oh = i / g.pool;
      if (oh >= g.out_h) {
        std::fill(dx_row, dx_row + g.in_w * c_n, Scalar(0));
        continue;
      }
      const Index kh = i % g.pool;
      for (Index ow = 0; ow < g.out_w; ++ow) {
        const Index out = ((n * g.out_h + oh) * g.out_w + ow) * c_n;
        const Scalar* d = dy + out;
        const std::uint8_t* a = arg + out;
        for (Index kw = 0; kw < g.pool; ++kw) {
          const auto index = static_cast<std::uint8_t>(kh * g.pool + kw);
          Scalar* o = dx_row + (ow * g.pool + kw) * c_n;
          for (Index c = 0; c < c_n; ++c) o[c] = a[c] == index ? d[c] : Scalar(0);
        }
      }
      std::fill(dx_row + g.out_w * g.pool * c_n, dx_row + g.in_w * c_n, Scalar(0));
    }
    return;
  }

  // Overlapping or gapped windows: zero, then add. One image per thread, so overlapping windows
  // never race.
#pragma omp parallel for schedule(static) if (parallel && g.batch > 1)
  for (Index n = 0; n < g.batch; ++n) {
    Scalar* dx_img = dx + n * image;
    std::fill(dx_img, dx_img + image, Scalar(0));
    for (Index oh = 0; oh < g.out_h; ++oh) {
      for (Index ow = 0; ow < g.out_w; ++ow) {
        const Index out = ((n * g.out_h + oh) * g.out_w + ow) * c_n;
        Scalar* base = dx_img + (oh * g.stride * g.in_w + ow * g.stride) * c_n;
        for (Index c = 0; c < c_n; ++c) {
          const Index k = arg[out + c];
          base[((k / g.pool) * g.in_w + k % g.pool) * c_n + c] += dy[out + c];
        }
      }
    }
  }
}

}  // namespace nn::detail::kernels
