#!/usr/bin/env bash
# Builds Release and runs every benchmark; JSON goes to bench/results/, the
# scaling plot to bench/results/scaling.png; then the DuckDB peer comparison
# (bench/peers/run.sh, npm installs @duckdb/node-api), then sanad.dask (bench/dask_bench.py). About 35 minutes on 2 cores
# and up to 13 GB of memory (the online benchmark holds 10M lines of history).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
cmake --build build/release --target ingest_bench eval_bench dsl_bench kernel_bench dated_bench online_bench _sanad sanad
mkdir -p bench/results
./build/release/bench/ingest_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_out=bench/results/ingest.json --benchmark_out_format=json
./build/release/bench/dsl_bench --benchmark_out=bench/results/dsl.json --benchmark_out_format=json
./build/release/bench/eval_bench --benchmark_out=bench/results/eval.json --benchmark_out_format=json
/usr/bin/python3 bench/plot_scaling.py bench/results/eval.json bench/results/scaling.png
./build/release/bench/kernel_bench --benchmark_out=bench/results/kernel.json --benchmark_out_format=json
./build/release/bench/dated_bench --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \
  --benchmark_report_aggregates_only=true --benchmark_out=bench/results/dated.json --benchmark_out_format=json
./build/release/bench/online_bench --benchmark_out=bench/results/online.json --benchmark_out_format=json
PYTHONPATH=build/release/python /usr/bin/python3 bench/python_overhead.py
bash bench/peers/run.sh 1000000 2
bash bench/peers/run.sh 10000000 2
# sanad.dask against one process, 1M lines, LocalCluster of 1 and 2 workers (about 8 minutes)
PYTHONPATH=build/release/python /usr/bin/python3 bench/dask_bench.py --lines 1000000 --runs 3 | tee bench/results/dask.txt
