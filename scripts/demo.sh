#!/usr/bin/env bash
# The main job with its defaults: set up, build, run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
build/examples/tensor_demo
