#!/usr/bin/env bash
# Installs the Debian 12 packages that building, testing and benchmarking nn need. Run as root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
  build-essential cmake \
  libeigen3-dev libstb-dev doctest-dev libbenchmark-dev libomp-dev \
  clang libclang-rt-14-dev fonts-dejavu-core
