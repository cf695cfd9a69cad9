#!/usr/bin/env bash
# One-time set-up on a fresh Linux machine: a Python 3.12 venv in .venv with navila-lab and all its extras.
# Idempotent and quick when nothing changed. Usage: bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

find_python312() {
  local candidate
  for candidate in "${NAVILA_PYTHON:-}" python3.12 "$(command -v pyenv >/dev/null && pyenv root)"/versions/3.12*/bin/python3 \
      /root/.pyenv/versions/3.12*/bin/python3 /usr/local/bin/python3.12 /usr/bin/python3.12 python3; do
    [ -n "$candidate" ] || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  return 1
}

if [ ! -x .venv/bin/python ]; then
  PY=$(find_python312) || { echo "setup: Python 3.12 not found; install it or set NAVILA_PYTHON=/path/to/python3.12" >&2; exit 1; }
  echo "setup: creating .venv with $PY"
  "$PY" -m venv .venv
fi

NEEDED_GB=10
stamp=.venv/.navila-setup-$(cat setup.py scripts/setup.sh scripts/install_*_deps.sh 2>/dev/null | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  free_gb=$(df -Pk . | awk 'NR == 2 {print int($4 / 1048576)}')
  if [ "$free_gb" -lt "$NEEDED_GB" ] && ! compgen -G ".venv/lib/python3*/site-packages/torch" >/dev/null; then
    echo "setup: $free_gb GB free here, the venv needs ~$NEEDED_GB GB; free some space and run again" >&2; exit 1
  fi
  export PIP_NO_CACHE_DIR=1  # the wheels (CUDA torch among them) would otherwise take their size again in pip's cache
  .venv/bin/python -m pip install -q --upgrade pip
  echo "setup: installing navila-lab and Isaac Lab 3 (first time: a few minutes, ~9 GB)"
  .venv/bin/python -m pip install -q -e ".[dev,vla,viz]"
  if [ -f scripts/install_robot_deps.sh ]; then bash scripts/install_robot_deps.sh .venv; fi
  bash scripts/install_viewer_deps.sh .venv
  rm -f .venv/.navila-setup-*; touch "$stamp"
fi
