#pragma once
/// SIMD packets for nn's kernels, taken from Eigen's packet math.
///
/// Eigen picks the widest packet the compiler may use: 16 floats with AVX-512, 8 with AVX,
/// 4 with SSE, and a plain scalar when vectorisation is off, so every kernel written on these
/// aliases has a portable fallback. Build with -march=native (the NN_NATIVE option of this
/// project) to get AVX-512 or AVX2 with FMA.

#include <Eigen/Core>

#include "nn/core/shape.hpp"

/// Fully unrolls the loop that follows. Register tiles are arrays of packets indexed by loop
/// counters, and compilers keep a tile in registers only when those loops are unrolled: GCC 12
/// left a 24-pixel tile on the stack without this.
#if defined(__clang__)
#define NN_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define NN_UNROLL _Pragma("GCC unroll 32")
#else
#define NN_UNROLL
#endif

namespace nn::detail::kernels {

template <typename Scalar>
using Packet = typename Eigen::internal::packet_traits<Scalar>::type;

/// Number of scalars in one packet.
template <typename Scalar>
constexpr int packet_size = Eigen::internal::unpacket_traits<Packet<Scalar>>::size;

/// Vector registers of the target; register tiles are sized so that they stay in registers.
#if defined(EIGEN_VECTORIZE_AVX512)
constexpr int vector_registers = 32;
#else
constexpr int vector_registers = 16;
#endif

/// Multiply-adds (or comparisons) below which a kernel runs on the calling thread: starting an
/// OpenMP team costs microseconds, more than a small loop, and more still on a busy machine.
constexpr Index min_parallel_work = Index(1) << 15;

/// Runs body(i) for i in [0, count), split statically across the OpenMP team when `parallel`.
/// Otherwise the loop runs on the calling thread without entering a parallel region at all:
/// libgomp allocates a team for every region it enters, even one serialised by an if clause.
template <typename Body>
inline void parallel_for(Index count, bool parallel, Body&& body) {
#ifdef _OPENMP
  if (parallel) {
#pragma omp parallel for schedule(static)
    for (Index i = 0; i < count; ++i) body(i);
    return;
  }
#else
  (void)parallel;
#endif
  for (Index i = 0; i < count; ++i) body(i);
}

template <typename Scalar>
inline Packet<Scalar> load(const Scalar* p) {
  return Eigen::internal::ploadu<Packet<Scalar>>(p);
}

template <typename Scalar>
inline void store(Scalar* p, const Packet<Scalar>& v) {
  Eigen::internal::pstoreu(p, v);
}

template <typename Scalar>
inline Packet<Scalar> broadcast(Scalar x) {
  return Eigen::internal::pset1<Packet<Scalar>>(x);
}

/// a * b + c, one fused multiply-add where the target has FMA.
template <typename P>
inline P madd(const P& a, const P& b, const P& c) {
  return Eigen::internal::pmadd(a, b, c);
}

template <typename P>
inline P add(const P& a, const P& b) {
  return Eigen::internal::padd(a, b);
}

template <typename P>
inline P max(const P& a, const P& b) {
  return Eigen::internal::pmax(a, b);
}

/// v where mask_source > 0, zero elsewhere: the ReLU derivative applied to a gradient.
template <typename P>
inline P where_positive(const P& mask_source, const P& v) {
  const P zero = Eigen::internal::pset1<P>(0);
  return Eigen::internal::pselect(Eigen::internal::pcmp_lt(zero, mask_source), v, zero);
}

}  // namespace nn::detail::kernels
