#!/usr/bin/env bash
# Set up if needed, then run the whole test suite, one test file per pytest-xdist worker (at most 4: every simulation
# test builds its own Isaac Lab world). Extra arguments go to pytest (e.g. -n 0 runs in this process).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest -n auto --maxprocesses 4 --dist loadfile "$@"
