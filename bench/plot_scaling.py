#!/usr/bin/python3
"""Plots evaluation time against lines (1 and 2 threads) from eval_bench's JSON.

usage: /usr/bin/python3 bench/plot_scaling.py bench/results/eval.json bench/results/scaling.png
"""
import json
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(src: str, out: str) -> None:
    with open(src) as f:
        data = json.load(f)
    series = {}
    for b in data["benchmarks"]:
        m = re.search(r"lines:(\d+)/threads:(\d+)", b["name"])
        if not m or b.get("run_type") == "aggregate" or not b["name"].startswith("BM_EvaluateExample"):
            continue
        lines, threads = int(m.group(1)), int(m.group(2))
        seconds = b["real_time"] / 1000.0 if b["time_unit"] == "ms" else b["real_time"]
        series.setdefault(threads, []).append((lines, seconds))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for threads, pts in sorted(series.items()):
        pts.sort()
        ax.plot([p[0] / 1e6 for p in pts], [p[1] for p in pts], marker="o", label=f"{threads} thread(s)")
    ax.plot([0, 10], [0, 0.5], linestyle="--", color="grey", label="goal: 20M lines/s")
    ax.set_xlabel("claim lines (millions)")
    ax.set_ylabel("bind + evaluate (s)")
    ax.set_title("Example rule set: evaluation time vs lines")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
