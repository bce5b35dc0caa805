#!/usr/bin/python3
"""Overhead of the Python layer over the C++ evaluation (issue: <= 20%).

Generates LINES claims (default 1,000,000) with `sanad gen`, loads them into a
DataFrame, converts it once with Claims.from_pandas, then times (best of 3):
  engine  - bind + evaluate inside C++ (Result.seconds, no Python work);
  python  - RuleSet.evaluate(claims) + building the verdicts DataFrame
            (best of 3; the first evaluation of a Claims also converts its
            claim_id/provider_id dictionaries, reported separately);
and separately the one-off DataFrame -> Claims conversion. Writes
bench/results/python_overhead.json and prints a table.

Usage: PYTHONPATH=build/release/python /usr/bin/python3 bench/python_overhead.py [LINES]
"""

import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import sanad

ROOT = pathlib.Path(__file__).resolve().parents[1]
CLI = pathlib.Path(sanad.__file__).resolve().parents[2] / "cli" / "sanad"


def best(fn, repeat=3):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main():
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([str(CLI), "gen", "--lines", str(lines), "--seed", "1", "--format", "ndjson", "--out", tmp],
                       check=True, capture_output=True)
        refs = {k: os.path.join(tmp, f"{k}.csv") for k in ("mri", "tariff", "ptp")}
        rules = sanad.compile(ROOT / "examples" / "outpatient.sanad", refs=refs)
        df = sanad.read_ndjson(os.path.join(tmp, "claims.ndjson"), ruleset=rules).to_pandas()
    convert_s, claims = best(lambda: sanad.Claims.from_pandas(df, ruleset=rules), repeat=1)
    report = {"lines": len(claims), "from_pandas_s": convert_s}
    for threads in (1, 2):
        engine_times = []

        def python_side():
            r = rules.evaluate(claims, threads=threads)
            engine_times.append(r.seconds)
            return r.verdicts

        claims._dictionaries.clear()
        first_s, _ = best(python_side, repeat=1)  # pays for the claim/provider categories
        python_s, _ = best(python_side)            # later evaluations of the same claims reuse them
        engine_s = min(engine_times)
        report[f"threads_{threads}"] = {"engine_s": engine_s, "python_s": python_s, "first_python_s": first_s,
                                        "overhead_pct": 100.0 * (python_s - engine_s) / engine_s,
                                        "first_overhead_pct": 100.0 * (first_s - engine_s) / engine_s}
    out = ROOT / "bench" / "results" / "python_overhead.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{report['lines']} lines; DataFrame -> Claims conversion {convert_s:.3f} s (once)")
    print("threads  engine(C++)  evaluate+verdicts(Python)  overhead  (first evaluation of these claims)")
    for threads in (1, 2):
        r = report[f"threads_{threads}"]
        print(f"{threads:7d}  {r['engine_s']:10.3f}s  {r['python_s']:24.3f}s  {r['overhead_pct']:7.1f}%"
              f"  ({r['first_python_s']:.3f}s, {r['first_overhead_pct']:.1f}%)")


if __name__ == "__main__":
    main()
