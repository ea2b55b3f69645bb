// Tests of nn/kernels/conv2d_pool.hpp: the fused convolution and pooling must give exactly
// what the two kernels give one after the other.

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "nn/core/random.hpp"
#include "nn/core/threads.hpp"
#include "nn/kernels/conv2d_pool.hpp"

namespace {

using nn::Index;
namespace k = nn::detail::kernels;

template <typename Scalar>
std::vector<Scalar> random_vector(Index size, nn::Random& rng) {
  std::vector<Scalar> v(static_cast<std::size_t>(size));
  for (auto& x : v) x = static_cast<Scalar>(rng.uniform(-1.0, 1.0));
  return v;
}

template <typename Scalar>
void check_fused_matches_separate(Index h, Index w, Index c, Index f, Index pool, bool relu) {
  k::ConvGeometry g;
  g.batch = 3, g.in_h = h, g.in_w = w, g.in_c = c, g.out_h = h, g.out_w = w, g.out_c = f;
  g.kernel_h = g.kernel_w = 3, g.stride = 1, g.pad_top = g.pad_left = 1;
  k::PoolGeometry p;
  p.batch = g.batch, p.in_h = h, p.in_w = w, p.channels = f, p.pool = pool, p.stride = pool;
  p.out_h = (h - pool) / pool + 1, p.out_w = (w - pool) / pool + 1;

  nn::Random rng(21);
  const auto x = random_vector<Scalar>(g.batch * h * w * c, rng);
  const auto kernel = random_vector<Scalar>(9 * c * f, rng);
  const auto bias = random_vector<Scalar>(f, rng);
  const Index pooled_size = g.batch * p.out_h * p.out_w * f;
  const auto dy = random_vector<Scalar>(pooled_size, rng);
  std::vector<Scalar> rotated(kernel.size());
  k::rotate_kernel(g, kernel.data(), rotated.data());
  const int threads = nn::num_threads();

  // One after the other.
  std::vector<Scalar> y(static_cast<std::size_t>(g.batch * h * w * f));
  std::vector<Scalar> pooled(static_cast<std::size_t>(pooled_size));
  std::vector<std::uint8_t> arg(pooled.size());
  k::conv2d_forward(g, x.data(), kernel.data(), bias.data(), relu, y.data());
  k::max_pool_forward(p, y.data(), pooled.data(), arg.data());
  std::vector<Scalar> dy_full(y.size()), dw(kernel.size()), db(bias.size()), dx(x.size());
  std::vector<Scalar> workspace(static_cast<std::size_t>(k::conv2d_backward_workspace(g, threads)));
  k::max_pool_backward(p, dy.data(), arg.data(), dy_full.data());
  k::conv2d_backward(g, x.data(), dy_full.data(), relu ? y.data() : nullptr, kernel.data(),
                     rotated.data(), dw.data(), db.data(), dx.data(), workspace.data());

  // Fused.
  std::vector<Scalar> fused_pooled(pooled.size());
  std::vector<std::uint8_t> fused_arg(arg.size());
  std::vector<Scalar> forward_workspace(
      static_cast<std::size_t>(k::conv2d_pool_forward_workspace(g, p, threads)));
  k::conv2d_pool_forward(g, p, x.data(), kernel.data(), bias.data(), relu, fused_pooled.data(),
                         fused_arg.data(), forward_workspace.data());
  CHECK(fused_pooled == pooled);
  CHECK(fused_arg == arg);
  std::vector<Scalar> fused_dw(kernel.size()), fused_db(bias.size()), fused_dx(x.size());
  k::conv2d_pool_backward(g, p, x.data(), dy.data(), fused_pooled.data(), fused_arg.data(), relu,
                          kernel.data(), rotated.data(), fused_dw.data(), fused_db.data(),
                          fused_dx.data(), workspace.data());
  CHECK(fused_dw == dw);
  CHECK(fused_db == db);
  CHECK(fused_dx == dx);
}

}  // namespace

TEST_CASE("Fused convolution and pooling equal the two kernels in sequence") {
  SUBCASE("ReLU, even sizes, RGB input") {
    check_fused_matches_separate<float>(8, 10, 3, 16, 2, true);
  }
  SUBCASE("ReLU, odd sizes leave a row and a column unpooled") {
    check_fused_matches_separate<float>(7, 9, 5, 20, 2, true);
  }
  SUBCASE("no activation, 3x3 windows") {
    check_fused_matches_separate<float>(9, 7, 4, 35, 3, false);
  }
  SUBCASE("double precision") { check_fused_matches_separate<double>(7, 8, 3, 12, 2, true); }
}
