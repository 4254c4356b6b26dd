#!/usr/bin/env bash
# Installs, from Debian's archive, whatever lamppost needs that this machine lacks, plus any
# packages named as arguments (bench/compare adds python3-torch). Run as root on Debian 12; does
# nothing (and needs no network) when everything is already there.
set -euo pipefail

packages=(
  g++ make cmake           # toolchain (CMake >= 3.25)
  libxsimd-dev             # SIMD batches
  libfmt-dev               # formatting
  zlib1g-dev               # gzip, for the compressed IDX files in data/
  dataset-fashion-mnist    # Fashion-MNIST's IDX files, read by data/fashion_mnist.h
  libcli11-dev             # the lamppost program's flags (header-only)
  nlohmann-json3-dev       # the lamppost program's results.json
  gnuplot-nox              # the report's plots; the program still writes data and report without it
  libgtest-dev             # tests
  libbenchmark-dev         # benchmarks
  libopenblas-dev          # only the GEMM benchmark's comparator; the library never links it
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: installing packages needs root (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
