#!/usr/bin/env bash
# Install what the browser-viewer test needs besides the venv's packages: Debian's Chromium (headless, driven by the
# venv's Playwright; Playwright's own browser download is not used).
#
# Usage: scripts/install_viewer_deps.sh [VENV]   (default: .venv). Idempotent; without apt (not Debian) it only warns.
set -euo pipefail

VENV="${1:-.venv}"
sudo_if_needed() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

if ! command -v chromium >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        echo "== apt: chromium (headless browser for the viser viewer test)"
        sudo_if_needed apt-get update -qq
        sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
    else
        echo "install_viewer_deps: no apt-get; install Chromium and set NAVILA_CHROMIUM=/path/to/chromium" >&2
        exit 0
    fi
fi
"$VENV/bin/python" -c "import playwright, viser, rerun" && echo "viewer deps ok: $(command -v chromium)"
