#!/usr/bin/env python3
"""The proposed k beside HDBSCAN's number of groups, on the pipeline's own embeddings.

For every folder and seed of a `scripts/experiments/k_experiments.sh` or `scripts/pipeline.sh
--images` run: the k the pipeline proposed (the silhouette of K-Means on the 10-d UMAP
embedding, `kmeans-umap`), and the number of clusters scikit-learn's HDBSCAN (excess of
mass) finds in the same embedding with a smallest cluster of 1 %, 2 % and 5 % of the
images. Prints a Markdown table (docs/RESULTS.md, "A k you can trust").

    .venv/bin/python scripts/experiments/k_hdbscan.py --runs artifacts/k5 --folders fm3,fm5,fm10,digits,tinted3
    .venv/bin/python scripts/experiments/k_hdbscan.py --runs artifacts/kh --folders hold4,hold5,hold6
    .venv/bin/python scripts/experiments/k_hdbscan.py --runs artifacts/kr --seeds 72,1,2   # every folder

A folder of `scripts/experiments/k_folders.py --fresh` names its class count (`r2027-3-4c`). The last
row counts, per column, the runs whose count equals the class count.
"""
import argparse
import json
import os
import re
import sys
import warnings

from sklearn.cluster import HDBSCAN

sys.path.insert(0, os.path.dirname(__file__))
from k_alternatives import load  # noqa: E402

CLASSES = {"fm3": 3, "fm5": 5, "fm10": 10, "digits": 10, "tinted3": 3,
           "hold4": 4, "hold5": 5, "hold6": 6}
FRACTIONS = (0.01, 0.02, 0.05)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", required=True, help="a folder of pipeline outputs, one per folder")
    p.add_argument("--folders", help="comma-separated; default: every folder in --runs")
    p.add_argument("--seeds", default="72,1,2,3,4")
    a = p.parse_args()
    warnings.filterwarnings("ignore")
    seeds = a.seeds.split(",")
    folders = a.folders.split(",") if a.folders else sorted(
        d for d in os.listdir(a.runs) if os.path.isdir(os.path.join(a.runs, d)))
    exact = [0] * (1 + len(FRACTIONS))
    print("| folder | classes | proposed (silhouette) | " +
          " | ".join(f"HDBSCAN, smallest {int(f * 100)} %" for f in FRACTIONS) + " |")
    print("|---|---|---|" + "---|" * len(FRACTIONS))
    for folder in folders:
        m = re.search(r"-(\d+)c$", folder)
        classes = int(m.group(1)) if m else CLASSES.get(folder)
        proposed, found = [], {f: [] for f in FRACTIONS}
        for seed in seeds:
            run = os.path.join(a.runs, folder, f"seed-{seed}")
            with open(os.path.join(run, "kmeans-umap", "summary.json")) as f:
                proposed.append(json.load(f)["k_search"]["best_k"])
            x = load(os.path.join(run, "codes-umap", "train.safetensors"))
            for frac in FRACTIONS:
                labels = HDBSCAN(min_cluster_size=max(10, int(frac * len(x)))).fit_predict(x)
                found[frac].append(len(set(labels) - {-1}))
        columns = [proposed] + [found[f] for f in FRACTIONS]
        for i, v in enumerate(columns):
            exact[i] += sum(k == classes for k in v)
        cells = [" / ".join(map(str, v)) for v in columns]
        print(f"| `{folder}` | {classes or '?'} | " + " | ".join(cells) + " |")
    runs = len(folders) * len(seeds)
    print("| runs exact | | " + " | ".join(f"{e} of {runs}" for e in exact) + " |")


if __name__ == "__main__":
    main()
