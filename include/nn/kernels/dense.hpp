#pragma once
/// Matrix products of a dense layer: register-tiled packet kernels, split into fixed blocks
/// that threads take whole.
///
/// Eigen's general product allocates its packing buffers on every call. On several threads it
/// also makes them wait for each other's packed panels in spin loops, so with another process
/// holding a core one 3 ms product of this layer took over a second on the 2-core test machine.
/// These kernels allocate nothing, and threads meet once, at the end of each call. Block extents are constants, not functions
/// of the thread count, and every output element is summed by one thread in a fixed order, so
/// results do not depend on the number of threads.
///
/// Shape letters: N batch, F input features, U units. x [N, F], w [F, U], y and g [N, U].

#include <algorithm>

#include "nn/core/shape.hpp"
#include "nn/kernels/packet.hpp"

namespace nn::detail::kernels {

/// Input features per cache block of the forward product: with 4 packets of units the block
/// of w stays in the level-2 cache while every tile of rows of x passes over it.
constexpr Index dense_feature_block = 256;
/// Features per block of the backward pass, the unit of work of one thread.
constexpr Index dense_backward_block = 256;
/// Features per tile of the input gradient.
constexpr int dense_input_tile = 8;

/// Adds to R rows times NV packets of y (at y, row stride u) the products of x rows
/// [R, features] (row stride f) with w rows [features, NV packets] (row stride u).
template <typename Scalar, int R, int NV>
inline void dense_forward_tile(const Scalar* x, Index f, const Scalar* w, Index u, Index features,
                               Scalar* y) {
  using P = Packet<Scalar>;
  constexpr int S = packet_size<Scalar>;
  P acc[R][NV];
  NN_UNROLL
  for (int r = 0; r < R; ++r) {
    NN_UNROLL
    for (int v = 0; v < NV; ++v) acc[r][v] = load(y + r * u + v * S);
  }
  for (Index i = 0; i < features; ++i) {
    P wv[NV];
    NN_UNROLL
    for (int v = 0; v < NV; ++v) wv[v] = load(w + i * u + v * S);
    NN_UNROLL
    for (int r = 0; r < R; ++r) {
      const P xs = broadcast(x[r * f + i]);
      NN_UNROLL
      for (int v = 0; v < NV; ++v) acc[r][v] = madd(xs, wv[v], acc[r][v]);
    }
  }
  NN_UNROLL
  for (int r = 0; r < R; ++r) {
    NN_UNROLL
    for (int v = 0; v < NV; ++v) store(y + r * u + v * S, acc[r][v]);
  }
}

/// y[:, c0:c0 + NV packets] += x w[:, c0:...] over features [i0, i0 + features).
template <typename Scalar, int NV>
inline void dense_forward_columns(const Scalar* x, const Scalar* w, Index n, Index f, Index u,
                                  Index i0, Index features, Index c0, Scalar* y) {
  constexpr int R = NV >= 4 ? 6 : (NV == 3 ? 8 : (NV == 2 ? 12 : 16));
  constexpr int R_fit = vector_registers >= 32 ? R : std::max(1, R / 3);
  const Scalar* xb = x + i0;
  const Scalar* wb = w + i0 * u + c0;
  Index r = 0;
  for (; r + R_fit <= n; r += R_fit) {
    dense_forward_tile<Scalar, R_fit, NV>(xb + r * f, f, wb, u, features, y + r * u + c0);
  }
  for (; r < n; ++r) {
    dense_forward_tile<Scalar, 1, NV>(xb + r * f, f, wb, u, features, y + r * u + c0);
  }
}

/// y = x w (+ b), then max(y, 0) when relu; y is overwritten. bias may be null.
template <typename Scalar>
void dense_forward(const Scalar* x, const Scalar* w, const Scalar* bias, bool relu, Index n,
                   Index f, Index u, Scalar* y) {
  constexpr Index S = packet_size<Scalar>;
  constexpr Index block_units = 4 * S;
  const Index column_blocks = (u + block_units - 1) / block_units;
  const bool parallel = column_blocks > 1 && n * f * u >= min_parallel_work;
  parallel_for(column_blocks, parallel, [&](Index b) {
    const Index c_begin = b * block_units;
    const Index c_end = std::min(u, c_begin + block_units);
    for (Index r = 0; r < n; ++r) {
      for (Index c = c_begin; c < c_end; ++c) y[r * u + c] = bias ? bias[c] : Scalar(0);
    }
    const Index full_end = c_begin + ((c_end - c_begin) / S) * S;
    for (Index i0 = 0; i0 < f; i0 += dense_feature_block) {
      const Index features = std::min(dense_feature_block, f - i0);
      const Index packets = (full_end - c_begin) / S;
      switch (packets) {
        case 4: dense_forward_columns<Scalar, 4>(x, w, n, f, u, i0, features, c_begin, y); break;
        case 3: dense_forward_columns<Scalar, 3>(x, w, n, f, u, i0, features, c_begin, y); break;
        case 2: dense_forward_columns<Scalar, 2>(x, w, n, f, u, i0, features, c_begin, y); break;
        case 1: dense_forward_columns<Scalar, 1>(x, w, n, f, u, i0, features, c_begin, y); break;
        default: break;
      }
      // Units left over after whole packets, one scalar at a time.
      for (Index r = 0; r < n; ++r) {
        for (Index c = full_end; c < c_end; ++c) {
          Scalar sum = y[r * u + c];
          for (Index i = i0; i < i0 + features; ++i) sum += x[r * f + i] * w[i * u + c];
          y[r * u + c] = sum;
        }
      }
    }
    if (relu) {
      for (Index r = 0; r < n; ++r) {
        for (Index c = c_begin; c < c_end; ++c) y[r * u + c] = std::max(y[r * u + c], Scalar(0));
      }
    }
  });
}

/// dw[i0:i0 + RB, c0:c0 + NV packets] += x[:, i0:i0 + RB]^T g[:, c0:...].
template <typename Scalar, int RB, int NV>
inline void dense_weight_tile(const Scalar* x, Index n, Index f, const Scalar* g, Index u,
                              Scalar* dw) {
  using P = Packet<Scalar>;
  constexpr int S = packet_size<Scalar>;
  P acc[RB][NV];
  NN_UNROLL
  for (int i = 0; i < RB; ++i) {
    NN_UNROLL
    for (int v = 0; v < NV; ++v) acc[i][v] = load(dw + i * u + v * S);
  }
  for (Index r = 0; r < n; ++r) {
    P gv[NV];
    NN_UNROLL
    for (int v = 0; v < NV; ++v) gv[v] = load(g + r * u + v * S);
    NN_UNROLL
    for (int i = 0; i < RB; ++i) {
      const P xs = broadcast(x[r * f + i]);
      NN_UNROLL
      for (int v = 0; v < NV; ++v) acc[i][v] = madd(xs, gv[v], acc[i][v]);
    }
  }
  NN_UNROLL
  for (int i = 0; i < RB; ++i) {
    NN_UNROLL
    for (int v = 0; v < NV; ++v) store(dw + i * u + v * S, acc[i][v]);
  }
}

/// Kernel gradient rows [i_begin, i_end) for units [c0, c0 + NV packets).
template <typename Scalar, int NV>
inline void dense_weight_rows(const Scalar* x, Index n, Index f, const Scalar* g, Index u,
                              Index i_begin, Index i_end, Index c0, Scalar* dw) {
  constexpr int RB = vector_registers >= 32 ? std::max(1, 24 / NV) : std::max(1, 12 / NV);
  Index i = i_begin;
  for (; i + RB <= i_end; i += RB) {
    dense_weight_tile<Scalar, RB, NV>(x + i, n, f, g + c0, u, dw + i * u + c0);
  }
  for (; i < i_end; ++i) dense_weight_tile<Scalar, 1, NV>(x + i, n, f, g + c0, u, dw + i * u + c0);
}

/// dx[:, i0:i0 + features] = g w[i0:i0 + features, :]^T, features <= dense_input_tile. Each
/// accumulator is a packet of batch rows for one feature, so the tile is written to dx through
/// a small transposed buffer.
template <typename Scalar>
inline void dense_input_tile_kernel(const Scalar* g_t, Index n, Index f, const Scalar* w, Index u,
                                    Index i0, Index features, Scalar* dx) {
  // g_t is g transposed, [U, N]; each feature's gradient over the batch is sum_c w[i, c] g_t[c].
  constexpr int S = packet_size<Scalar>;
  using P = Packet<Scalar>;
  Scalar tile[dense_input_tile][2 * S];
  for (Index r0 = 0; r0 < n; r0 += 2 * S) {
    const Index rows = std::min<Index>(2 * S, n - r0);
    if (rows == 2 * S) {
      P acc[dense_input_tile][2];
      NN_UNROLL
      for (int k = 0; k < dense_input_tile; ++k) acc[k][0] = acc[k][1] = broadcast<Scalar>(0);
      for (Index c = 0; c < u; ++c) {
        const P g0 = load(g_t + c * n + r0), g1 = load(g_t + c * n + r0 + S);
        NN_UNROLL
        for (int k = 0; k < dense_input_tile; ++k) {
          const P ws = broadcast(k < features ? w[(i0 + k) * u + c] : Scalar(0));
          acc[k][0] = madd(ws, g0, acc[k][0]);
          acc[k][1] = madd(ws, g1, acc[k][1]);
        }
      }
      NN_UNROLL
      for (int k = 0; k < dense_input_tile; ++k) {
        store(tile[k], acc[k][0]);
        store(tile[k] + S, acc[k][1]);
      }
    } else {
      NN_UNROLL
      for (int k = 0; k < dense_input_tile; ++k) {
        for (Index r = 0; r < rows; ++r) {
          Scalar sum = 0;
          if (k < features) {
            for (Index c = 0; c < u; ++c) sum += w[(i0 + k) * u + c] * g_t[c * n + r0 + r];
          }
          tile[k][r] = sum;
        }
      }
    }
    for (Index r = 0; r < rows; ++r) {
      for (Index k = 0; k < features; ++k) dx[(r0 + r) * f + i0 + k] = tile[k][r];
    }
  }
}

/// Scratch memory that dense_backward needs, in scalars: g transposed.
inline Index dense_backward_workspace(Index n, Index u) { return n * u; }

/// dw += x^T g, db += column sums of g (when db is not null), and dx = g w^T (when dx is not
/// null; dx is overwritten). workspace must have room for dense_backward_workspace(n, u)
/// scalars.
template <typename Scalar>
void dense_backward(const Scalar* x, const Scalar* w, const Scalar* g, Index n, Index f, Index u,
                    Scalar* dw, Scalar* db, Scalar* dx, Scalar* workspace) {
  constexpr Index S = packet_size<Scalar>;
  Scalar* g_t = workspace;
  for (Index r = 0; r < n; ++r) {
    for (Index c = 0; c < u; ++c) g_t[c * n + r] = g[r * u + c];
  }
  const Index full = (u / S) * S;
  const Index blocks = (f + dense_backward_block - 1) / dense_backward_block;
  const bool parallel = blocks > 1 && n * f * u >= min_parallel_work;
  parallel_for(blocks, parallel, [&](Index b) {
    const Index i_begin = b * dense_backward_block;
    const Index i_end = std::min(f, i_begin + dense_backward_block);

    // Kernel gradient: whole packets of units, then the leftover units one at a time.
    for (Index c0 = 0; c0 < full;) {
      const Index packets = std::min<Index>(4, (full - c0) / S);
      switch (packets) {
        case 4: dense_weight_rows<Scalar, 4>(x, n, f, g, u, i_begin, i_end, c0, dw); break;
        case 3: dense_weight_rows<Scalar, 3>(x, n, f, g, u, i_begin, i_end, c0, dw); break;
        case 2: dense_weight_rows<Scalar, 2>(x, n, f, g, u, i_begin, i_end, c0, dw); break;
        default: dense_weight_rows<Scalar, 1>(x, n, f, g, u, i_begin, i_end, c0, dw); break;
      }
      c0 += packets * S;
    }
    for (Index i = i_begin; i < i_end; ++i) {
      for (Index c = full; c < u; ++c) {
        Scalar sum = dw[i * u + c];
        for (Index r = 0; r < n; ++r) sum += x[r * f + i] * g[r * u + c];
        dw[i * u + c] = sum;
      }
    }

    if (dx) {
      for (Index i0 = i_begin; i0 < i_end; i0 += dense_input_tile) {
        const Index features = std::min<Index>(dense_input_tile, i_end - i0);
        dense_input_tile_kernel(g_t, n, f, w, u, i0, features, dx);
      }
    }
  });
  if (db) {
    for (Index r = 0; r < n; ++r) {
      for (Index c = 0; c < u; ++c) db[c] += g[r * u + c];
    }
  }
}

}  // namespace nn::detail::kernels
