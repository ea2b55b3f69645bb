// Throughput of the reference network's layers, training step and inference on one batch.
//
// The reference network is the Keras image-classification tutorial's: Rescaling(1/255), three
// blocks of Conv2D(3x3, same, ReLU) with 16, 32 and 64 filters each followed by MaxPool2D(2),
// Flatten, Dense(128, ReLU) and Dense(23), on batches of 32 images of 180x180x3. Benchmark names
// match the rows of bench/compare_pytorch.py. Every benchmark reports images per second
// (items) and a FLOPS counter that counts a multiply-add as 2 FLOPs (comparisons for pooling).
//
// Run with OMP_NUM_THREADS set to the thread count to compare, e.g.
//   OMP_NUM_THREADS=2 build/perf/bench/layers_bench --benchmark_filter=train_step

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "nn/core/random.hpp"
#include "nn/core/tensor.hpp"
#include "nn/core/threads.hpp"
#include "nn/kernels/conv2d_direct.hpp"
#include "nn/kernels/max_pool.hpp"
#include "nn/layers/dense.hpp"
#include "nn/layers/flatten.hpp"
#include "nn/layers/rescaling.hpp"

namespace {

using nn::Index;

constexpr Index kBatch = 32;
constexpr Index kSize = 180;
constexpr Index kClasses = 23;

struct ConvShape {
  Index h, w, in_c, out_c;
};
constexpr ConvShape kConvs[] = {{180, 180, 3, 16}, {90, 90, 16, 32}, {45, 45, 32, 64}};
constexpr Index kDenseIn = 22 * 22 * 64, kDenseOut = 128;

std::string conv_name(const ConvShape& s) {
  return std::to_string(s.h) + "x" + std::to_string(s.w) + "x" + std::to_string(s.in_c) + "->" +
         std::to_string(s.out_c);
}

/// Multiply-adds of a 3x3 same convolution on a batch, times 2.
double conv_flops(const ConvShape& s) {
  return 2.0 * kBatch * s.h * s.w * 9 * s.in_c * s.out_c;
}

/// Comparisons of a 2x2 max pooling on a batch: 3 per output element.
double pool_flops(const ConvShape& s) { return 3.0 * kBatch * (s.h / 2) * (s.w / 2) * s.out_c; }

double dense_flops() { return 2.0 * kBatch * kDenseIn * kDenseOut; }

void fill_uniform(nn::Tensor<float>& t, nn::Random& rng, double low, double high) {
  for (Index i = 0; i < t.size(); ++i) t[i] = static_cast<float>(rng.uniform(low, high));
}

void report(benchmark::State& state, double flops) {
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["FLOPS"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate,
                                               benchmark::Counter::OneK::kIs1000);
}

/// A 3x3 same Conv2D with fused ReLU on the direct kernels, with its buffers kept across calls.
/// TODO(perf): replace by nn::Conv2D once the layer runs on these kernels.
struct ConvBlock {
  nn::detail::kernels::ConvGeometry g;
  nn::Tensor<float> kernel, bias, dkernel, dbias, rotated, output, dx, workspace;
  const nn::Tensor<float>* input = nullptr;

  ConvBlock(const ConvShape& s, nn::Random& rng) {
    g.batch = kBatch, g.in_h = s.h, g.in_w = s.w, g.in_c = s.in_c;
    g.out_h = s.h, g.out_w = s.w, g.out_c = s.out_c;
    g.kernel_h = g.kernel_w = 3, g.stride = 1, g.pad_top = g.pad_left = 1;
    kernel.resize({3, 3, s.in_c, s.out_c});
    fill_uniform(kernel, rng, -0.2, 0.2);
    bias.resize({s.out_c});
    dkernel.resize(kernel.shape());
    dbias.resize(bias.shape());
    rotated.resize(kernel.shape());
    output.resize({kBatch, s.h, s.w, s.out_c});
    dx.resize({kBatch, s.h, s.w, s.in_c});
    workspace.resize(nn::Shape{nn::detail::kernels::conv2d_backward_workspace(g, nn::num_threads())});
  }

