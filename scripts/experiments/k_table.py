#!/usr/bin/env python3
"""The proposed k per folder and seed from the pipeline's own summaries, beside what
HDBSCAN's count and the silhouette alone would propose, and the k most seeds propose.

Reads `RUNS/FOLDER/seed-S/kmeans-umap/summary.json` of `scripts/pipeline.sh --images`
runs (or `scripts/experiments/k_experiments.sh`). The class count comes from the folder's name
(`fm5`, `hold4`, `r2027-3-4c` of `scripts/experiments/k_folders.py`); the last row counts the runs
whose k equals it (fm10 left out: no criterion is meant to find its ten), and in
brackets those within ±1. Prints a Markdown table (docs/RESULTS.md, "A k you can trust").

    python3 scripts/experiments/k_table.py --runs artifacts/kr --seeds 72,1,2
"""
import argparse
import json
import os
import re
from collections import Counter

CLASSES = {"fm3": 3, "fm5": 5, "fm10": 10, "digits": 10, "tinted3": 3,
           "hold4": 4, "hold5": 5, "hold6": 6}


def silhouette_best(search):
    curve = {p["k"]: p["score"] for p in search["curve"]}
    return max(curve, key=lambda k: (curve[k], -k))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", required=True)
    p.add_argument("--folders", help="comma-separated; default: every folder in --runs")
    p.add_argument("--seeds", default="72,1,2,3,4")
    a = p.parse_args()
    seeds = a.seeds.split(",")
    folders = a.folders.split(",") if a.folders else sorted(
        d for d in os.listdir(a.runs) if os.path.isdir(os.path.join(a.runs, d)))
    columns = ["proposed", "HDBSCAN's count", "silhouette alone"]
    exact, near, runs = [0] * 3, [0] * 3, 0
    majority = [0, 0]
    print("| folder | classes | " + " | ".join(f"{c}, seeds {' / '.join(seeds)}" for c in columns)
          + " | most seeds |")
    print("|---|---|" + "---|" * (len(columns) + 1))
    for folder in folders:
        m = re.search(r"-(\d+)c$", folder)
        classes = int(m.group(1)) if m else CLASSES.get(folder)
        values = [[], [], []]
        for seed in seeds:
            path = os.path.join(a.runs, folder, f"seed-{seed}", "kmeans-umap", "summary.json")
            with open(path) as f:
                s = json.load(f)["k_search"]
            values[0].append(s["best_k"])
            values[1].append((s.get("density") or {}).get("groups"))
            values[2].append(silhouette_best(s))
        top, n = Counter(values[0]).most_common(1)[0]
        most = f"{top} ({n} of {len(seeds)})" if 2 * n > len(seeds) else "none"
        if classes and folder != "fm10":
            runs += len(seeds)
            for i, v in enumerate(values):
                exact[i] += sum(k == classes for k in v)
                near[i] += sum(k is not None and abs(k - classes) <= 1 for k in v)
            majority[0] += 2 * n > len(seeds) and top == classes
            majority[1] += 1
        cells = [" / ".join("–" if k is None else str(k) for k in v) for v in values]
        print(f"| `{folder}` | {classes or '?'} | " + " | ".join(cells) + f" | {most} |")
    print(f"| runs exact (±1) | | " + " | ".join(
        f"{e} of {runs} ({w})" for e, w in zip(exact, near))
        + f" | {majority[0]} of {majority[1]} folders |")


if __name__ == "__main__":
    main()
