// Tests of nn/kernels/conv2d_direct.hpp: the direct convolution and its two gradients.
//
// Besides one example worked out by hand, the kernels are compared with the definitions in
// this header's comment, written as plain loops, on shapes chosen to reach every code path:
// full register tiles and their remainders, border pixels, channel counts that are not a
// multiple of the packet width, strides above 1 and valid padding.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "nn/core/random.hpp"
#include "nn/core/threads.hpp"
#include "nn/kernels/conv2d_direct.hpp"

namespace {

using nn::Index;
using nn::detail::kernels::ConvGeometry;

ConvGeometry geometry(Index n, Index h, Index w, Index c, Index f, Index k, Index stride,
                      bool same) {
  ConvGeometry g;
  g.batch = n, g.in_h = h, g.in_w = w, g.in_c = c, g.out_c = f;
  g.kernel_h = g.kernel_w = k, g.stride = stride;
  if (same) {
    g.out_h = (h + stride - 1) / stride;
    g.out_w = (w + stride - 1) / stride;
    g.pad_top = std::max<Index>(0, (g.out_h - 1) * stride + k - h) / 2;
    g.pad_left = std::max<Index>(0, (g.out_w - 1) * stride + k - w) / 2;
  } else {
    g.out_h = (h - k) / stride + 1;
    g.out_w = (w - k) / stride + 1;
  }
  return g;
}

template <typename Scalar>
std::vector<Scalar> random_vector(Index size, nn::Random& rng) {
  std::vector<Scalar> v(static_cast<std::size_t>(size));
  for (auto& x : v) x = static_cast<Scalar>(rng.uniform(-1.0, 1.0));
  return v;
}

/// Calls f(n, oh, ow, kh, kw, x_index) for every tap that reads inside the input.
template <typename F>
void for_each_tap(const ConvGeometry& g, F f) {
  for (Index n = 0; n < g.batch; ++n)
    for (Index oh = 0; oh < g.out_h; ++oh)
      for (Index ow = 0; ow < g.out_w; ++ow)
        for (Index kh = 0; kh < g.kernel_h; ++kh)
          for (Index kw = 0; kw < g.kernel_w; ++kw) {
            const Index ih = oh * g.stride + kh - g.pad_top, iw = ow * g.stride + kw - g.pad_left;
            if (ih < 0 || iw < 0 || ih >= g.in_h || iw >= g.in_w) continue;
            f(n, oh, ow, kh, kw, ((n * g.in_h + ih) * g.in_w + iw) * g.in_c);
          }
}

template <typename Scalar>
struct Reference {
  std::vector<double> y, dx, dw, db;
};

/// The forward pass (with ReLU) and the gradients for upstream gradient gy, by definition.
template <typename Scalar>
Reference<Scalar> reference(const ConvGeometry& g, const std::vector<Scalar>& x,
                            const std::vector<Scalar>& w, const std::vector<Scalar>& b,
                            const std::vector<Scalar>& gy) {
  Reference<Scalar> r;
  const Index out_size = g.batch * g.out_h * g.out_w * g.out_c;
  r.y.assign(static_cast<std::size_t>(out_size), 0.0);
  r.dx.assign(x.size(), 0.0);
  r.dw.assign(w.size(), 0.0);
  r.db.assign(b.size(), 0.0);
  auto out_index = [&](Index n, Index oh, Index ow) {
    return ((n * g.out_h + oh) * g.out_w + ow) * g.out_c;
  };
  for_each_tap(g, [&](Index n, Index oh, Index ow, Index kh, Index kw, Index xi) {
    for (Index c = 0; c < g.in_c; ++c) {
      for (Index f = 0; f < g.out_c; ++f) {
        const Index wi = ((kh * g.kernel_w + kw) * g.in_c + c) * g.out_c + f;
        const Index yi = out_index(n, oh, ow) + f;
        r.y[yi] += double(x[xi + c]) * w[wi];
        r.dw[wi] += double(x[xi + c]) * gy[yi];
        r.dx[xi + c] += double(w[wi]) * gy[yi];
      }
    }
  });
  for (Index i = 0; i < out_size; ++i) {
    const Index f = i % g.out_c;
    r.y[i] = std::max(0.0, r.y[i] + b[f]);
    r.db[f] += gy[i];
  }
  return r;
}

template <typename Scalar>
void check_close(const std::vector<Scalar>& actual, const std::vector<double>& expected,
                 double tolerance, const char* what) {
  REQUIRE(actual.size() == expected.size());
  double worst = 0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double error = std::abs(actual[i] - expected[i]) / std::max(1.0, std::abs(expected[i]));
    if (error > worst) worst = error, at = i;
  }
  INFO(what << ": worst relative error " << worst << " at element " << at);
  CHECK(worst <= tolerance);
}

