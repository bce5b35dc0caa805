"""sanad.dask against one process on the example rule set (bench/RESULTS.md,
"Distributed"): `sanad gen` data at --lines lines, CSV; one process
(sanad.read_csv + evaluate) vs sanad.dask on a LocalCluster of 1 and 2
worker processes (one thread each), alternating, --runs times; verdicts
checked equal. Prints one line per run and the medians."""
import argparse, os, statistics, subprocess, sys, time, logging

import pandas as pd
import sanad, sanad.dask
from distributed import Client, LocalCluster


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--data", default="build/dask-bench")
    ap.add_argument("--cli", default="build/release/cli/sanad")
    a = ap.parse_args()
    d = a.data
    if not os.path.exists(f"{d}/claims.csv"):
        os.makedirs(d, exist_ok=True)
        subprocess.run([a.cli, "gen", "--lines", str(a.lines), "--format", "csv", "--shape", "month-end", "--out", d], check=True)
    refs = {n: f"{d}/{n}.csv" for n in ("mri", "tariff", "ptp")}
    rules = sanad.compile("examples/outpatient.sanad", refs=refs)
    size = os.path.getsize(f"{d}/claims.csv")
    times = {"one process": [], "dask 1 worker": [], "dask 2 workers": []}
    for run in range(a.runs):
        t = time.perf_counter()
        claims = sanad.read_csv(f"{d}/claims.csv", ruleset=rules)
        single = rules.evaluate(claims)
        ref = single.verdicts[["deduction"]].to_numpy()
        times["one process"].append(time.perf_counter() - t)
        for workers in (1, 2):
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                              silence_logs=logging.ERROR) as cluster, Client(cluster):
                t = time.perf_counter()
                lines = sanad.dask.read_csv(f"{d}/claims.csv", rules, blocksize=max(1, size // a.partitions))
                res = sanad.dask.evaluate(rules, lines)
                v, h = res.compute()
                times[f"dask {workers} worker" + ("s" if workers > 1 else "")].append(time.perf_counter() - t)
                assert (v[["deduction"]].to_numpy() == ref).all()
        print(run, {k: round(v[-1], 2) for k, v in times.items()}, flush=True)
    print(f"{a.lines} lines, {size / 1e6:.0f} MB CSV, {a.partitions} partitions; medians (s):",
          {k: round(statistics.median(v), 2) for k, v in times.items()})


if __name__ == "__main__":
    main()
