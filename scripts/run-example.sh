#!/usr/bin/env bash
# The main job on bundled example data: installs what is missing, builds the
# `sanad` CLI (Release, -O3), compiles examples/outpatient.sanad, evaluates
# examples/claims.ndjson, prints the summary and writes verdicts, hits and
# the summary to out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
cmake --build build/release --target sanad
mkdir -p out
./build/release/cli/sanad check examples/outpatient.sanad examples/claims.ndjson \
  --ref mri=examples/mri.csv --ref tariff=examples/tariff.csv --ref ptp=examples/ptp.csv \
  --verdicts out/verdicts.csv --hits out/hits.csv --summary out/summary.json --timings
echo
echo "wrote out/verdicts.csv, out/hits.csv and out/summary.json"
