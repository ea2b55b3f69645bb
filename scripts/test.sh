#!/usr/bin/env bash
# Builds and runs every test: the Release suite (with the find_package consumer test), the same
# suite under AddressSanitizer and UndefinedBehaviorSanitizer, and a short run of each fuzzer.
# The Release suite is compiled for this machine's processor (-march=native), so it tests the
# vector kernels that the example runs; the sanitizer suite is portable and tests the fallbacks.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DNN_BUILD_BENCHMARKS=ON -DNN_NATIVE=ON
cmake --build build/release -j"$jobs"

cmake -S . -B build/sanitize -DCMAKE_BUILD_TYPE=Debug -DNN_SANITIZE=ON -DNN_BUILD_EXAMPLES=OFF \
  -DNN_INSTALL=OFF -DCMAKE_CXX_FLAGS=-O1
cmake --build build/sanitize -j"$jobs" --target nn_tests
(cd build/sanitize/tests && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ./nn_tests)

if [ -f tests/fuzz/CMakeLists.txt ]; then
  CXX=clang++ cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNN_BUILD_FUZZERS=ON \
    -DNN_BUILD_TESTS=OFF -DNN_BUILD_EXAMPLES=OFF -DNN_INSTALL=OFF
  cmake --build build/fuzz -j"$jobs"
  bash tests/fuzz/run_all.sh build/fuzz 30
fi

# The Release suite runs last, so its ctest summary closes the output.
ctest --test-dir build/release --output-on-failure -j"$jobs"
