#!/usr/bin/env bash
# Install everything hwbnn needs on a fresh Debian machine with Python 3.11:
# Icarus Verilog from Debian (when missing), then hwbnn with its pinned Python dependencies.
# Usage: bash scripts/install.sh   (run from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v iverilog >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq iverilog >/dev/null
  else
    sudo apt-get update -qq && sudo apt-get install -y -qq iverilog >/dev/null
  fi
fi
python3 -m pip install -q torch==2.13.0
python3 -m pip install -q -e '.[dev]'
