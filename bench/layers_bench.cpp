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

#ifdef _OPENMP
#include <omp.h>
#endif

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "nn/core/random.hpp"
#include "nn/core/tensor.hpp"
#include "nn/kernels/packet.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/layers/dense.hpp"
#include "nn/layers/flatten.hpp"
#include "nn/layers/max_pool2d.hpp"
#include "nn/layers/rescaling.hpp"
#include "nn/model/sequential.hpp"
#include "nn/optimizers/adam.hpp"

// Heap allocations are counted by wrapping glibc's allocator: every malloc-family call of the
// program and its libraries (operator new, Eigen's aligned allocator, OpenMP) goes through these.
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
#define NN_BENCH_COUNTS_ALLOCATIONS 1
#include <atomic>
#include <cerrno>
#include <cstddef>
namespace {
std::atomic<long> g_allocations{0};
}
extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* pointer, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);
void __libc_free(void* pointer);

void* malloc(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(size);
}
void* calloc(std::size_t count, std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(count, size);
}
void* realloc(void* pointer, std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(pointer, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(alignment, size);
}
void* memalign(std::size_t alignment, std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  *out = __libc_memalign(alignment, size);
  return *out ? 0 : ENOMEM;
}
void free(void* pointer) { __libc_free(pointer); }
}
#endif

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

long allocation_count() {
#ifdef NN_BENCH_COUNTS_ALLOCATIONS
  return g_allocations.load();
#else
  return -1;
#endif
}

/// Reports as counter "allocations" the heap allocations per call of `step`, counted over
/// three untimed calls after a first one (-1 where they cannot be counted).
template <typename Step>
void report_allocations(benchmark::State& state, Step step) {
  step();
  const long before = allocation_count();
  for (int i = 0; i < 3; ++i) step();
  const long after = allocation_count();
  state.counters["allocations"] = before < 0 ? -1.0 : static_cast<double>(after - before) / 3.0;
}

void report(benchmark::State& state, double flops) {
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["FLOPS"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate,
                                               benchmark::Counter::OneK::kIs1000);
}

/// Builds a layer for one per-sample input shape.
template <typename LayerT>
LayerT built(LayerT layer, const nn::Shape& input_shape) {
  nn::Random rng(1);
  layer.build(input_shape, rng);
  return layer;
}

nn::Conv2D<float> reference_conv(const ConvShape& s) {
  return built(nn::Conv2D<float>(s.out_c, 3, nn::Padding::Same, nn::Activation::ReLU),
               nn::Shape{s.h, s.w, s.in_c});
}

void BM_Conv2D_Forward(benchmark::State& state, ConvShape s) {
  nn::Random rng(1);
  auto conv = reference_conv(s);
  nn::Tensor<float> x(nn::Shape{kBatch, s.h, s.w, s.in_c});
  fill_uniform(x, rng, 0.0, 1.0);
  benchmark::DoNotOptimize(conv.forward(x, nn::Mode::Infer).data());  // sizes the buffers, untimed
  for (auto _ : state) benchmark::DoNotOptimize(conv.forward(x, nn::Mode::Infer).data());
  report(state, conv_flops(s));
}

/// Kernel, bias and input gradients of Conv2D with its fused ReLU.
void BM_Conv2D_Backward(benchmark::State& state, ConvShape s) {
  nn::Random rng(2);
  auto conv = reference_conv(s);
  nn::Tensor<float> x(nn::Shape{kBatch, s.h, s.w, s.in_c});
  nn::Tensor<float> dy(nn::Shape{kBatch, s.h, s.w, s.out_c});
  fill_uniform(x, rng, -1.0, 1.0);
  fill_uniform(dy, rng, -1.0, 1.0);
  conv.forward(x, nn::Mode::Train);
  benchmark::DoNotOptimize(conv.backward(dy).data());  // sizes the buffers, untimed
  for (auto _ : state) benchmark::DoNotOptimize(conv.backward(dy).data());
  report(state, 2 * conv_flops(s));
}