  const nn::Tensor<float>& forward(const nn::Tensor<float>& x) {
    input = &x;
    nn::detail::kernels::conv2d_forward(g, x.data(), kernel.data(), bias.data(), true, output.data());
    return output;
  }

  /// Weight and bias gradients, and the input gradient when want_dx.
  const nn::Tensor<float>& backward(const nn::Tensor<float>& dy, bool want_dx) {
    nn::detail::kernels::rotate_kernel(g, kernel.data(), rotated.data());
    nn::detail::kernels::conv2d_backward(g, input->data(), dy.data(), output.data(),
                                         kernel.data(), rotated.data(), dkernel.data(),
                                         dbias.data(), want_dx ? dx.data() : nullptr,
                                         workspace.data());
    return dx;
  }
};

/// A 2x2 max pooling on the kernels. TODO(perf): replace by nn::MaxPool2D.
struct PoolBlock {
  nn::detail::kernels::PoolGeometry g;
  nn::Tensor<float> output, dx;
  std::vector<std::uint8_t> arg;

  explicit PoolBlock(const ConvShape& s) {
    g.batch = kBatch, g.in_h = s.h, g.in_w = s.w, g.channels = s.out_c;
    g.out_h = s.h / 2, g.out_w = s.w / 2, g.pool = 2, g.stride = 2;
    output.resize({kBatch, g.out_h, g.out_w, s.out_c});
    dx.resize({kBatch, s.h, s.w, s.out_c});
    arg.resize(static_cast<std::size_t>(output.size()));
  }
  const nn::Tensor<float>& forward(const nn::Tensor<float>& x) {
    nn::detail::kernels::max_pool_forward(g, x.data(), output.data(), arg.data());
    return output;
  }
  const nn::Tensor<float>& backward(const nn::Tensor<float>& dy) {
    nn::detail::kernels::max_pool_backward(g, dy.data(), arg.data(), dx.data());
    return dx;
  }
};

void BM_Conv2D_Forward(benchmark::State& state, ConvShape s) {
  nn::Random rng(1);
  ConvBlock conv(s, rng);
  nn::Tensor<float> x(nn::Shape{kBatch, s.h, s.w, s.in_c});
  fill_uniform(x, rng, 0.0, 1.0);
  for (auto _ : state) benchmark::DoNotOptimize(conv.forward(x).data());
  report(state, conv_flops(s));
}

void BM_Conv2D_Backward(benchmark::State& state, ConvShape s) {
  nn::Random rng(2);
  ConvBlock conv(s, rng);
  nn::Tensor<float> x(nn::Shape{kBatch, s.h, s.w, s.in_c}), dy(nn::Shape{kBatch, s.h, s.w, s.out_c});
  fill_uniform(x, rng, 0.0, 1.0);
  fill_uniform(dy, rng, -1.0, 1.0);
  conv.forward(x);
  for (auto _ : state) benchmark::DoNotOptimize(conv.backward(dy, true).data());
  report(state, 2 * conv_flops(s));
}

void BM_MaxPool2D_Forward(benchmark::State& state, ConvShape s) {
  nn::Random rng(3);
  PoolBlock pool(s);
  nn::Tensor<float> x(nn::Shape{kBatch, s.h, s.w, s.out_c});
  fill_uniform(x, rng, 0.0, 1.0);
  for (auto _ : state) benchmark::DoNotOptimize(pool.forward(x).data());
  report(state, pool_flops(s));
}

void BM_MaxPool2D_Backward(benchmark::State& state, ConvShape s) {
  nn::Random rng(4);
  PoolBlock pool(s);
  nn::Tensor<float> x(nn::Shape{kBatch, s.h, s.w, s.out_c});
  fill_uniform(x, rng, 0.0, 1.0);
  const auto& y = pool.forward(x);
  nn::Tensor<float> dy(y.shape());
  fill_uniform(dy, rng, -1.0, 1.0);
  for (auto _ : state) benchmark::DoNotOptimize(pool.backward(dy).data());
  report(state, pool_flops(s));
}

void BM_Dense_Forward(benchmark::State& state) {
  nn::Random rng(5);
  nn::Dense<float> dense(kDenseOut, nn::Activation::ReLU);
  dense.build({kDenseIn}, rng);
  nn::Tensor<float> x(nn::Shape{kBatch, kDenseIn});
  fill_uniform(x, rng, 0.0, 1.0);
  for (auto _ : state) benchmark::DoNotOptimize(dense.forward(x, nn::Mode::Infer).data());
  report(state, dense_flops());
}

void BM_Dense_Backward(benchmark::State& state) {
  nn::Random rng(6);
  nn::Dense<float> dense(kDenseOut, nn::Activation::ReLU);
  dense.build({kDenseIn}, rng);
  nn::Tensor<float> x(nn::Shape{kBatch, kDenseIn}), dy(nn::Shape{kBatch, kDenseOut});
  fill_uniform(x, rng, 0.0, 1.0);
  fill_uniform(dy, rng, -1.0, 1.0);
  dense.forward(x, nn::Mode::Train);
  for (auto _ : state) benchmark::DoNotOptimize(dense.backward(dy).data());
  report(state, 2 * dense_flops());
}

/// The reference network, composed by hand from the layers and kernels.
/// TODO(perf): replace by nn::Sequential with Adam and the loss once they exist.
struct Network {
  nn::Random rng{7};
  nn::Rescaling<float> rescale{1.0 / 255.0};
  ConvBlock c1{kConvs[0], rng}, c2{kConvs[1], rng}, c3{kConvs[2], rng};
  PoolBlock p1{kConvs[0]}, p2{kConvs[1]}, p3{kConvs[2]};
  nn::Flatten<float> flatten;
  nn::Dense<float> d1{kDenseOut, nn::Activation::ReLU}, d2{kClasses};
  std::vector<nn::Parameter<float>> params;
  std::vector<nn::Tensor<float>> m, v;
  nn::Tensor<float> dlogits;
  std::int64_t step = 0;

