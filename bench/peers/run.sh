#!/usr/bin/env bash
# Side-by-side: Sanad vs DuckDB on the example rule set and the same generated
# CSV. Installs @duckdb/node-api with npm (bench/peers/package.json), generates
# LINES lines (default 1,000,000), runs `sanad check` and the DuckDB SQL
# (duckdb_peer.mjs), refuses to report unless every verdict (status,
# deduction, primary rule) is equal, then prints both times and the ratios.
# usage: bench/peers/run.sh [LINES] [THREADS] [SHAPE]   (SHAPE: mixed or month-end, as `sanad gen --shape`)
set -euo pipefail
cd "$(dirname "$0")/../.."
LINES=${1:-1000000}
THREADS=${2:-2}
SHAPE=${3:-mixed}
bash scripts/install-deps.sh >/dev/null
(cd bench/peers && [ -d node_modules/@duckdb/node-api ] || npm install --no-audit --no-fund --silent)
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
cmake --build build/release --target sanad >/dev/null
SANAD=build/release/cli/sanad
DATA=build/peers/data-$LINES-$SHAPE
if [ ! -f "$DATA/claims.csv" ]; then
  $SANAD gen --lines "$LINES" --seed 1 --format csv --shape "$SHAPE" --out "$DATA" >/dev/null
fi
REFS=(--ref mri="$DATA/mri.csv" --ref tariff="$DATA/tariff.csv" --ref ptp="$DATA/ptp.csv")
# Sanad end to end (compile + reference data, load CSV, evaluate (bind included), write verdicts); best of 3.
best_total=999999; best_eval=999999
for _ in 1 2 3; do
  start=$(date +%s.%N)
  out=$($SANAD check examples/outpatient.sanad "$DATA/claims.csv" "${REFS[@]}" --threads "$THREADS" \
        --verdicts "$DATA/sanad_verdicts.csv" --timings 2>&1 >/dev/null | grep '^timings')
  total=$(echo "$(date +%s.%N) - $start" | bc)
  ev=$(echo "$out" | sed -E 's/.*evaluate ([0-9.]+)s.*/\1/')
  best_total=$(echo "if ($total < $best_total) $total else $best_total" | bc)
  best_eval=$(echo "if ($ev < $best_eval) $ev else $best_eval" | bc)
done
peer=$(node bench/peers/duckdb_peer.mjs "$DATA" "$DATA/sanad_verdicts.csv" "$THREADS")
echo "$peer" > "build/peers/duckdb-$LINES-$SHAPE.json"
/usr/bin/python3 - "$peer" "$best_eval" "$best_total" "$LINES" "$THREADS" "$SHAPE" <<'PY'
import json, sys
peer, sanad_eval, sanad_total, lines, threads, shape = json.loads(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
if peer["mismatches"]:
    print(f"DuckDB and Sanad disagree on {peer['mismatches']} of {peer['lines']} lines, e.g. {peer['first_mismatches']}")
    sys.exit(1)
duck_total = peer["load_s"] + peer["evaluate_s"]
print(f"{peer['lines']} lines, {threads} threads: verdicts equal on every line ({peer['flagged']} flagged, deduction {peer['total_deduction']})")
print(f"evaluation   Sanad {sanad_eval:7.3f} s   DuckDB {peer['evaluate_s']:7.3f} s   DuckDB/Sanad {peer['evaluate_s'] / sanad_eval:5.1f}x")
print(f"end to end   Sanad {sanad_total:7.3f} s   DuckDB {duck_total:7.3f} s   DuckDB/Sanad {duck_total / sanad_total:5.1f}x")
out = {"lines": peer["lines"], "threads": int(threads), "shape": shape, "duckdb": peer, "sanad_evaluate_s": sanad_eval, "sanad_total_s": sanad_total}
suffix = "" if shape == "mixed" else f"_{shape}"
json.dump(out, open(f"bench/results/peer_duckdb_{lines}{suffix}.json", "w"), indent=2)
PY