template <typename Scalar>
void check_against_definition(const ConvGeometry& g, double tolerance) {
  nn::Random rng(42);
  const auto x = random_vector<Scalar>(g.batch * g.in_h * g.in_w * g.in_c, rng);
  const auto w = random_vector<Scalar>(g.kernel_h * g.kernel_w * g.in_c * g.out_c, rng);
  const auto b = random_vector<Scalar>(g.out_c, rng);
  const auto gy = random_vector<Scalar>(g.batch * g.out_h * g.out_w * g.out_c, rng);
  const auto expected = reference(g, x, w, b, gy);

  namespace k = nn::detail::kernels;
  std::vector<Scalar> y(gy.size()), dx(x.size()), rotated(w.size()), dw(w.size()), db(b.size());
  std::vector<Scalar> workspace(
      static_cast<std::size_t>(k::conv2d_backward_workspace(g, nn::num_threads())));
  k::conv2d_forward(g, x.data(), w.data(), b.data(), true, y.data());
  k::rotate_kernel(g, w.data(), rotated.data());
  k::conv2d_backward(g, x.data(), gy.data(), static_cast<const Scalar*>(nullptr), w.data(),
                     rotated.data(), dw.data(), db.data(), dx.data(), workspace.data());
  check_close(y, expected.y, tolerance, "output");
  check_close(dx, expected.dx, tolerance, "input gradient");
  check_close(dw, expected.dw, tolerance, "kernel gradient");
  check_close(db, expected.db, tolerance, "bias gradient");

  // The input gradient alone gives the same values.
  std::vector<Scalar> dx_alone(x.size());
  k::conv2d_input_grad(g, gy.data(), w.data(), rotated.data(), dx_alone.data());
  CHECK(dx_alone == dx);
}

}  // namespace

TEST_CASE("Direct convolution sums each same-padded 3x3 window by hand") {
  // Input 1..9 in a 3x3 single-channel image, an all-ones kernel: each output is the sum of
  // the window's pixels inside the image.
  const ConvGeometry g = geometry(1, 3, 3, 1, 1, 3, 1, true);
  const std::vector<float> x{1, 2, 3, 4, 5, 6, 7, 8, 9};
  const std::vector<float> w(9, 1.0f);
  const std::vector<float> b{-20.0f};
  std::vector<float> y(9);
  nn::detail::kernels::conv2d_forward(g, x.data(), w.data(), b.data(), true, y.data());
  // Window sums 12 21 16 / 27 45 33 / 24 39 28, minus 20, then ReLU.
  CHECK(y == std::vector<float>{0, 1, 0, 7, 25, 13, 4, 19, 8});
}

TEST_CASE("Direct convolution and its gradients match the definition in double precision") {
  SUBCASE("one input channel, wide rows") {
    check_against_definition<double>(geometry(2, 4, 41, 1, 8, 3, 1, true), 1e-12);
  }
  SUBCASE("three input channels, odd filter count") {
    check_against_definition<double>(geometry(2, 5, 37, 3, 21, 3, 1, true), 1e-12);
  }
  SUBCASE("many filters") {
    check_against_definition<double>(geometry(1, 4, 9, 5, 70, 3, 1, true), 1e-12);
  }
  SUBCASE("even kernel, same padding") {
    check_against_definition<double>(geometry(2, 6, 7, 4, 9, 4, 1, true), 1e-12);
  }
  SUBCASE("valid padding") {
    check_against_definition<double>(geometry(2, 7, 8, 3, 12, 3, 1, false), 1e-12);
  }
  SUBCASE("stride 2, same padding") {
    check_against_definition<double>(geometry(2, 7, 9, 3, 17, 3, 2, true), 1e-12);
  }
  SUBCASE("stride 3, valid padding, 5x5 kernel") {
    check_against_definition<double>(geometry(1, 11, 12, 2, 5, 5, 3, false), 1e-12);
  }
  SUBCASE("kernel wider than the image") {
    check_against_definition<double>(geometry(1, 2, 2, 2, 3, 5, 1, true), 1e-12);
  }
}

TEST_CASE("Direct convolution and its gradients match the definition in single precision") {
  SUBCASE("the first layer's channel counts") {
    check_against_definition<float>(geometry(2, 6, 40, 3, 16, 3, 1, true), 1e-4);
  }
  SUBCASE("the second layer's channel counts") {
    check_against_definition<float>(geometry(2, 5, 33, 16, 32, 3, 1, true), 1e-4);
  }
  SUBCASE("the third layer's channel counts") {
    check_against_definition<float>(geometry(2, 5, 11, 32, 64, 3, 1, true), 1e-4);
  }
  SUBCASE("three packets and a remainder") {
    check_against_definition<float>(geometry(1, 4, 30, 6, 53, 3, 1, true), 1e-4);
  }
}