void BM_MaxPool2D_Forward(benchmark::State& state, ConvShape s) {
  nn::Random rng(3);
  auto pool = built(nn::MaxPool2D<float>(2), nn::Shape{s.h, s.w, s.out_c});
  nn::Tensor<float> x(nn::Shape{kBatch, s.h, s.w, s.out_c});
  fill_uniform(x, rng, 0.0, 1.0);
  benchmark::DoNotOptimize(pool.forward(x, nn::Mode::Train).data());  // sizes the buffers, untimed
  for (auto _ : state) benchmark::DoNotOptimize(pool.forward(x, nn::Mode::Train).data());
  report(state, pool_flops(s));
}

void BM_MaxPool2D_Backward(benchmark::State& state, ConvShape s) {
  nn::Random rng(4);
  auto pool = built(nn::MaxPool2D<float>(2), nn::Shape{s.h, s.w, s.out_c});
  nn::Tensor<float> x(nn::Shape{kBatch, s.h, s.w, s.out_c});
  fill_uniform(x, rng, 0.0, 1.0);
  nn::Tensor<float> dy(pool.forward(x, nn::Mode::Train).shape());
  fill_uniform(dy, rng, -1.0, 1.0);
  benchmark::DoNotOptimize(pool.backward(dy).data());  // sizes the buffers, untimed
  for (auto _ : state) benchmark::DoNotOptimize(pool.backward(dy).data());
  report(state, pool_flops(s));
}

nn::Dense<float> reference_dense() {
  return built(nn::Dense<float>(kDenseOut, nn::Activation::ReLU), nn::Shape{kDenseIn});
}

void BM_Dense_Forward(benchmark::State& state) {
  nn::Random rng(5);
  auto dense = reference_dense();
  nn::Tensor<float> x(nn::Shape{kBatch, kDenseIn});
  fill_uniform(x, rng, 0.0, 1.0);
  benchmark::DoNotOptimize(dense.forward(x, nn::Mode::Infer).data());  // sizes the buffers, untimed
  for (auto _ : state) benchmark::DoNotOptimize(dense.forward(x, nn::Mode::Infer).data());
  report(state, dense_flops());
}

void BM_Dense_Backward(benchmark::State& state) {
  nn::Random rng(6);
  auto dense = reference_dense();
  nn::Tensor<float> x(nn::Shape{kBatch, kDenseIn}), dy(nn::Shape{kBatch, kDenseOut});
  fill_uniform(x, rng, 0.0, 1.0);
  fill_uniform(dy, rng, -1.0, 1.0);
  dense.forward(x, nn::Mode::Train);
  benchmark::DoNotOptimize(dense.backward(dy).data());  // sizes the buffers, untimed
  for (auto _ : state) benchmark::DoNotOptimize(dense.backward(dy).data());
  report(state, 2 * dense_flops());
}

/// The reference network, compiled with Adam and the cross-entropy loss.
nn::Sequential<float> reference_network() {
  nn::Sequential<float> model(
      nn::Shape{kSize, kSize, 3}, 7, nn::Rescaling<float>(1.0 / 255.0),
      nn::Conv2D<float>(16, 3, nn::Padding::Same, nn::Activation::ReLU), nn::MaxPool2D<float>(),
      nn::Conv2D<float>(32, 3, nn::Padding::Same, nn::Activation::ReLU), nn::MaxPool2D<float>(),
      nn::Conv2D<float>(64, 3, nn::Padding::Same, nn::Activation::ReLU), nn::MaxPool2D<float>(),
      nn::Flatten<float>(), nn::Dense<float>(kDenseOut, nn::Activation::ReLU),
      nn::Dense<float>(kClasses));
  model.compile(nn::Adam<float>());
  return model;
}

double network_forward_flops() {
  double flops = 0;
  for (const auto& s : kConvs) flops += conv_flops(s);
  return flops + dense_flops() + 2.0 * kBatch * kDenseOut * kClasses;
}

