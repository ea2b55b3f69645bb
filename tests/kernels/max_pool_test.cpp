// Tests of nn/kernels/max_pool.hpp on small inputs worked out by hand.

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

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