TEST_CASE("Direct backward with a ReLU mask ignores gradients where the output is zero") {
  namespace k = nn::detail::kernels;
  const ConvGeometry g = geometry(2, 4, 29, 3, 16, 3, 1, true);
  nn::Random rng(7);
  const auto x = random_vector<float>(g.batch * g.in_h * g.in_w * g.in_c, rng);
  const auto gy = random_vector<float>(g.batch * g.out_h * g.out_w * g.out_c, rng);
  auto mask = random_vector<float>(static_cast<Index>(gy.size()), rng);
  for (auto& m : mask) m = m < 0 ? 0.0f : m;  // a ReLU output: zeros and positive values
  std::vector<float> masked(gy.size());
  for (std::size_t i = 0; i < gy.size(); ++i) masked[i] = mask[i] > 0 ? gy[i] : 0.0f;

  const auto w = random_vector<float>(g.kernel_h * g.kernel_w * g.in_c * g.out_c, rng);
  std::vector<float> rotated(w.size());
  k::rotate_kernel(g, w.data(), rotated.data());
  std::vector<float> dw_fused(w.size()), db_fused(16), dx_fused(x.size());
  std::vector<float> dw_plain(w.size()), db_plain(16), dx_plain(x.size());
  std::vector<float> workspace(
      static_cast<std::size_t>(k::conv2d_backward_workspace(g, nn::num_threads())));
  k::conv2d_backward(g, x.data(), gy.data(), mask.data(), w.data(), rotated.data(),
                     dw_fused.data(), db_fused.data(), dx_fused.data(), workspace.data());
  k::conv2d_backward(g, x.data(), masked.data(), static_cast<const float*>(nullptr), w.data(),
                     rotated.data(), dw_plain.data(), db_plain.data(), dx_plain.data(),
                     workspace.data());
  CHECK(dw_fused == dw_plain);
  CHECK(db_fused == db_plain);
  CHECK(dx_fused == dx_plain);

  // Without an input gradient the kernel and bias gradients stay the same.
  std::vector<float> dw_only(w.size()), db_only(16);
  k::conv2d_backward(g, x.data(), gy.data(), mask.data(), w.data(), rotated.data(),
                     dw_only.data(), db_only.data(), static_cast<float*>(nullptr),
                     workspace.data());
  CHECK(dw_only == dw_plain);
  CHECK(db_only == db_plain);
}

TEST_CASE("Direct backward adds into the gradients and is the same for any thread count") {
  namespace k = nn::detail::kernels;
  const ConvGeometry g = geometry(5, 6, 13, 4, 24, 3, 1, true);
  nn::Random rng(9);
  const auto x = random_vector<float>(g.batch * g.in_h * g.in_w * g.in_c, rng);
  const auto gy = random_vector<float>(g.batch * g.out_h * g.out_w * g.out_c, rng);
  const auto w = random_vector<float>(9 * g.in_c * g.out_c, rng);
  std::vector<float> rotated(w.size());
  k::rotate_kernel(g, w.data(), rotated.data());
  std::vector<float> workspace(static_cast<std::size_t>(k::conv2d_backward_workspace(g, 4)));

  // Returns dw and db after `times` calls, followed by dx.
  auto run = [&](int threads, int times) {
    const int before = nn::num_threads();
    nn::set_num_threads(threads);
    std::vector<float> dw(w.size()), db(24), dx(x.size());
    for (int t = 0; t < times; ++t) {
      k::conv2d_backward(g, x.data(), gy.data(), gy.data(), w.data(), rotated.data(), dw.data(),
                         db.data(), dx.data(), workspace.data());
    }
    nn::set_num_threads(before);
    dw.insert(dw.end(), db.begin(), db.end());
    dw.insert(dw.end(), dx.begin(), dx.end());
    return dw;
  };
  const auto one = run(1, 1);
  CHECK(run(2, 1) == one);
  CHECK(run(3, 1) == one);
  const auto twice = run(2, 2);
  const std::size_t gradients = w.size() + 24;
  for (std::size_t i = 0; i < gradients; ++i) CHECK(twice[i] == doctest::Approx(2 * one[i]));
  for (std::size_t i = gradients; i < one.size(); ++i) CHECK(twice[i] == one[i]);
}
