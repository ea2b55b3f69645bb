// Tests of nn/kernels/max_pool.hpp on small inputs worked out by hand.

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "nn/core/random.hpp"
#include "nn/kernels/max_pool.hpp"

namespace {

using nn::Index;
using nn::detail::kernels::PoolGeometry;

PoolGeometry pool_geometry(Index h, Index w, Index c, Index pool, Index stride) {
  PoolGeometry g;
  g.batch = 1, g.in_h = h, g.in_w = w, g.channels = c, g.pool = pool, g.stride = stride;
  g.out_h = (h - pool) / stride + 1;
  g.out_w = (w - pool) / stride + 1;
  return g;
}

}  // namespace

TEST_CASE("Max-pool kernel keeps each window's maximum and routes the gradient back to it") {
  // One channel, 5x5 input: 2x2 windows with stride 2 give 2x2 outputs; row 4 and column 4
  // are in no window and receive zero gradient.
  const PoolGeometry g = pool_geometry(5, 5, 1, 2, 2);
  const std::vector<double> x{1, 9, 2, 3, 50,
                              4, 5, 8, 7, 51,
                              6, 6, 0, 1, 52,
                              2, 1, 3, 2, 53,
                              60, 61, 62, 63, 64};
  std::vector<double> y(4);
  std::vector<std::uint8_t> arg(4);
  nn::detail::kernels::max_pool_forward(g, x.data(), y.data(), arg.data());
  CHECK(y == std::vector<double>{9, 8, 6, 3});

  // Ties go to the first maximum in row-major window order (the 6 at row 2, column 0).
  const std::vector<double> dy{10, 20, 30, 40};
  std::vector<double> dx(25, -1.0);
  nn::detail::kernels::max_pool_backward(g, dy.data(), arg.data(), dx.data());
  CHECK(dx == std::vector<double>{0, 10, 0, 0, 0,
                                  0, 0, 20, 0, 0,
                                  30, 0, 0, 0, 0,
                                  0, 0, 40, 0, 0,
                                  0, 0, 0, 0, 0});
}

TEST_CASE("Max-pool kernel handles channels independently") {
  const PoolGeometry g = pool_geometry(2, 2, 3, 2, 2);
  // Pixel-major NHWC: channel 0 peaks at pixel 3, channel 1 at pixel 0, channel 2 at pixel 2.
  const std::vector<float> x{0, 9, 1, 1, 8, 2, 2, 7, 5, 3, 6, 4};
  std::vector<float> y(3);
  std::vector<std::uint8_t> arg(3);
  nn::detail::kernels::max_pool_forward(g, x.data(), y.data(), arg.data());
  CHECK(y == std::vector<float>{3, 9, 5});
  CHECK(arg == std::vector<std::uint8_t>{3, 0, 2});
}

TEST_CASE("Max-pool kernel adds the gradients of overlapping windows") {
  // 3x3 windows with stride 1 on a 4x4 image: the centre value 100 is the maximum of all four
  // windows, so it receives the sum of their gradients.
  const PoolGeometry g = pool_geometry(4, 4, 1, 3, 1);
  std::vector<float> x(16, 0.0f);
  x[5] = 100.0f;
  std::vector<float> y(4);
  std::vector<std::uint8_t> arg(4);
  nn::detail::kernels::max_pool_forward(g, x.data(), y.data(), arg.data());
  CHECK(y == std::vector<float>{100, 100, 100, 100});

  const std::vector<float> dy{1, 2, 3, 4};
  std::vector<float> dx(16, -1.0f);
  nn::detail::kernels::max_pool_backward(g, dy.data(), arg.data(), dx.data());
  std::vector<float> expected(16, 0.0f);
  expected[5] = 10.0f;
  CHECK(dx == expected);
}

TEST_CASE("Max-pool kernel matches a plain loop on many channels with ties") {
  // 35 channels reach the vectorised path (16 at a time) and its scalar remainder; values drawn
  // from a few integers make ties frequent.
  for (const Index pool : {2, 3}) {
    const PoolGeometry g = [&] {
      PoolGeometry p = pool_geometry(7, 9, 35, pool, 2);
      p.batch = 2;
      return p;
    }();
    nn::Random rng(11);
    std::vector<float> x(static_cast<std::size_t>(g.batch * g.in_h * g.in_w * g.channels));
    for (auto& v : x) v = static_cast<float>(rng.below(4));
    const std::size_t outputs = static_cast<std::size_t>(g.batch * g.out_h * g.out_w * g.channels);
    std::vector<float> y(outputs), dy(outputs), dx(x.size());
    std::vector<std::uint8_t> arg(outputs);
    for (auto& v : dy) v = static_cast<float>(rng.uniform(-1.0, 1.0));
    nn::detail::kernels::max_pool_forward(g, x.data(), y.data(), arg.data());
    nn::detail::kernels::max_pool_backward(g, dy.data(), arg.data(), dx.data());

    std::vector<float> expected_dx(x.size(), 0.0f);
    std::size_t out = 0;
    for (Index n = 0; n < g.batch; ++n)
      for (Index oh = 0; oh < g.out_h; ++oh)
        for (Index ow = 0; ow < g.out_w; ++ow)
          for (Index c = 0; c < g.channels; ++c, ++out) {
            std::size_t at = 0;
            float best = -1.0f;
            for (Index kh = 0; kh < pool; ++kh)
              for (Index kw = 0; kw < pool; ++kw) {
                const auto i = static_cast<std::size_t>(
                    ((n * g.in_h + oh * 2 + kh) * g.in_w + ow * 2 + kw) * g.channels + c);
                if (x[i] > best) best = x[i], at = i;
              }
            CHECK(y[out] == best);
            expected_dx[at] += dy[out];
          }
    CHECK(dx == expected_dx);
  }
}