  Network() {
    rescale.build({kSize, kSize, 3}, rng);
    flatten.build({22, 22, 64}, rng);
    d1.build({kDenseIn}, rng);
    d2.build({kDenseOut}, rng);
    for (ConvBlock* c : {&c1, &c2, &c3}) {
      params.push_back({"kernel", &c->kernel, &c->dkernel});
      params.push_back({"bias", &c->bias, &c->dbias});
    }
    for (auto* d : {&d1, &d2}) {
      for (auto& p : d->parameters()) params.push_back(p);
    }
    for (auto& p : params) {
      m.emplace_back(p.value->shape());
      v.emplace_back(p.value->shape());
    }
  }

  const nn::Tensor<float>& forward(const nn::Tensor<float>& images, nn::Mode mode) {
    const auto& a = p1.forward(c1.forward(rescale.forward(images, mode)));
    const auto& b = p2.forward(c2.forward(a));
    const auto& c = p3.forward(c3.forward(b));
    return d2.forward(d1.forward(flatten.forward(c, mode), mode), mode);
  }

  void train_step(const nn::Tensor<float>& images, const std::vector<std::int32_t>& labels) {
    for (auto& p : params) p.grad->set_zero();
    const auto& logits = forward(images, nn::Mode::Train);

    // Softmax cross-entropy gradient: (softmax - one_hot) / N.
    dlogits.resize(logits.shape());
    for (Index i = 0; i < kBatch; ++i) {
      const float* z = logits.data() + i * kClasses;
      float* d = dlogits.data() + i * kClasses;
      float max = z[0], sum = 0;
      for (Index j = 1; j < kClasses; ++j) max = std::max(max, z[j]);
      for (Index j = 0; j < kClasses; ++j) sum += d[j] = std::exp(z[j] - max);
      for (Index j = 0; j < kClasses; ++j) d[j] /= sum * kBatch;
      d[labels[static_cast<std::size_t>(i)]] -= 1.0f / kBatch;
    }

    const auto& g_flat = d1.backward(d2.backward(dlogits));
    const auto& g3 = p3.backward(flatten.backward(g_flat));
    const auto& g2 = p2.backward(c3.backward(g3, true));
    const auto& g1 = p1.backward(c2.backward(g2, true));
    c1.backward(g1, false);

    // Adam with Keras' defaults.
    ++step;
    const double alpha = 1e-3 * std::sqrt(1.0 - std::pow(0.999, step)) / (1.0 - std::pow(0.9, step));
    for (std::size_t k = 0; k < params.size(); ++k) {
      float* w = params[k].value->data();
      const float* g = params[k].grad->data();
      float* mk = m[k].data();
      float* vk = v[k].data();
      const Index size = params[k].value->size();
      const auto a = static_cast<float>(alpha);
#pragma omp parallel for schedule(static)
      for (Index i = 0; i < size; ++i) {
        mk[i] += 0.1f * (g[i] - mk[i]);
        vk[i] += 0.001f * (g[i] * g[i] - vk[i]);
        w[i] -= a * mk[i] / (std::sqrt(vk[i]) + 1e-7f);
      }
    }
  }
};

double network_forward_flops() {
  double flops = 0;
  for (const auto& s : kConvs) flops += conv_flops(s);
  return flops + dense_flops() + 2.0 * kBatch * kDenseOut * kClasses;
}

/// Forward, the backward passes (all but the first convolution's input gradient) and Adam.
double network_train_flops() {
  return 3 * network_forward_flops() - conv_flops(kConvs[0]);
}

void make_batch(nn::Tensor<float>& images, std::vector<std::int32_t>& labels) {
  nn::Random rng(8);
  images.resize({kBatch, kSize, kSize, 3});
  fill_uniform(images, rng, 0.0, 255.0);
  labels.resize(kBatch);
  for (auto& l : labels) l = static_cast<std::int32_t>(rng.below(kClasses));
}

void BM_train_step(benchmark::State& state) {
  Network net;
  nn::Tensor<float> images;
  std::vector<std::int32_t> labels;
  make_batch(images, labels);
  net.train_step(images, labels);
  for (auto _ : state) net.train_step(images, labels);
  report(state, network_train_flops());
}

void BM_inference(benchmark::State& state) {
  Network net;
  nn::Tensor<float> images;
  std::vector<std::int32_t> labels;
  make_batch(images, labels);
  for (auto _ : state) benchmark::DoNotOptimize(net.forward(images, nn::Mode::Infer).data());
  report(state, network_forward_flops());
}

}  // namespace

int main(int argc, char** argv) {
  auto add = [](const std::string& name, auto&& fn) {
    benchmark::RegisterBenchmark(name.c_str(), fn)->UseRealTime()->Unit(benchmark::kMillisecond);
  };
  for (const auto& s : kConvs) {
    add("BM_Conv2D_Forward/" + conv_name(s), [s](benchmark::State& st) { BM_Conv2D_Forward(st, s); });
    add("BM_Conv2D_Backward/" + conv_name(s), [s](benchmark::State& st) { BM_Conv2D_Backward(st, s); });
  }
  for (const auto& s : kConvs) {
    const std::string name = std::to_string(s.h) + "x" + std::to_string(s.w) + "x" +
                             std::to_string(s.out_c);
    add("BM_MaxPool2D_Forward/" + name, [s](benchmark::State& st) { BM_MaxPool2D_Forward(st, s); });
    add("BM_MaxPool2D_Backward/" + name, [s](benchmark::State& st) { BM_MaxPool2D_Backward(st, s); });
  }
  add("BM_Dense_Forward/30976->128", BM_Dense_Forward);
  add("BM_Dense_Backward/30976->128", BM_Dense_Backward);
  add("BM_train_step", BM_train_step);
  add("BM_inference", BM_inference);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
