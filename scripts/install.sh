#!/usr/bin/env bash
# Install everything hwbnn needs on a fresh Debian machine with Python 3.11:
# Icarus Verilog and g++ from Debian (when missing), then hwbnn with its pinned Python dependencies.
# Usage: bash scripts/install.sh   (run from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v iverilog >/dev/null 2>&1 || missing+=(iverilog)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
python3 -m pip install -q torch==2.13.0
python3 -m pip install -q -e '.[dev]'
