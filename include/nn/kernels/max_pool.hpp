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
#include <type_traits>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "nn/core/shape.hpp"
#include "nn/kernels/packet.hpp"

namespace nn::detail::kernels {

/// Extents of one max-pooling; pool * pool must not exceed 256 (the window index is a byte).
struct PoolGeometry {
  Index batch = 0, in_h = 0, in_w = 0, channels = 0;
  Index out_h = 0, out_w = 0;
  Index pool = 2, stride = 2;
};

/// Maximum of one window over channels [c, c_n) of one output pixel, one scalar at a time.
/// x0 is the window's first pixel and row_step the distance between input rows.
template <typename Scalar>
inline void window_max_scalar(const PoolGeometry& g, const Scalar* x0, Index row_step, Index c,
                              Scalar* y, std::uint8_t* arg) {
  for (; c < g.channels; ++c) {
    Scalar best = x0[c];
    std::uint8_t at = 0;
    for (Index k = 1; k < g.pool * g.pool; ++k) {
      const Scalar v = x0[(k / g.pool) * row_step + (k % g.pool) * g.channels + c];
      // Strictly larger, so ties keep the first maximum in row-major window order.
      if (v > best) best = v, at = static_cast<std::uint8_t>(k);
    }
    y[c] = best;
    if (arg) arg[c] = at;
  }
}

/// Maximum of one window for every channel of one output pixel; arg may be null.
template <typename Scalar>
inline void window_max(const PoolGeometry& g, const Scalar* x0, Scalar* y, std::uint8_t* arg) {
  const Index row_step = g.in_w * g.channels;
  Index c = 0;
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
  // 16 channels at a time: compare masks select both the value and its window position.
  if constexpr (std::is_same_v<Scalar, float>) {
    for (; c + 16 <= g.channels; c += 16) {
      __m512 best = _mm512_loadu_ps(x0 + c);
      __m128i at = _mm_setzero_si128();
      for (Index k = 1; k < g.pool * g.pool; ++k) {
        const Index offset = (k / g.pool) * row_step + (k % g.pool) * g.channels + c;
        const __m512 v = _mm512_loadu_ps(x0 + offset);
        const __mmask16 larger = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ);
        best = _mm512_mask_mov_ps(best, larger, v);
        at = _mm_mask_mov_epi8(at, larger, _mm_set1_epi8(static_cast<char>(k)));
      }
      _mm512_storeu_ps(y + c, best);
      if (arg) _mm_storeu_si128(reinterpret_cast<__m128i*>(arg + c), at);
    }
  }
#endif
  window_max_scalar(g, x0, row_step, c, y, arg);
}

/// y = max over each window of x; arg, unless null, receives the window position of each
/// maximum.
template <typename Scalar>
void max_pool_forward(const PoolGeometry& g, const Scalar* x, Scalar* y, std::uint8_t* arg) {
  const Index c_n = g.channels;
  const Index rows = g.batch * g.out_h;
  const Index work = rows * g.out_w * c_n * g.pool * g.pool;
  const bool parallel = rows > 1 && work >= min_parallel_work;
  parallel_for(rows, parallel, [&](Index row) {
    const Index n = row / g.out_h, oh = row % g.out_h;
    for (Index ow = 0; ow < g.out_w; ++ow) {
      const Index out = (row * g.out_w + ow) * c_n;
      const Scalar* x0 = x + ((n * g.in_h + oh * g.stride) * g.in_w + ow * g.stride) * c_n;
      window_max(g, x0, y + out, arg ? arg + out : nullptr);
    }
  });
}

/// Writes dy where arg equals index and zero elsewhere, for `count` channels. When positive is
/// not null, also zero where positive <= 0: that is the derivative of a ReLU before the pooling,
/// whose output at the maximum is the pooled value.
///
/// With `stream`, whole 64-byte lines are written with non-temporal stores, which skip reading
/// the line first: for an output much larger than the caches that halves the memory traffic.
template <typename Scalar>
inline void route_gradient(const Scalar* dy, const std::uint8_t* arg, std::uint8_t index,
                           const Scalar* positive, Index count, Scalar* out,
                           [[maybe_unused]] bool stream = false) {
  Index c = 0;
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<Scalar, float>) {
    const __m512i wanted = _mm512_set1_epi32(index);
    const bool aligned = reinterpret_cast<std::uintptr_t>(out) % 64 == 0;
    for (; c + 16 <= count; c += 16) {
      const __m512i at =
          _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(arg + c)));
      __mmask16 hit = _mm512_cmpeq_epi32_mask(at, wanted);
      if (positive) {
        hit &= _mm512_cmp_ps_mask(_mm512_loadu_ps(positive + c), _mm512_setzero_ps(), _CMP_GT_OQ);
      }
      const __m512 value = _mm512_maskz_mov_ps(hit, _mm512_loadu_ps(dy + c));
      if (stream && aligned) {
        _mm512_stream_ps(out + c, value);
      } else {
        _mm512_storeu_ps(out + c, value);
      }
    }
  }
#endif
  for (; c < count; ++c) {
    const bool hit = arg[c] == index && (!positive || positive[c] > Scalar(0));
    out[c] = hit ? dy[c] : Scalar(0);
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
    // zero the rows and columns that no window covers. A gradient far larger than the caches
    // goes to memory with streaming stores.
    const bool stream = g.batch * image * Index(sizeof(Scalar)) > (Index(16) << 20);
    const Index rows = g.batch * g.in_h;
    parallel_for(rows, parallel, [&](Index row) {
      const Index n = row / g.in_h, i = row % g.in_h;
      Scalar* dx_row = dx + row * g.in_w * c_n;
      const Index oh = i / g.pool;
      if (oh >= g.out_h) {
        std::fill(dx_row, dx_row + g.in_w * c_n, Scalar(0));
        return;
      }
      const Index kh = i % g.pool;
      for (Index ow = 0; ow < g.out_w; ++ow) {
        const Index out = ((n * g.out_h + oh) * g.out_w + ow) * c_n;
        const Scalar* d = dy + out;
        const std::uint8_t* a = arg + out;
        for (Index kw = 0; kw < g.pool; ++kw) {
          const auto index = static_cast<std::uint8_t>(kh * g.pool + kw);
          route_gradient(d, a, index, static_cast<const Scalar*>(nullptr), c_n,
                         dx_row + (ow * g.pool + kw) * c_n, stream);
        }
      }
      std::fill(dx_row + g.out_w * g.pool * c_n, dx_row + g.in_w * c_n, Scalar(0));
#if defined(__AVX512F__)
      // Streaming stores are weakly ordered: make them visible before the threads join.
      if (stream) _mm_sfence();
#endif
    });
    return;
  }

  // Overlapping or gapped windows: zero, then add. One image per thread, so overlapping windows
  // never race.
  parallel_for(g.batch, parallel && g.batch > 1, [&](Index n) {
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
  });
}

}  // namespace nn::detail::kernels
