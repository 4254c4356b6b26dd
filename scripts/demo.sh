#!/usr/bin/env bash
# The main job with its defaults: set up, build, then `lamppost verify` (arguments are passed on,
# e.g. --strict or --threads 2).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
build/cli/lamppost verify "$@"