/// Forward and the backward passes; the first convolution's input gradient is not needed.
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

/// One Sequential::train_on_batch: forward, loss, backward and the Adam update. The counter
/// "allocations" is the number of heap allocations per step after the first step.
void BM_train_step(benchmark::State& state) {
  auto model = reference_network();
  nn::Tensor<float> images;
  std::vector<std::int32_t> labels;
  make_batch(images, labels);
  report_allocations(state, [&] { model.train_on_batch(images, labels); });
  for (auto _ : state) benchmark::DoNotOptimize(model.train_on_batch(images, labels));
  report(state, network_train_flops());
}

/// The forward pass of one batch in inference mode.
void BM_inference(benchmark::State& state) {
  auto model = reference_network();
  nn::Tensor<float> images;
  std::vector<std::int32_t> labels;
  make_batch(images, labels);
  report_allocations(state, [&] { model.forward(images, nn::Mode::Infer); });
  for (auto _ : state) benchmark::DoNotOptimize(model.forward(images, nn::Mode::Infer).data());
  report(state, network_forward_flops());
}

/// Measures the machine's fp32 multiply-add peak: every thread runs independent chains of
/// packet multiply-adds, enough of them to cover the latency of the FMA units.
void BM_FMA_Peak(benchmark::State& state) {
  using P = nn::detail::kernels::Packet<float>;
  constexpr int kChains = 16;
  constexpr Index kSteps = 1 << 20;
  int threads = 1;
  for (auto _ : state) {
#pragma omp parallel
    {
#ifdef _OPENMP
#pragma omp single
      threads = omp_get_num_threads();
#endif
      const P a = nn::detail::kernels::broadcast(0.999999f);
      const P b = nn::detail::kernels::broadcast(1e-6f);
      P acc[kChains];
      for (int c = 0; c < kChains; ++c) acc[c] = nn::detail::kernels::broadcast(float(c));
      for (Index i = 0; i < kSteps; ++i) {
        for (int c = 0; c < kChains; ++c) acc[c] = nn::detail::kernels::madd(acc[c], a, b);
      }
      for (int c = 1; c < kChains; ++c) acc[0] = nn::detail::kernels::add(acc[0], acc[c]);
      benchmark::DoNotOptimize(acc[0]);
    }
  }
  const double flops = 2.0 * threads * kSteps * kChains * nn::detail::kernels::packet_size<float>;
  state.counters["FLOPS"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate,
                                               benchmark::Counter::OneK::kIs1000);
  state.counters["threads"] = threads;
}

}  // namespace

int main(int argc, char** argv) {
  auto add = [](const std::string& name, auto&& fn) {
    benchmark::RegisterBenchmark(name.c_str(), fn)->UseRealTime()->Unit(benchmark::kMillisecond);
  };
  for (const auto& s : kConvs) {
    add("BM_Conv2D_Forward/" + conv_name(s),
        [s](benchmark::State& st) { BM_Conv2D_Forward(st, s); });
    add("BM_Conv2D_Backward/" + conv_name(s),
        [s](benchmark::State& st) { BM_Conv2D_Backward(st, s); });
  }
  for (const auto& s : kConvs) {
    const std::string name = std::to_string(s.h) + "x" + std::to_string(s.w) + "x" +
                             std::to_string(s.out_c);
    add("BM_MaxPool2D_Forward/" + name, [s](benchmark::State& st) { BM_MaxPool2D_Forward(st, s); });
    add("BM_MaxPool2D_Backward/" + name,
        [s](benchmark::State& st) { BM_MaxPool2D_Backward(st, s); });
  }
  add("BM_Dense_Forward/30976->128", BM_Dense_Forward);
  add("BM_Dense_Backward/30976->128", BM_Dense_Backward);
  add("BM_train_step", BM_train_step);
  add("BM_inference", BM_inference);
  add("BM_FMA_Peak", BM_FMA_Peak);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
