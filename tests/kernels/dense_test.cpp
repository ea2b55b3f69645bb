// Tests of nn/kernels/dense.hpp: the blocked products against plain loops.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "nn/core/random.hpp"
#include "nn/core/threads.hpp"
#include "nn/kernels/dense.hpp"

namespace {

using nn::Index;

std::vector<double> random_vector(Index size, nn::Random& rng) {
  std::vector<double> v(static_cast<std::size_t>(size));
  for (auto& x : v) x = rng.uniform(-1.0, 1.0);
  return v;
}

}  // namespace

namespace {

// F and U are not multiples of the block extents, so partial blocks are exercised.
void check_against_loops(Index n) {
  const Index f = 1100, u = 70;
  nn::Random rng(3);
  const auto x = random_vector(n * f, rng), w = random_vector(f * u, rng);
  const auto b = random_vector(u, rng), g = random_vector(n * u, rng);

  std::vector<double> y(static_cast<std::size_t>(n * u));
  nn::detail::kernels::dense_forward(x.data(), w.data(), b.data(), true, n, f, u, y.data());
  for (Index r = 0; r < n; ++r) {
    for (Index c = 0; c < u; ++c) {
      double sum = b[c];
      for (Index i = 0; i < f; ++i) sum += x[r * f + i] * w[i * u + c];
      CHECK(y[r * u + c] == doctest::Approx(std::max(0.0, sum)).epsilon(1e-12));
    }
  }

  // The kernel gradient is added to what is there (here 1), the input gradient overwritten.
  std::vector<double> dw(w.size(), 1.0), db(b.size(), 1.0), dx(x.size(), 5.0);
  std::vector<double> workspace(
      static_cast<std::size_t>(nn::detail::kernels::dense_backward_workspace(n, u)));
  nn::detail::kernels::dense_backward(x.data(), w.data(), g.data(), n, f, u, dw.data(),
                                      db.data(), dx.data(), workspace.data());
  for (Index i = 0; i < f; i += 37) {
    for (Index c = 0; c < u; ++c) {
      double sum = 1.0;
      for (Index r = 0; r < n; ++r) sum += x[r * f + i] * g[r * u + c];
      CHECK(dw[i * u + c] == doctest::Approx(sum).epsilon(1e-12));
    }
  }
  for (Index c = 0; c < u; ++c) {
    double sum = 1.0;
    for (Index r = 0; r < n; ++r) sum += g[r * u + c];
    CHECK(db[c] == doctest::Approx(sum).epsilon(1e-12));
  }
  for (Index r = 0; r < n; ++r) {
    for (Index i = 0; i < f; i += 13) {
      double sum = 0;
      for (Index c = 0; c < u; ++c) sum += g[r * u + c] * w[i * u + c];
      CHECK(dx[r * f + i] == doctest::Approx(sum).epsilon(1e-12));
    }
  }
}

}  // namespace

TEST_CASE("Dense kernels match plain loops across block boundaries") {
  SUBCASE("a batch smaller than a register tile") { check_against_loops(3); }
  SUBCASE("a batch of whole tiles and a remainder") { check_against_loops(37); }
}

TEST_CASE("Dense kernels give the same result for any thread count") {
  const Index n = 4, f = 1500, u = 130;
  nn::Random rng(4);
  std::vector<float> x(static_cast<std::size_t>(n * f)), w(static_cast<std::size_t>(f * u));
  std::vector<float> g(static_cast<std::size_t>(n * u));
  for (auto* v : {&x, &w, &g}) {
    for (auto& e : *v) e = static_cast<float>(rng.uniform(-1.0, 1.0));
  }
  auto run = [&](int threads) {
    const int before = nn::num_threads();
    nn::set_num_threads(threads);
    std::vector<float> y(static_cast<std::size_t>(n * u)), dw(w.size()), dx(x.size());
    std::vector<float> workspace(
        static_cast<std::size_t>(nn::detail::kernels::dense_backward_workspace(n, u)));
    nn::detail::kernels::dense_forward(x.data(), w.data(), static_cast<const float*>(nullptr),
                                       false, n, f, u, y.data());
    nn::detail::kernels::dense_backward(x.data(), w.data(), g.data(), n, f, u, dw.data(),
                                        static_cast<float*>(nullptr), dx.data(),
                                        workspace.data());
    nn::set_num_threads(before);
    y.insert(y.end(), dw.begin(), dw.end());
    y.insert(y.end(), dx.begin(), dx.end());
    return y;
  };
  const auto one = run(1);
  CHECK(run(2) == one);
  CHECK(run(3) == one);
}
