#!/usr/bin/env bash
# Builds pet_breeds in Release mode for this machine's processor (-march=native) and trains it
# on the photos shipped in the repository.
# Extra arguments go to `pet_breeds train`, e.g. --epochs 3.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DNN_NATIVE=ON
cmake --build build/release -j"$(nproc)" --target pet_breeds
exec build/release/examples/pet_breeds/pet_breeds train "$@"
