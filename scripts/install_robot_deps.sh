#!/usr/bin/env bash
# Install the robot-side dependencies (CycloneDDS 0.10.x + unitree_sdk2py) into a Python 3.12 venv.
#
# Usage: scripts/install_robot_deps.sh [VENV]   (default: .venv)
#
# Recipe (docs/reference.md §5): Debian's cyclonedds-dev (0.10.2) provides the C library; the Python binding
# cyclonedds==0.10.5 is built against it through a CYCLONEDDS_HOME prefix whose include/lib/bin link to the system
# ones; unitree-sdk2py-dimos==1.0.3 is installed without dependencies (it would otherwise pull opencv and an
# unpinned cyclonedds). Idempotent: each step is skipped when its result is already there.
set -euo pipefail

VENV="${1:-.venv}"
PY="$VENV/bin/python"
CYCLONEDDS_PIN="0.10.5"
SDK_PIN="1.0.3"
HOME_PREFIX="${CYCLONEDDS_HOME:-/opt/cyclonedds-system}"

[[ -x "$PY" ]] || { echo "install_robot_deps: no Python at $PY (create the venv first)" >&2; exit 2; }

sudo_if_needed() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

if ! dpkg -s cyclonedds-dev >/dev/null 2>&1; then
    echo "== apt: cyclonedds-dev"
    sudo_if_needed apt-get update -qq
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cyclonedds-dev cyclonedds-tools
fi

multiarch="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)"
if [[ ! -e "$HOME_PREFIX/lib/libddsc.so" ]]; then
    echo "== CYCLONEDDS_HOME prefix at $HOME_PREFIX"
    sudo_if_needed mkdir -p "$HOME_PREFIX"
    sudo_if_needed ln -sfn /usr/include "$HOME_PREFIX/include"
    sudo_if_needed ln -sfn "/usr/lib/$multiarch" "$HOME_PREFIX/lib"
    sudo_if_needed ln -sfn /usr/bin "$HOME_PREFIX/bin"
fi

installed() { "$PY" -c "import importlib.metadata as m, sys; sys.exit(m.version('$1') != '$2')" 2>/dev/null; }

if ! installed cyclonedds "$CYCLONEDDS_PIN"; then
    echo "== pip: cyclonedds==$CYCLONEDDS_PIN (built against the system library)"
    CYCLONEDDS_HOME="$HOME_PREFIX" "$PY" -m pip install -q --no-binary cyclonedds "cyclonedds==$CYCLONEDDS_PIN"
fi

if ! installed unitree-sdk2py-dimos "$SDK_PIN"; then
    echo "== pip: unitree-sdk2py-dimos==$SDK_PIN (no deps)"
    "$PY" -m pip install -q --no-deps "unitree-sdk2py-dimos==$SDK_PIN"
fi

"$PY" - <<'PY'
import importlib.metadata as m

from unitree_sdk2py.core.channel import ChannelFactoryInitialize  # noqa: F401
from unitree_sdk2py.utils.crc import CRC  # noqa: F401

print(f"robot deps ok: cyclonedds {m.version('cyclonedds')}, unitree-sdk2py-dimos {m.version('unitree-sdk2py-dimos')}")
PY
